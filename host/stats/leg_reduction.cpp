#include "stats/leg_reduction.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "stats/block_sum.hpp"
#include "stats/outcome_reduction.hpp"

namespace betahedge {

LegReduction::LegReduction(const LegReductionPlan& plan)
    : plan_(plan),
      sums_(static_cast<std::size_t>(kLegSums * plan.legs + plan.accounts)),
      shortfall_tails_(static_cast<std::size_t>(plan.accounts),
                       TailKeeper(shortfall_tail_needed(plan.paths, plan.max_call_probability))) {}

void LegReduction::add(const OutcomeBatch& whole) {
  if (whole.first_path % kReductionBlock != 0)
    throw std::logic_error("LegReduction::add: a batch must start on a reduction block");
  const int legs = plan_.legs, accounts = plan_.accounts;
  const auto column = [&](int c) { return whole.column(plan_.first_column + c); };
  const std::uint64_t blocks = (whole.count + kReductionBlock - 1) / kReductionBlock;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::uint64_t lo = b * kReductionBlock, hi = std::min(whole.count, lo + kReductionBlock);
    for (int l = 0; l < legs; ++l) {
      const double* pnl = column(LegDetailColumns::pnl(l));
      const double* costs = column(LegDetailColumns::costs(l));
      const double* funding = column(LegDetailColumns::funding(l));
      sums_[leg_sum(l, 0)].add(block_sum(lo, hi, [&](std::uint64_t i) { return pnl[i]; }));
      sums_[leg_sum(l, 1)].add(block_sum(lo, hi, [&](std::uint64_t i) { return pnl[i] * pnl[i]; }));
      sums_[leg_sum(l, 2)].add(block_sum(lo, hi, [&](std::uint64_t i) { return costs[i]; }));
      sums_[leg_sum(l, 3)].add(block_sum(lo, hi, [&](std::uint64_t i) { return funding[i]; }));
    }
    for (int a = 0; a < accounts; ++a) {
      const double* first_call = column(LegDetailColumns::first_call_step(legs, a));
      sums_[kLegSums * legs + a].add(block_sum(lo, hi, [&](std::uint64_t i) { return first_call[i] >= 0.0 ? 1.0 : 0.0; }));
    }
  }
  for (int a = 0; a < accounts; ++a)
    shortfall_tails_[a].add(column(LegDetailColumns::collateral_shortfall(legs, a)), whole.count, false);
  paths_ += whole.count;
}

void LegReduction::merge(const LegReduction& other) {
  for (std::size_t t = 0; t < sums_.size(); ++t) sums_[t].add(other.sums_[t]);
  for (std::size_t a = 0; a < shortfall_tails_.size(); ++a) shortfall_tails_[a].add(other.shortfall_tails_[a]);
  paths_ += other.paths_;
}

TailSample LegReduction::shortfalls(int account) const {
  return shortfall_tails_[account].sample(paths_, "account " + std::to_string(account) + "'s collateral shortfall");
}

std::uint64_t LegReduction::peak_tail_values() const {
  std::uint64_t total = 0;
  for (const TailKeeper& t : shortfall_tails_) total += t.peak_values();
  return total;
}

std::string LegReduction::encode() const {
  std::string bytes;
  bytes.append(reinterpret_cast<const char*>(&paths_), sizeof paths_);
  for (const ExactSum& s : sums_) s.write(bytes);
  for (const TailKeeper& t : shortfall_tails_) t.write(bytes);
  return bytes;
}

LegReduction LegReduction::decode(const LegReductionPlan& plan, const std::string& bytes) {
  LegReduction r(plan);
  if (bytes.size() < sizeof r.paths_) throw std::logic_error("LegReduction::decode: truncated");
  std::memcpy(&r.paths_, bytes.data(), sizeof r.paths_);
  std::size_t cursor = sizeof r.paths_;
  for (ExactSum& s : r.sums_) s = ExactSum::read(bytes, cursor);
  for (TailKeeper& t : r.shortfall_tails_) t = TailKeeper::read(bytes, cursor);
  if (cursor != bytes.size()) throw std::logic_error("LegReduction::decode: trailing bytes");
  return r;
}

}  // namespace betahedge
