#pragma once
/// Runs one scenario on a backend and turns the reduced per-path outcomes into the numbers of SPEC 5.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "config/book_config.hpp"
#include "stats/outcome_reduction.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {

struct MarginResult {
  double collateral = 0.0;
  double call_probability = 0.0;     ///< fraction of paths with at least one call
  double call_probability_se = 0.0;  ///< sqrt(p (1 - p) / n)
  double liquidation_probability = 0.0;
  /// Paths first called before the horizon's last step: a call at the final mark liquidates or
  /// tops up at the price the P&L is read at, changing it by the trading costs only.
  double early_call_probability = 0.0;
  std::optional<double> mean_first_call_day;  ///< over paths with a call
  /// p -> least starting collateral with call probability <= p: the (1 - p) quantile of the
  /// per-path collateral shortfall, D(n - floor(p n)) of the sorted shortfalls. For every p of
  /// collateral_probabilities(), risk.max_call_probability first.
  std::vector<std::pair<std::string, double>> collateral_for_call_probability;
};

struct BetaResult {
  double target = 0.0;
  double start = 0.0;               ///< portfolio plus hedge at t0
  double mean_abs_deviation = 0.0;  ///< mean over paths of the mean daily-check |beta - target| before trading
  double mean_rebalances = 0.0;
  double mean_costs = 0.0;          ///< fees, slippage and roll costs per path
};

struct ScenarioResult {
  std::string name;
  PnlStatistics unhedged;
  PnlStatistics hedged;
  double hedge_effectiveness = 0.0;     ///< 1 - Var(hedged) / Var(unhedged) (Ederington)
  double hedge_effectiveness_se = 0.0;  ///< delta method on the two sample variances and their covariance
  MarginResult margin;
  BetaResult beta;
  /// The most tail values the statistics held at once (their memory high-water mark, in
  /// doubles): it grows with the tails the quantiles read, never with every path.
  std::uint64_t peak_tail_values = 0;
};

struct RunMetadata {
  std::uint64_t paths = 0;
  int steps = 0;
  int horizon_days = 0;
  std::uint64_t seed = 0;
  std::string backend;
  std::string device;
  int ranks = 1;
  double elapsed_s = 0.0;
  double path_steps_per_s = 0.0;
  std::string drift;  ///< simulation.drift: martingale, zero or model
};

/// One asset of the book at t0 (summary.json portfolio.holdings).
struct HoldingSummary {
  std::string asset;
  double units = 0.0;
  double spot = 0.0;
  double value = 0.0;   ///< units x spot
  double weight = 0.0;  ///< value / the book's value
  double beta = 0.0;    ///< to the benchmark, as the hedge believes it (hedge.beta_estimate)
};

struct PortfolioSummary {
  double value = 0.0;
  double beta = 0.0;
  std::vector<std::string> assets;
  std::vector<HoldingSummary> holdings;  ///< the assets held, in the book's order
  std::string beta_estimate;             ///< hedge.beta_estimate as written (model, ols, ewma, kalman, a number)
};

/// The call probabilities whose collateral a scenario reports: risk.max_call_probability, then
/// the committee's ladder kCollateralLadder (those not equal to it), largest first.
inline constexpr double kCollateralLadder[] = {0.05, 0.01, 0.005, 0.001};
std::vector<double> collateral_probabilities(const RiskConfig& risk);

/// A call probability as summary.json keys it: "%g" ("0.01").
std::string probability_key(double p);

/// What a scenario's pass keeps for book.simulation.paths paths (every rank's): the loss tails
/// at risk.levels and the collateral shortfalls' tail for the largest collateral_probabilities().
ReductionPlan scenario_plan(const BookConfig& book);

/// Simulates book.simulation.paths paths of `tables` on `backend` (this rank's share) and
/// estimates the statistics of every rank's paths.
ScenarioResult evaluate_scenario(const std::string& name, PathBackend& backend, const SimulationTables& tables,
                                 const BookConfig& book);

/// The statistics of a scenario from its pass's reduction.
ScenarioResult scenario_result(const std::string& name, const OutcomeReduction& reduced, const SimulationTables& tables,
                               const BookConfig& book);

/// Hedge effectiveness 1 - Var(h)/Var(u) of paired samples, with its delta-method standard
/// error from the second and fourth central moments, all from the exact sums of the
/// OutcomeSum powers and cross products of u and h over n paths.
std::pair<double, double> hedge_effectiveness(const OutcomeReduction& reduced);

/// The same from paired samples in memory (tests).
std::pair<double, double> hedge_effectiveness(const std::vector<double>& unhedged, const std::vector<double>& hedged);

}  // namespace betahedge
