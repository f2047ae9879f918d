#pragma once
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "betahedge/model_types.hpp"
#include "betahedge/simulation_tables.hpp"
#include "config/book_config.hpp"

namespace betahedge {

/// Holdings aligned with the model's assets, the betas the hedge programme believes, and the
/// portfolio's value and beta at t0.
struct PortfolioSetup {
  std::vector<double> holdings;    ///< [asset] units
  double value = 0.0;              ///< V0 = sum holdings x spot
  double beta = 0.0;               ///< value-weighted asset_beta at t0
  std::vector<double> asset_beta;  ///< [asset] per hedge.beta_estimate; empty = the model's
};

/// What a stress adds on top of the model (host/scenario fills it; base = none).
struct ScenarioShocks {
  std::vector<double> initial_log_jump;  ///< [asset] log(1 + shock) at t = 0+, empty = none
  double funding_multiplier = 1.0;
};

/// The ratios of risk.hedge_ratio_grid: from, from + step, ..., up to and including to.
std::vector<double> hedge_ratio_grid(const HedgeRatioGrid& grid);

/// The book with portfolio.holdings in units, in the order the book gives its assets: as
/// written, or, for a book given by notional and weights (SPEC 4), units_i = weight_i x notional
/// / spot_i at the model's spot, today's. The units are fixed there: a stress's shock moves the
/// prices at t = 0+, not the units, so every scenario holds the same book. The weights need not
/// sum to 1 (gross and net books); the book's value at t0 is sum(weights) x notional. Any other
/// field is as written; a book that has holdings comes back as it is. Throws InputError naming
/// portfolio.weights.SYM (with its line) for an asset not in the model, and portfolio.weights
/// when the weights sum to zero (within 1e-9).
BookConfig resolve_holdings(const Model& model, const BookConfig& book);

/// The model's index of the hedge's benchmark (hedge.benchmark, or the model's own). Throws
/// InputError naming hedge.benchmark when the model lacks it.
int hedge_benchmark_index(const Model& model, const BookConfig& book);

/// The model's index of a leg's underlying (its benchmark, or the book's). Throws InputError
/// naming LEG.benchmark (hedge.legs[i].benchmark, or hedge.benchmark) when the model lacks it.
int leg_underlying_index(const Model& model, const BookConfig& book, const HedgeLegConfig& leg);

/// Matches the book's holdings (resolve_holdings) to the model's assets and resolves
/// hedge.beta_estimate into per-asset betas. Throws InputError naming the book's field.
PortfolioSetup make_portfolio(const Model& model, const BookConfig& book);

/// Covariance of one step's log returns in a regime: diag(vol) corr diag(vol).
Eigen::MatrixXd regime_covariance(const Regime& regime);

/// Per-asset betas to the benchmark under the model: Cov(R_i, R_m) / Var(R_m) with the
/// regime covariances weighted by initial_probabilities.
std::vector<double> model_asset_betas(const Model& model, int benchmark_index);

/// The flat tables of an unhedged simulation.
SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio,
                                         const SimulationConfig& simulation);

/// The flat tables the path code reads: drifts and Cholesky shock factors per regime (scaled
/// to steps of 1/steps_per_day days), cumulative transition rows, spot, holdings, betas, the
/// hedge's legs, their programme and margin accounts. Throws InputError naming the book's field.
///
/// The legs (LegView): each leg's underlying (an unknown symbol: hedge.legs[i].benchmark), its
/// beta to the reference benchmark (exactly 1 for the reference itself, else the portfolio's
/// asset beta of it), its per-regime funding (x the scenario's funding_multiplier), basis and
/// implied vol (its own underlying's regime vol x its premium), its costs and terms, and its
/// share of a dynamic trade (hedge.allocation: the weights as given; min_variance: the split of
/// the t0 trade that leaves the book's one-day P&L the least variance under the model's
/// covariance mixed by today's regime probabilities; two legs on one underlying: InputError
/// naming hedge.allocation). The accounts: one under cross margin, one per leg under isolated;
/// each posts margin.collateral (isolated: its entry), or, unset (auto), what opening its legs
/// takes (opening_margin's rule, per account).
///
/// The log drift per step dt = 1/steps_per_day of asset i in regime k, by simulation.drift:
///   model:      mean_k,i dt (the calibrated means);
///   zero:       0;
///   martingale: -vol_k,i^2 dt / 2, from the model's vols as given, so a stressed model's
///               (vol_multiplier) vols. For Gaussian steps E[exp(drift + shock)] = 1 in every
///               regime, so S_t is a martingale whatever the regime path: E[S_T] = S_0, or the
///               shocked price when the scenario shocks it at t = 0+. A Student-t step (unit
///               variance, path_simulation.hpp) has no finite E[exp(shock)]: the same drift is
///               the variance-matching convention (mean log return -vol^2 T / 2, as for a
///               Gaussian of that variance), and simulated means of S_T / S_0 are 1 within the
///               Monte Carlo error (for dof > 4 the difference is of order
///               (kurtosis - 3) vol^4 dt^2 / 24 per step).
SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book,
                                         const ScenarioShocks& shocks = {});

/// Portfolio-plus-hedge beta at t0 (the portfolio's and every leg's), in the most likely
/// initial regime.
double start_beta(const SimulationTables& tables);

/// What opening the book's hedge at t0 takes, summed over its accounts: per leg, the initial
/// margin of a linear leg or a written option (initial_rate x notional), or the cash that buys a
/// bought option (premium plus costs); per account the largest over the regimes a path may
/// start in. 0 without a hedge instrument. An exchange opens no position on less, so collateral:
/// auto posts at least this.
double opening_margin(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book);

/// The collateral of every account together.
double total_collateral(const HedgeView& hedge);

/// Each leg's signed notional at t0, in the regime start_beta opens it in: units x
/// notional_per_unit (a short linear leg is negative; options, units x S); empty without a hedge.
std::vector<double> start_leg_notionals(const SimulationTables& tables);

/// The legs' notionals at t0 together (start_leg_notionals); 0 without a hedge.
double start_hedge_notional(const SimulationTables& tables);

}  // namespace betahedge
