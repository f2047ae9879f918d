#include "engine/simulation_setup.hpp"

#include <cmath>

#include <Eigen/Cholesky>

#include "betahedge/error.hpp"

namespace betahedge {

PortfolioSetup make_portfolio(const Model& model, const BookConfig& book) {
  PortfolioSetup p;
  p.holdings.assign(model.num_assets(), 0.0);
  for (const auto& [symbol, units] : book.holdings) {
    const int i = model.asset_index(symbol);
    if (i < 0)
      throw InputError(book.source.string() + ": portfolio.holdings." + symbol + ": asset is not in the model (" +
                       book.model_path.string() + ")");
    p.holdings[i] += units;
  }
  for (int i = 0; i < model.num_assets(); ++i) p.value += p.holdings[i] * model.spot[i];
  if (!(std::abs(p.value) > 0.0))
    throw InputError(book.source.string() + ": portfolio.holdings: the portfolio's value at t0 is zero");
  const std::string& benchmark = book.hedge.benchmark.empty() ? model.benchmark : book.hedge.benchmark;
  const int m = model.asset_index(benchmark);
  if (m < 0) throw InputError(book.source.string() + ": hedge.benchmark: '" + benchmark + "' is not in the model");
  p.beta = portfolio_beta(model, p.holdings, m);
  return p;
}

Eigen::MatrixXd regime_covariance(const Regime& r) {
  const int n = static_cast<int>(r.vol.size());
  Eigen::MatrixXd cov(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) cov(i, j) = r.vol[i] * r.corr[i * n + j] * r.vol[j];
  return cov;
}

double portfolio_beta(const Model& model, const std::vector<double>& holdings, int benchmark_index) {
  const int n = model.num_assets();
  Eigen::VectorXd w(n);
  double value = 0.0;
  for (int i = 0; i < n; ++i) value += holdings[i] * model.spot[i];
  for (int i = 0; i < n; ++i) w(i) = holdings[i] * model.spot[i] / value;
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(n, n);
  for (int k = 0; k < model.num_regimes(); ++k)
    cov += model.initial_probabilities[k] * regime_covariance(model.regimes[k]);
  return (cov * w)(benchmark_index) / cov(benchmark_index, benchmark_index);
}

SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio,
                                         const SimulationConfig& simulation) {
  const int n = model.num_assets();
  const int k_count = model.num_regimes();
  const double dt = 1.0 / simulation.steps_per_day;
  SimulationTables t;
  auto append = [&t](std::size_t& offset, std::size_t count) {
    offset = t.data.size();
    t.data.resize(t.data.size() + count, 0.0);
    return t.data.data() + offset;
  };
  double* drift = append(t.offsets.drift, static_cast<std::size_t>(k_count) * n);
  for (int k = 0; k < k_count; ++k)
    for (int i = 0; i < n; ++i) drift[k * n + i] = model.regimes[k].mean[i] * dt;

  double* factor = append(t.offsets.shock_factor, static_cast<std::size_t>(k_count) * n * n);
  for (int k = 0; k < k_count; ++k) {
    const Regime& r = model.regimes[k];
    Eigen::MatrixXd corr(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) corr(i, j) = r.corr[i * n + j];
    Eigen::LLT<Eigen::MatrixXd> llt(corr);
    if (llt.info() != Eigen::Success)
      throw InputError("regime '" + r.name + "': correlation matrix is not positive definite");
    const Eigen::MatrixXd lower = llt.matrixL();
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j) factor[(k * n + i) * n + j] = std::sqrt(dt) * r.vol[i] * lower(i, j);
  }

  double* dof = append(t.offsets.dof, k_count);
  for (int k = 0; k < k_count; ++k) dof[k] = model.regimes[k].dof.value_or(0.0);

  double* transition_cdf = append(t.offsets.transition_cdf, static_cast<std::size_t>(k_count) * k_count);
  for (int i = 0; i < k_count; ++i) {
    double c = 0.0;
    for (int j = 0; j < k_count; ++j) transition_cdf[i * k_count + j] = (c += model.transition[i][j]);
    transition_cdf[i * k_count + k_count - 1] = 1.0;
  }
  double* initial_cdf = append(t.offsets.initial_cdf, k_count);
  double c = 0.0;
  for (int k = 0; k < k_count; ++k) initial_cdf[k] = (c += model.initial_probabilities[k]);
  initial_cdf[k_count - 1] = 1.0;

  double* spot = append(t.offsets.spot, n);
  double* holdings = append(t.offsets.holdings, n);
  for (int i = 0; i < n; ++i) {
    spot[i] = model.spot[i];
    holdings[i] = portfolio.holdings[i];
  }

  MarketView& m = t.scalars.market;
  m.num_assets = n;
  m.num_regimes = k_count;
  m.num_days = simulation.horizon_days;
  m.steps_per_day = simulation.steps_per_day;
  m.student_t = model.distribution == Distribution::student_t;
  t.scalars.portfolio.initial_value = portfolio.value;
  t.scalars.seed = simulation.seed;
  return t;
}

}  // namespace betahedge
