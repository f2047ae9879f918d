#include "stats/outcome_reduction.hpp"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "stats/block_sum.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {
namespace {

int sum_count(const ReductionPlan& plan) {
  return static_cast<int>(OutcomeSum::count) + (plan.grid_count > 0 ? 3 * (plan.grid_count + 1) : 0);
}

}  // namespace

std::uint64_t allowed_calls(std::uint64_t n, double p) {
  return static_cast<std::uint64_t>(std::floor(p * static_cast<double>(n) + 1e-9));
}

std::uint64_t shortfall_tail_needed(std::uint64_t n, double p) { return std::min(n, allowed_calls(n, p) + 1); }

double collateral_for_call_probability(const TailSample& shortfalls, double p) {
  const std::uint64_t n = shortfalls.size();
  const std::uint64_t allowed = allowed_calls(n, p);
  return n > allowed ? shortfalls.at(n - allowed - 1) : 0.0;
}

OutcomeReduction::OutcomeReduction(const ReductionPlan& plan) : plan_(plan), sums_(sum_count(plan)) {
  const std::uint64_t losses = loss_tail_needed(plan.paths, plan.levels);
  const std::uint64_t shortfalls = shortfall_tail_needed(plan.paths, plan.max_call_probability);
  tails_ = {TailKeeper(losses), TailKeeper(losses), TailKeeper(plan.collateral_shortfalls ? shortfalls : 0)};
  if (plan.grid_count > 0) {
    for (int r = 0; r < plan.grid_count; ++r) tails_.emplace_back(losses);
    tails_.emplace_back(shortfalls);
  }
  if (plan.histogram) {
    unhedged_counts_.assign(plan.histogram->count, 0);
    hedged_counts_.assign(plan.histogram->count, 0);
  }
  if (plan.contribution_level) {
    const std::uint64_t rows = loss_tail_needed(plan.paths, {*plan.contribution_level});
    const int components = plan.assets + plan.hedge_components();
    component_rows_ = TailRowKeeper(rows, components);
    component_tails_.assign(components, TailKeeper(rows));
  }
}

void OutcomeReduction::add_block_sums(const OutcomeBatch& batch) {
  const double* u = batch.column(static_cast<int>(OutcomeField::pnl_unhedged));
  const double* h = batch.column(static_cast<int>(OutcomeField::pnl_hedged));
  const double* first_call = batch.column(static_cast<int>(OutcomeField::first_call_step));
  const double* liquidated = batch.column(static_cast<int>(OutcomeField::liquidated));
  const double* costs = batch.column(static_cast<int>(OutcomeField::costs));
  const double* rebalances = batch.column(static_cast<int>(OutcomeField::rebalances));
  const double* beta_deviation = batch.column(static_cast<int>(OutcomeField::beta_deviation));
  const int grid = plan_.grid_count;
  const double last_step = static_cast<double>(plan_.steps);  // first_call_step is 1-based
  const std::int64_t blocks = static_cast<std::int64_t>((batch.count + kReductionBlock - 1) / kReductionBlock);
  const int terms = static_cast<int>(sums_.size());

#pragma omp parallel
  {
    std::vector<ExactSum> mine(terms);
    std::vector<double> block(terms);
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::uint64_t lo = b * kReductionBlock, hi = std::min(batch.count, lo + kReductionBlock);
      const auto put = [&](OutcomeSum s, auto term) { block[static_cast<int>(s)] = block_sum(lo, hi, term); };
      put(OutcomeSum::u, [&](std::uint64_t i) { return u[i]; });
      put(OutcomeSum::uu, [&](std::uint64_t i) { return u[i] * u[i]; });
      put(OutcomeSum::h, [&](std::uint64_t i) { return h[i]; });
      put(OutcomeSum::hh, [&](std::uint64_t i) { return h[i] * h[i]; });
      put(OutcomeSum::uh, [&](std::uint64_t i) { return u[i] * h[i]; });
      put(OutcomeSum::uuh, [&](std::uint64_t i) { return u[i] * u[i] * h[i]; });
      put(OutcomeSum::uhh, [&](std::uint64_t i) { return u[i] * h[i] * h[i]; });
      put(OutcomeSum::uuhh, [&](std::uint64_t i) { return (u[i] * u[i]) * (h[i] * h[i]); });
      put(OutcomeSum::uuu, [&](std::uint64_t i) { return u[i] * u[i] * u[i]; });
      put(OutcomeSum::uuuu, [&](std::uint64_t i) { return (u[i] * u[i]) * (u[i] * u[i]); });
      put(OutcomeSum::hhh, [&](std::uint64_t i) { return h[i] * h[i] * h[i]; });
      put(OutcomeSum::hhhh, [&](std::uint64_t i) { return (h[i] * h[i]) * (h[i] * h[i]); });
      put(OutcomeSum::paths_called, [&](std::uint64_t i) { return first_call[i] >= 0.0 ? 1.0 : 0.0; });
      put(OutcomeSum::first_call_steps, [&](std::uint64_t i) { return first_call[i] >= 0.0 ? first_call[i] : 0.0; });
      put(OutcomeSum::paths_called_early,
          [&](std::uint64_t i) { return first_call[i] >= 0.0 && (last_step <= 0.0 || first_call[i] < last_step) ? 1.0 : 0.0; });
      put(OutcomeSum::liquidated, [&](std::uint64_t i) { return liquidated[i]; });
      put(OutcomeSum::costs, [&](std::uint64_t i) { return costs[i]; });
      put(OutcomeSum::rebalances, [&](std::uint64_t i) { return rebalances[i]; });
      put(OutcomeSum::beta_deviation, [&](std::uint64_t i) { return beta_deviation[i]; });
      if (grid > 0) {
        for (int r = 0; r < grid; ++r) {
          const double* pnl = batch.column(kNumOutcomeFields + RatioGridColumns::pnl(r));
          const double* called = batch.column(kNumOutcomeFields + RatioGridColumns::called(r));
          block[grid_sum_index(r, 0)] = block_sum(lo, hi, [&](std::uint64_t i) { return pnl[i]; });
          block[grid_sum_index(r, 1)] = block_sum(lo, hi, [&](std::uint64_t i) { return pnl[i] * pnl[i]; });
          block[grid_sum_index(r, 2)] = block_sum(lo, hi, [&](std::uint64_t i) { return called[i]; });
        }
        const double* g = batch.column(kNumOutcomeFields + RatioGridColumns::unit_hedge_pnl(grid));
        block[grid_sum_index(grid, 0)] = block_sum(lo, hi, [&](std::uint64_t i) { return g[i]; });
        block[grid_sum_index(grid, 1)] = block_sum(lo, hi, [&](std::uint64_t i) { return g[i] * g[i]; });
        block[grid_sum_index(grid, 2)] = block_sum(lo, hi, [&](std::uint64_t i) { return u[i] * g[i]; });
      }
      for (int t = 0; t < terms; ++t) mine[t].add(block[t]);
    }
#pragma omp critical(betahedge_outcome_sums)
    for (int t = 0; t < terms; ++t) sums_[t].add(mine[t]);  // exact: the order threads arrive in does not matter
  }
}

void OutcomeReduction::add(const OutcomeBatch& whole) {
  // This plan's outcome set: its columns from plan_.first_column on.
  OutcomeBatch batch = whole;
  batch.base = whole.column(plan_.first_column);
  batch.columns = whole.columns - plan_.first_column;
  if (batch.first_path % kReductionBlock != 0)
    throw std::logic_error("OutcomeReduction::add: a batch must start on a reduction block");
  add_block_sums(batch);

  // The tails: one column each, independent, so one thread per column.
  const int grid = plan_.grid_count;
  const auto tail_column = [&](int i, bool& negate) -> const double* {
    negate = true;
    if (i == 0) return batch.column(static_cast<int>(OutcomeField::pnl_unhedged));
    if (i == 1) return batch.column(static_cast<int>(OutcomeField::pnl_hedged));
    negate = false;
    if (i == 2) return batch.column(static_cast<int>(OutcomeField::collateral_shortfall));
    if (i < 3 + grid) {
      negate = true;
      return batch.column(kNumOutcomeFields + RatioGridColumns::pnl(i - 3));
    }
    return batch.column(kNumOutcomeFields + RatioGridColumns::unit_shortfall(grid));
  };
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < static_cast<int>(tails_.size()); ++i) {
    bool negate = false;
    const double* values = tail_column(i, negate);
    tails_[i].add(values, batch.count, negate);
  }

  if (plan_.histogram) {
    const HistogramBins& bins = *plan_.histogram;
    const auto count_into = [&](std::vector<std::uint64_t>& counts, const double* x) {
      for (std::uint64_t i = 0; i < batch.count; ++i) {
        const double b = std::floor((x[i] - bins.lo) / bins.width);
        if (b >= 0.0 && b < bins.count) ++counts[static_cast<int>(b)];
      }
    };
    count_into(unhedged_counts_, batch.column(static_cast<int>(OutcomeField::pnl_unhedged)));
    count_into(hedged_counts_, batch.column(static_cast<int>(OutcomeField::pnl_hedged)));
  }
  if (plan_.contribution_level) add_components(whole, batch);
  paths_ += batch.count;
}

void OutcomeReduction::add_components(const OutcomeBatch& whole, const OutcomeBatch& batch) {
  const double* u = batch.column(static_cast<int>(OutcomeField::pnl_unhedged));
  const double* h = batch.column(static_cast<int>(OutcomeField::pnl_hedged));
  std::vector<const double*> components;
  for (int j = 0; j < plan_.assets; ++j) components.push_back(whole.column(plan_.asset_pnl_column + j));
  // The hedge's components: its legs' P&L but the last, then the rest of pnl_hedged -
  // pnl_unhedged, so that they sum to it exactly.
  const int legs = plan_.hedge_legs < 2 ? 0 : plan_.hedge_legs;
  const int columns = plan_.hedge_components() - 1;
  std::vector<const double*> leg_pnl;
  for (int l = 0; l < legs; ++l) leg_pnl.push_back(whole.column(plan_.leg_detail_column + LegDetailColumns::pnl(l)));
  for (int l = 0; l < columns; ++l) components.push_back(leg_pnl[l]);
  hedge_rest_.resize(batch.count);
  for (std::uint64_t i = 0; i < batch.count; ++i) {
    double rest = h[i] - u[i];
    for (int l = 0; l < columns; ++l) rest -= leg_pnl[l][i];
    hedge_rest_[i] = rest;
  }
  components.push_back(hedge_rest_.data());
  // The rows and each component's tail are independent: one thread each.
  const int tasks = 1 + static_cast<int>(components.size());
#pragma omp parallel for schedule(dynamic)
  for (int t = 0; t < tasks; ++t) {
    if (t == 0)
      component_rows_.add(h, components, batch.first_path, batch.count);
    else
      component_tails_[t - 1].add(components[t - 1], batch.count, true);
  }
}

void OutcomeReduction::merge(const OutcomeReduction& other) {
  for (std::size_t t = 0; t < sums_.size(); ++t) sums_[t].add(other.sums_[t]);
  for (std::size_t i = 0; i < tails_.size(); ++i) tails_[i].add(other.tails_[i]);
  for (std::size_t b = 0; b < unhedged_counts_.size(); ++b) {
    unhedged_counts_[b] += other.unhedged_counts_[b];
    hedged_counts_[b] += other.hedged_counts_[b];
  }
  component_rows_.add(other.component_rows_);
  for (std::size_t j = 0; j < component_tails_.size(); ++j) component_tails_[j].add(other.component_tails_[j]);
  paths_ += other.paths_;
}

std::uint64_t OutcomeReduction::peak_tail_values() const {
  std::uint64_t total = 0;
  for (const TailKeeper& t : tails_) total += t.peak_values();
  for (const TailKeeper& t : component_tails_) total += t.peak_values();
  return total + component_rows_.peak_rows() * (component_rows_.width() + 2);
}

std::string OutcomeReduction::encode() const {
  std::string bytes;
  bytes.append(reinterpret_cast<const char*>(&paths_), sizeof paths_);
  for (const ExactSum& s : sums_) s.write(bytes);
  for (const TailKeeper& t : tails_) t.write(bytes);
  for (const auto* counts : {&unhedged_counts_, &hedged_counts_})
    bytes.append(reinterpret_cast<const char*>(counts->data()), counts->size() * sizeof(std::uint64_t));
  component_rows_.write(bytes);
  for (const TailKeeper& t : component_tails_) t.write(bytes);
  return bytes;
}

OutcomeReduction OutcomeReduction::decode(const ReductionPlan& plan, const std::string& bytes) {
  OutcomeReduction r(plan);
  std::size_t cursor = 0;
  const auto take = [&](void* to, std::size_t size) {
    if (cursor + size > bytes.size()) throw std::logic_error("OutcomeReduction::decode: truncated");
    std::memcpy(to, bytes.data() + cursor, size);
    cursor += size;
  };
  take(&r.paths_, sizeof r.paths_);
  for (ExactSum& s : r.sums_) s = ExactSum::read(bytes, cursor);
  for (TailKeeper& t : r.tails_) t = TailKeeper::read(bytes, cursor);
  for (auto* counts : {&r.unhedged_counts_, &r.hedged_counts_}) take(counts->data(), counts->size() * sizeof(std::uint64_t));
  r.component_rows_ = TailRowKeeper::read(bytes, cursor);
  for (TailKeeper& t : r.component_tails_) t = TailKeeper::read(bytes, cursor);
  if (cursor != bytes.size()) throw std::logic_error("OutcomeReduction::decode: trailing bytes");
  return r;
}

TailSample OutcomeReduction::tail(int i) const {
  const int ratio = i - 3;
  const std::string what = i == 0   ? "the unhedged P&L"
                           : i == 1 ? "the hedged P&L"
                           : i == 2 ? "the collateral shortfall"
                           : ratio < plan_.grid_count ? "the hedged P&L at grid ratio " + std::to_string(ratio)
                                                      : std::string("the unit hedge's collateral shortfall");
  return tails_[i].sample(paths_, what);
}

}  // namespace betahedge
