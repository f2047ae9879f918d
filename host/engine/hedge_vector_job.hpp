#pragma once
/// The optimiser of a hedge of several legs (issue 13): the optimal ratio VECTOR, one ratio per
/// leg, of the static hedge with the book's legs, on the scenario's own paths (common random
/// numbers). The scenario's pass runs PathProgram::outcomes_with_unit_legs, whose columns give,
/// per path, the unhedged P&L u and each leg alone at ratio +1 without margin action (marks and
/// funding M_l, costs K_l): the static hedge at ratio vector r without calls has hedged P&L
///     p(r) = u + sum_l (r_l M_l - |r_l| K_l).
/// HedgeMoments and HedgeRows (host/stats/hedge_vector.hpp) reduce them; this file turns them into
/// the vectors, and sizes the margin-constrained one with a second pass.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "config/book_config.hpp"
#include "engine/path_pass.hpp"
#include "stats/hedge_vector.hpp"

namespace betahedge {

/// SPEC 6 `optimal_hedge_vector` and the report's ES surface.
///  - min_variance: r* = -Sigma_xx^-1 Sigma_xu from every path's moments (x_l = M_l - K_l, costs
///    counted at ratio +1), with heteroskedasticity-robust standard errors;
///  - min_es[a]: the vector minimising ES at level a of p(r) over each leg's range (Rockafellar-
///    Uryasev, convex for a static hedge without calls), on the first min(paths, 2^20) paths;
///  - margin_constrained: the min-variance vector scaled back along its ray, t r* with the largest
///    t <= 1 at which at most floor(max_call_probability x paths) paths meet a call on any
///    account (the variance falls along the ray up to t = 1): from a second pass that records
///    each account's shortfall at r*. None when the variance has no one minimiser.
struct HedgeVectorOptimization {
  std::vector<std::string> legs;
  HedgeSystem system = HedgeSystem::regular;
  double condition_number = 0.0;
  std::vector<double> min_variance, min_variance_se;
  double stdev_at_min_variance = 0.0;  ///< of p(r*), every path
  std::vector<std::pair<std::string, std::vector<double>>> min_es;  ///< per level key
  std::vector<std::pair<std::string, double>> es_at_min_es;
  /// Per level key whose vector has legs at their range's edge: "BTC-call at its lower bound -1".
  std::vector<std::pair<std::string, std::vector<std::string>>> min_es_on_edge;
  std::vector<std::string> min_es_unconverged;  ///< level keys whose certificate did not close
  std::optional<std::vector<double>> margin_constrained;
  double margin_constrained_scale = 1.0;  ///< t: the share of r* the call limit allows (1: r* itself)
  /// The share of paths on which the static hedge at r* itself meets a call with the book's
  /// collateral (the min-variance and min-ES figures leave calls out).
  std::optional<double> call_probability_at_min_variance;
  std::vector<double> lower, upper;       ///< each leg's range searched
  std::uint64_t es_paths = 0;             ///< the paths the ES figures are of (the first ones)
  /// ES over the first two legs' ratios (the others at the min-ES vector of the highest level),
  /// per level key: surface[level] holds es[i x ratios_b.size() + j].
  std::vector<double> surface_ratios_a, surface_ratios_b;
  std::vector<std::pair<std::string, std::vector<double>>> surface;
};

/// The reducers a scenario's pass of outcomes_with_unit_legs carries for the optimiser.
class HedgeVectorReducers {
 public:
  HedgeVectorReducers(const SimulationTables& tables);
  std::vector<BatchReducer*> reducers() { return {&moments_, &rows_}; }
  const HedgeMoments& moments() const { return moments_.value(); }
  const HedgeRows& rows() const { return rows_.value(); }

 private:
  ReducerOf<HedgeMoments> moments_;
  ReducerOf<HedgeRows> rows_;
};

/// The range each leg's ratio is searched over: risk.hedge_ratio_grid's [from, to], widened to
/// hold the book's own ratio (a collar's written call, -1, with the default grid 0 to 1.5).
std::pair<std::vector<double>, std::vector<double>> hedge_vector_ranges(const BookConfig& book);

/// The optimiser's vectors from a scenario's pass (`tables` as it ran, `reduced` its reducers);
/// runs the second pass for the margin-constrained vector on `backend`.
HedgeVectorOptimization optimize_hedge_vector(PathBackend& backend, const SimulationTables& tables,
                                              const HedgeVectorReducers& reduced, const BookConfig& book,
                                              const std::vector<std::string>& leg_names);

}  // namespace betahedge
