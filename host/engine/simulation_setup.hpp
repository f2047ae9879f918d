#pragma once
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "betahedge/model_types.hpp"
#include "betahedge/simulation_tables.hpp"
#include "config/book_config.hpp"

namespace betahedge {

/// Holdings aligned with the model's assets, and the portfolio's value and beta at t0.
struct PortfolioSetup {
  std::vector<double> holdings;  ///< [asset] units
  double value = 0.0;            ///< V0 = sum holdings x spot
  double beta = 0.0;             ///< beta of the portfolio's return to the benchmark
};

/// Matches the book's holdings to the model's assets. Throws InputError naming the book's field.
PortfolioSetup make_portfolio(const Model& model, const BookConfig& book);

/// Covariance of one step's log returns in a regime: diag(vol) corr diag(vol).
Eigen::MatrixXd regime_covariance(const Regime& regime);

/// Portfolio beta to the benchmark under the model: Cov(R_p, R_m) / Var(R_m) with the
/// regime covariances weighted by initial_probabilities, R_p = sum_i w_i R_i, w_i = h_i S_i / V.
double portfolio_beta(const Model& model, const std::vector<double>& holdings, int benchmark_index);

/// The flat tables the path code reads: drifts and Cholesky shock factors per regime (scaled
/// to steps of 1/steps_per_day days), cumulative transition rows, spot and holdings.
SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio,
                                         const SimulationConfig& simulation);

}  // namespace betahedge
