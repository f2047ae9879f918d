#include "engine/hedge_vector_job.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "engine/risk_engine.hpp"
#include "engine/risk_job.hpp"
#include "engine/simulation_setup.hpp"
#include "stats/outcome_reduction.hpp"
#include "stats/tail_sample.hpp"

namespace betahedge {
namespace {

/// Feeds a batch's unit-legs columns to a HedgeMoments or HedgeRows.
template <class R>
typename ReducerOf<R>::Feed unit_legs_feed(const SimulationTables& tables) {
  const int legs = tables.scalars.hedge.num_legs;
  const int first = unit_legs_first_column(tables);
  return [legs, first](R& r, const OutcomeBatch& b) {
    std::vector<const double*> marks(legs), costs(legs);
    for (int l = 0; l < legs; ++l) {
      marks[l] = b.column(first + UnitLegColumns::marks(l));
      costs[l] = b.column(first + UnitLegColumns::costs(l));
    }
    r.add(b.first_path, b.count, b.column(static_cast<int>(OutcomeField::pnl_unhedged)), marks.data(), costs.data());
  };
}

/// The smallest critical scales of the paths: t_c = min over accounts of C_a / shortfall_a, the
/// largest multiple of the direction vector whose static hedge meets no call on the path (a
/// multiple t > t_c is called). Kept as the largest -t_c (TailKeeper keeps the largest).
class CriticalScales {
 public:
  CriticalScales(std::uint64_t keep, const SimulationTables& tables)
      : keeper_(keep),
        accounts_(tables.scalars.hedge.num_accounts),
        legs_(tables.scalars.hedge.num_legs),
        first_(unit_legs_first_column(tables)) {
    for (int a = 0; a < accounts_; ++a) collateral_.push_back(tables.scalars.hedge.collateral[a]);
  }
  void add(const OutcomeBatch& b) {
    scratch_.resize(b.count);
    for (std::uint64_t i = 0; i < b.count; ++i) {
      double scale = std::numeric_limits<double>::infinity();
      for (int a = 0; a < accounts_; ++a) {
        const double shortfall = b.column(first_ + UnitLegColumns::shortfall(legs_, a))[i];
        if (shortfall > 0.0) scale = std::min(scale, collateral_[a] / shortfall);
      }
      scratch_[i] = -scale;
      called_at_one_ += scale < 1.0 ? 1 : 0;
    }
    keeper_.add(scratch_.data(), b.count, false);
    paths_ += b.count;
  }
  void merge(const CriticalScales& other) {
    keeper_.add(other.keeper_);
    paths_ += other.paths_;
    called_at_one_ += other.called_at_one_;
  }
  std::string encode() const {
    std::string bytes(reinterpret_cast<const char*>(&paths_), sizeof paths_);
    bytes.append(reinterpret_cast<const char*>(&called_at_one_), sizeof called_at_one_);
    keeper_.write(bytes);
    return bytes;
  }
  CriticalScales decoded(const std::string& bytes) const {
    CriticalScales r = *this;
    if (bytes.size() < sizeof paths_ + sizeof called_at_one_) throw std::logic_error("CriticalScales: truncated");
    std::memcpy(&r.paths_, bytes.data(), sizeof paths_);
    std::memcpy(&r.called_at_one_, bytes.data() + sizeof paths_, sizeof called_at_one_);
    std::size_t cursor = sizeof paths_ + sizeof called_at_one_;
    r.keeper_ = TailKeeper::read(bytes, cursor);
    return r;
  }
  /// The share of paths on which the direction vector itself (t = 1) meets a call.
  double call_probability_at_one() const {
    return paths_ > 0 ? static_cast<double>(called_at_one_) / static_cast<double>(paths_) : 0.0;
  }
  /// The (k+1)-th smallest critical scale (infinity when fewer paths).
  double smallest(std::uint64_t k) const {
    if (k >= paths_) return std::numeric_limits<double>::infinity();
    const TailSample sample(paths_, keeper_.sorted_values());
    return -sample.at(paths_ - k - 1);
  }

 private:
  TailKeeper keeper_;
  int accounts_, legs_, first_;
  std::vector<double> collateral_;
  std::vector<double> scratch_;
  std::uint64_t paths_ = 0;
  std::uint64_t called_at_one_ = 0;
};

/// n points from lo to hi, both included (one point when lo == hi).
std::vector<double> evenly(double lo, double hi, int n) {
  if (!(hi > lo) || n < 2) return {lo};
  std::vector<double> x(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) x[i] = i + 1 == n ? hi : lo + (hi - lo) * i / (n - 1);
  return x;
}

/// The surface's points per leg: the grid's point count, at most this many (n^2 ES evaluations
/// per level on the kept rows).
constexpr int kMaxSurfacePoints = 31;

}  // namespace

HedgeVectorReducers::HedgeVectorReducers(const SimulationTables& tables)
    : moments_(HedgeMoments(tables.scalars.hedge.num_legs), unit_legs_feed<HedgeMoments>(tables),
               [](const std::string& bytes) { return HedgeMoments::decode(bytes); }),
      rows_(HedgeRows(tables.scalars.hedge.num_legs), unit_legs_feed<HedgeRows>(tables),
            [](const std::string& bytes) { return HedgeRows::decode(bytes); }) {}

std::pair<std::vector<double>, std::vector<double>> hedge_vector_ranges(const BookConfig& book) {
  std::vector<double> lower, upper;
  for (const HedgeLegConfig& leg : book.hedge.legs) {
    lower.push_back(std::min(book.risk.hedge_ratio_grid.from, leg.ratio));
    upper.push_back(std::max(book.risk.hedge_ratio_grid.to, leg.ratio));
  }
  return {lower, upper};
}

HedgeVectorOptimization optimize_hedge_vector(PathBackend& backend, const SimulationTables& tables,
                                              const HedgeVectorReducers& reduced, const BookConfig& book,
                                              const std::vector<std::string>& leg_names) {
  HedgeVectorOptimization out;
  out.legs = leg_names;
  const int legs = static_cast<int>(leg_names.size());

  const MinVarianceHedge mv = min_variance_vector(reduced.moments());
  out.system = mv.system;
  out.condition_number = mv.condition_number;
  out.min_variance = mv.ratios;
  out.min_variance_se = mv.standard_errors;
  out.stdev_at_min_variance = std::sqrt(std::max(mv.hedged_variance, 0.0));

  std::tie(out.lower, out.upper) = hedge_vector_ranges(book);
  const HedgeRows& rows = reduced.rows();
  out.es_paths = rows.paths();
  std::vector<double> at_highest;
  double highest = -1.0;
  for (const RiskLevel& level : book.risk.levels) {
    const MinEsHedge es = min_es_vector(rows, level.value, out.lower, out.upper);
    out.min_es.emplace_back(level.key, es.ratios);
    out.es_at_min_es.emplace_back(level.key, es.es);
    if (es.on_edge) {
      std::vector<std::string> at_edge;
      for (int l = 0; l < legs; ++l) {
        if (es.side[l] == BoxSide::interior) continue;
        const bool lower = es.side[l] == BoxSide::lower;
        char bound[64];
        std::snprintf(bound, sizeof bound, "%g", lower ? out.lower[l] : out.upper[l]);
        at_edge.push_back(leg_names[l] + " at its " + (lower ? "lower" : "upper") + " bound " + bound);
      }
      out.min_es_on_edge.emplace_back(level.key, at_edge);
    }
    if (!es.converged) out.min_es_unconverged.push_back(level.key);
    if (level.value > highest) {
      highest = level.value;
      at_highest = es.ratios;
    }
  }

  // The surface over the first two legs, the others at the highest level's min-ES vector.
  const HedgeRatioGrid& grid = book.risk.hedge_ratio_grid;
  const int points = std::min<int>(static_cast<int>(hedge_ratio_grid(grid).size()), kMaxSurfacePoints);
  out.surface_ratios_a = evenly(out.lower[0], out.upper[0], points);
  out.surface_ratios_b = evenly(out.lower[1], out.upper[1], points);
  for (const RiskLevel& level : book.risk.levels)
    out.surface.emplace_back(
        level.key, es_surface(rows, out.surface_ratios_a, out.surface_ratios_b, level.value, at_highest, 0, 1).es);

  // The margin-constrained vector: a second pass with r* as the direction, its shortfalls per account.
  if (mv.system != HedgeSystem::singular) {
    SimulationTables along = tables;
    along.scalars.asset_pnl.record = false;
    along.scalars.leg_detail.record = false;
    along.scalars.horizons.count = 0;
    std::copy(mv.ratios.begin(), mv.ratios.end(), along.data.begin() + static_cast<std::ptrdiff_t>(along.offsets.direction));
    const std::uint64_t paths = book.simulation.paths;
    const std::uint64_t allowed = allowed_calls(paths, book.risk.max_call_probability);
    const CriticalScales empty(std::min(paths, allowed + 1), along);
    ReducerOf<CriticalScales> scales(
        empty, [](CriticalScales& r, const OutcomeBatch& b) { r.add(b); },
        [empty](const std::string& bytes) { return empty.decoded(bytes); });
    ReductionPlan plan = scenario_plan(book);
    plan.collateral_shortfalls = false;
    run_path_pass(backend, along, PathProgram::outcomes_with_unit_legs, {plan}, book.simulation.batch_size, {&scales});
    const double largest = scales.value().smallest(allowed);
    out.call_probability_at_min_variance = scales.value().call_probability_at_one();
    out.margin_constrained_scale = std::min(1.0, largest);
    std::vector<double> constrained(static_cast<std::size_t>(legs));
    for (int l = 0; l < legs; ++l) constrained[l] = out.margin_constrained_scale * mv.ratios[l];
    out.margin_constrained = constrained;
  }
  return out;
}

}  // namespace betahedge
