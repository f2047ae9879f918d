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

/// Matches the book's holdings to the model's assets and resolves hedge.beta_estimate into
/// per-asset betas. Throws InputError naming the book's field.
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
/// hedge programme and its margin account. Throws InputError naming the book's field.
SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book,
                                         const ScenarioShocks& shocks = {});

}  // namespace betahedge
