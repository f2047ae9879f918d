#include "engine/simulation_setup.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Cholesky>

#include "betahedge/error.hpp"
#include "betahedge/hedging.hpp"

namespace betahedge {
namespace {

/// Weights whose sum is this close to zero give a book of no value (the error of resolve_holdings).
constexpr double kWeightSumTolerance = 1e-9;

std::string book_field(const BookConfig& book, const std::string& field) { return book_location(book, field); }

/// What to say of a held asset the model lacks: the model's assets, and where they come from
/// (the book's model file, or under `run` the calibration's assets).
std::string not_in_model(const Model& model, const BookConfig& book) {
  std::string assets;
  for (const std::string& a : model.assets) assets += (assets.empty() ? "" : ", ") + a;
  return "asset is not in the model (its assets: " + assets + "; the model is " + book.model_path.string() +
         ", or under `betahedge run` the one calibrated from run.yaml's calibrate.assets)";
}

/// A per-regime parameter given as one value (all regimes) or one value per regime.
std::vector<double> per_regime(const std::vector<double>& values, int num_regimes, double fallback,
                               const BookConfig& book, const std::string& field) {
  if (values.empty()) return std::vector<double>(num_regimes, fallback);
  if (values.size() == 1) return std::vector<double>(num_regimes, values[0]);
  if (static_cast<int>(values.size()) != num_regimes)
    throw InputError(book_field(book, field) + ": has " + std::to_string(values.size()) +
                     " values; give one, or one per regime (" + std::to_string(num_regimes) + ")");
  return values;
}

std::vector<double> estimated_asset_betas(const Model& model, const BookConfig& book, int benchmark) {
  const std::string& how = book.hedge.beta_estimate;
  if (book.hedge.beta_estimate_value) return std::vector<double>(model.num_assets(), *book.hedge.beta_estimate_value);
  if (how == "model") return model_asset_betas(model, benchmark);
  std::vector<double> betas(model.num_assets(), 0.0);
  betas[benchmark] = 1.0;
  for (const auto& [symbol, units] : book.holdings) {
    const int i = model.asset_index(symbol);
    if (i == benchmark) continue;
    auto it = model.betas.find(symbol);
    std::optional<double> b;
    if (it != model.betas.end()) b = how == "ols" ? std::optional<double>(it->second.ols)
                                     : how == "ewma" ? it->second.ewma : it->second.kalman;
    if (!b)
      throw InputError(book_field(book, "hedge.beta_estimate") + ": the model (" + book.model_path.string() +
                       ") has no '" + how + "' beta for " + symbol + " (calibrate it, or use beta_estimate: model)");
    betas[i] = *b;
  }
  return betas;
}

/// One step's log drift of asset i in regime r, for steps of dt days (SPEC 4 simulation.drift).
double step_log_drift(const Regime& r, int i, double dt, DriftRule rule) {
  switch (rule) {
    case DriftRule::model: return r.mean[i] * dt;
    case DriftRule::zero: return 0.0;
    default:
      // martingale: a Gaussian step's shock has E[exp(shock)] = exp(vol^2 dt / 2), so this drift
      // makes every step's expected gross return 1 in every regime, and the price a martingale
      // whatever the regime path. A Student-t step has no finite E[exp(shock)]; the same drift
      // is the variance-matching convention (build_simulation_tables).
      return -0.5 * r.vol[i] * r.vol[i] * dt;
  }
}

}  // namespace

int hedge_benchmark_index(const Model& model, const BookConfig& book) {
  const std::string& symbol = book.hedge.benchmark.empty() ? model.benchmark : book.hedge.benchmark;
  const int m = model.asset_index(symbol);
  if (m < 0) throw InputError(book_field(book, "hedge.benchmark") + ": '" + symbol + "' is not in the model");
  return m;
}

std::vector<double> hedge_ratio_grid(const HedgeRatioGrid& g) {
  // Round the count so that `to` is included despite the binary representation of `step`.
  const auto count = static_cast<int>(std::floor((g.to - g.from) / g.step + 1e-9)) + 1;
  std::vector<double> ratios(count);
  // Rounded to 1e-12 so that 0.15 prints as 0.15, not 0.15000000000000002.
  for (int i = 0; i < count; ++i) ratios[i] = std::round((g.from + i * g.step) * 1e12) / 1e12;
  return ratios;
}

BookConfig resolve_holdings(const Model& model, const BookConfig& book) {
  if (!book.notional || !book.holdings.empty()) return book;
  double weight_sum = 0.0;
  for (const auto& [symbol, weight] : book.weights) weight_sum += weight;
  // Exactly opposite weights leave a value of rounding size, not zero: test the weights.
  if (std::abs(weight_sum) <= kWeightSumTolerance)
    throw InputError(book_field(book, "portfolio.weights") +
                     ": the weights sum to zero, so the portfolio's value at t0 would be zero");
  BookConfig resolved = book;
  for (const auto& [symbol, weight] : book.weights) {
    const int i = model.asset_index(symbol);
    if (i < 0)
      throw InputError(book_field(book, "portfolio.weights." + symbol) + ": " + not_in_model(model, book));
    resolved.holdings.emplace_back(symbol, weight * *book.notional / model.spot[i]);
  }
  return resolved;
}

PortfolioSetup make_portfolio(const Model& model, const BookConfig& written) {
  const BookConfig book = resolve_holdings(model, written);
  PortfolioSetup p;
  p.holdings.assign(model.num_assets(), 0.0);
  for (const auto& [symbol, units] : book.holdings) {
    const int i = model.asset_index(symbol);
    if (i < 0)
      throw InputError(book_field(book, "portfolio.holdings." + symbol) + ": " + not_in_model(model, book));
    p.holdings[i] += units;
  }
  for (int i = 0; i < model.num_assets(); ++i) p.value += p.holdings[i] * model.spot[i];
  if (!(std::abs(p.value) > 0.0))
    throw InputError(book_field(book, "portfolio.holdings") + ": the portfolio's value at t0 is zero");
  p.asset_beta = estimated_asset_betas(model, book, hedge_benchmark_index(model, book));
  double weighted = 0.0;
  for (int i = 0; i < model.num_assets(); ++i) weighted += p.holdings[i] * model.spot[i] * p.asset_beta[i];
  p.beta = weighted / p.value;
  return p;
}

Eigen::MatrixXd regime_covariance(const Regime& r) {
  const int n = static_cast<int>(r.vol.size());
  Eigen::MatrixXd cov(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) cov(i, j) = r.vol[i] * r.corr[i * n + j] * r.vol[j];
  return cov;
}

std::vector<double> model_asset_betas(const Model& model, int benchmark_index) {
  const int n = model.num_assets();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(n, n);
  for (int k = 0; k < model.num_regimes(); ++k)
    cov += model.initial_probabilities[k] * regime_covariance(model.regimes[k]);
  std::vector<double> betas(n);
  for (int i = 0; i < n; ++i) betas[i] = cov(i, benchmark_index) / cov(benchmark_index, benchmark_index);
  return betas;
}

SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio,
                                         const SimulationConfig& simulation) {
  BookConfig unhedged;
  unhedged.simulation = simulation;
  for (int i = 0; i < model.num_assets(); ++i) unhedged.holdings.emplace_back(model.assets[i], portfolio.holdings[i]);
  return build_simulation_tables(model, portfolio, unhedged);
}

SimulationTables build_simulation_tables(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book,
                                         const ScenarioShocks& shocks) {
  const SimulationConfig& simulation = book.simulation;
  // One leg for now (the path code's legs come next): the book's first leg, or none.
  HedgeLegConfig hc;
  hc.instrument = HedgeInstrument::none;
  if (book.hedge.hedged()) hc = book.hedge.legs.front();
  if (book.hedge.legs.size() > 1)
    throw InputError(book_field(book, "hedge.legs") + ": a hedge of several legs is not simulated yet");
  const HedgeConfig& programme = book.hedge;
  const int n = model.num_assets();
  const int k_count = model.num_regimes();
  const double dt = 1.0 / simulation.steps_per_day;
  const int benchmark = hedge_benchmark_index(model, book);
  SimulationTables t;
  // Every table is appended below and filled through the returned pointer while later tables
  // are appended, so the buffer must never reallocate: reserve its exact final size.
  const std::size_t nk = static_cast<std::size_t>(k_count);
  const std::vector<double> grid = hedge_ratio_grid(book.risk.hedge_ratio_grid);
  const std::size_t lanes = static_cast<std::size_t>(path_capacity_for(n));
  if (lanes == 0) throw std::logic_error("simulation tables: more assets than the largest path capacity");
  // The band sweep's bands: the book's band_grid, at most kMaxBandsPerPass of them (the engine
  // passes a longer grid in chunks), each at the book's own target (the engine's frontier sets
  // each pair's: sweep_bands in risk_job.cpp).
  const std::size_t bands = std::min<std::size_t>(book.risk.band_grid.size(), kMaxBandsPerPass);
  // The horizons reported before the simulated one, recorded on the way (HorizonView).
  std::vector<int> horizons = report_horizons(book);
  horizons.pop_back();
  t.data.reserve(nk * lanes + nk * n * lanes + nk + nk * nk + nk + 4 * lanes + 3 * nk + grid.size() + 2 * bands +
                 horizons.size());
  auto append = [&t](std::size_t& offset, std::size_t count) {
    if (t.data.size() + count > t.data.capacity()) throw std::logic_error("simulation tables: reserve too small");
    offset = t.data.size();
    t.data.resize(t.data.size() + count, 0.0);
    return t.data.data() + offset;
  };
  // The market step's tables in lanes (MarketView): rows of `lanes` entries, zero-padded.
  double* drift = append(t.offsets.drift, nk * lanes);
  for (int k = 0; k < k_count; ++k)
    for (int i = 0; i < n; ++i) drift[k * lanes + i] = step_log_drift(model.regimes[k], i, dt, simulation.drift);

  double* factor = append(t.offsets.shock_factor, nk * n * lanes);
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
      for (int j = 0; j <= i; ++j) factor[(k * n + j) * lanes + i] = std::sqrt(dt) * r.vol[i] * lower(i, j);
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

  // Per-asset rows in lanes too (zero beyond the assets): mark_portfolio reads them as lanes.
  double* spot = append(t.offsets.spot, lanes);
  double* initial_shock = append(t.offsets.initial_shock, lanes);
  double* holdings = append(t.offsets.holdings, lanes);
  double* asset_beta = append(t.offsets.asset_beta, lanes);
  const std::vector<double> betas =
      portfolio.asset_beta.empty() ? model_asset_betas(model, benchmark) : portfolio.asset_beta;
  for (int i = 0; i < n; ++i) {
    spot[i] = model.spot[i];
    holdings[i] = portfolio.holdings[i];
    asset_beta[i] = betas[i];
    if (!shocks.initial_log_jump.empty()) initial_shock[i] = shocks.initial_log_jump[i];
  }

  const std::vector<double> funding = per_regime(hc.funding_rate_8h, k_count, 0.0, book, "hedge.funding_rate_8h");
  const std::vector<double> basis = per_regime(hc.future.annual_basis, k_count, 0.0, book, "hedge.future.annual_basis");
  double* funding_rate = append(t.offsets.funding_rate, k_count);
  double* annual_basis = append(t.offsets.annual_basis, k_count);
  double* implied_vol = append(t.offsets.implied_vol, k_count);
  for (int k = 0; k < k_count; ++k) {
    funding_rate[k] = funding[k] * shocks.funding_multiplier;
    annual_basis[k] = basis[k];
    implied_vol[k] = model.regimes[k].vol[benchmark] * std::sqrt(kDaysPerYear) * hc.option.implied_vol_premium;
  }

  double* grid_ratios = append(t.offsets.grid_ratios, grid.size());
  std::copy(grid.begin(), grid.end(), grid_ratios);
  double* sweep_bands = append(t.offsets.sweep_bands, bands);
  std::copy(book.risk.band_grid.begin(), book.risk.band_grid.begin() + static_cast<std::ptrdiff_t>(bands), sweep_bands);
  append(t.offsets.sweep_targets, bands);  // the book's own target, once it is known (below)
  double* horizon_days = append(t.offsets.horizon_days, horizons.size());
  std::copy(horizons.begin(), horizons.end(), horizon_days);
  t.scalars.horizons.count = static_cast<int>(horizons.size());

  MarketView& m = t.scalars.market;
  m.num_assets = n;
  m.num_regimes = k_count;
  m.num_days = simulation.horizon_days;
  m.steps_per_day = simulation.steps_per_day;
  m.student_t = model.distribution == Distribution::student_t;
  t.scalars.portfolio.initial_value = portfolio.value;
  t.scalars.seed = simulation.seed;

  HedgeView& h = t.scalars.hedge;
  switch (hc.instrument) {
    case HedgeInstrument::perpetual: h.kind = HedgeKind::perpetual; break;
    case HedgeInstrument::future: h.kind = HedgeKind::future; break;
    case HedgeInstrument::option: h.kind = HedgeKind::option; break;
    default: h.kind = HedgeKind::none; break;
  }
  if (h.kind == HedgeKind::option && hc.ratio < 0.0 && book.hedge.legs.size() == 1)
    throw InputError(book_field(book, "hedge.ratio") + ": options are bought; the ratio must be >= 0");
  h.benchmark = benchmark;
  h.dynamic = programme.mode == HedgeMode::dynamic;
  h.ratio = hc.ratio;
  h.target_beta = programme.target_beta;
  h.band = programme.band;
  h.rebalance_every_days = programme.rebalance_every_days;
  h.cost_rate = (hc.fee_bps + hc.slippage_bps) * 1e-4;
  h.expiry_days = hc.future.expiry_days;
  h.roll_days_before = hc.future.roll_days_before;
  h.roll_cost_rate = hc.future.roll_cost_bps * 1e-4;
  h.option_is_call = hc.option.is_call;
  h.strike_fraction = hc.option.strike;
  h.tenor_days = hc.option.tenor_days;
  h.option_rate = hc.option.rate;
  h.initial_rate = book.margin.initial_rate;
  h.maintenance_rate = book.margin.maintenance_rate;
  h.top_up = book.margin.on_call == MarginAction::top_up;
  h.num_grid_ratios = static_cast<int>(grid.size());
  h.num_sweep_bands = static_cast<int>(bands);
  if (book.margin.collateral) {
    h.collateral = *book.margin.collateral;
  } else if (h.kind != HedgeKind::none) {
    // No collateral given: post the initial margin of the t0 hedge (linear), or the cash that
    // buys it, premium plus costs (bought options carry no margin requirement); the largest
    // over the regimes a path may start in, since futures and options are priced per regime.
    const SimulationView v = t.view(t.data.data());
    for (int k = 0; k < k_count; ++k) {
      HedgeState st;
      open_hedge(v.hedge, st, model.spot[benchmark], k, portfolio.value, portfolio.beta);
      h.collateral = std::max(h.collateral, h.kind == HedgeKind::option ? st.units * st.price + st.costs
                                                                         : margin_requirement(v.hedge, st, h.initial_rate));
    }
  }
  // A static hedge has no target of its own: its beta is tracked against where it starts, the
  // target summary.json reports, and the band sweep of a static book keeps that beta too.
  // (hedge.target_beta, which only a dynamic hedge reads, defaults to 0: measured against it, a
  // static book's tracking error was its start beta.)
  if (!h.dynamic && h.kind != HedgeKind::none) h.target_beta = start_beta(t);
  std::fill_n(t.data.data() + t.offsets.sweep_targets, bands, h.target_beta);
  return t;
}

double opening_margin(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book) {
  BookConfig unset = book;
  unset.margin.collateral.reset();  // the tables then post the opening margin (build_simulation_tables)
  return build_simulation_tables(model, portfolio, unset).scalars.hedge.collateral;
}

namespace {

/// The hedge as it opens at t0 in the most likely initial regime, with the portfolio's value and beta then.
struct StartHedge {
  HedgeState state;
  double s = 0.0;
  int regime = 0;
  double value = 0.0;
  double beta_portfolio = 0.0;
};

StartHedge open_start_hedge(const SimulationView& v) {
  StartHedge start;
  double beta_value = 0.0;
  for (int i = 0; i < v.market.num_assets; ++i)
    beta_value += v.portfolio.holdings[i] * v.market.spot[i] * v.portfolio.asset_beta[i];
  start.value = v.portfolio.initial_value;
  start.beta_portfolio = beta_value / start.value;
  if (v.hedge.kind == HedgeKind::none) return start;
  double previous = 0.0, best = -1.0;
  for (int k = 0; k < v.market.num_regimes; ++k) {
    const double p = v.market.initial_cdf[k] - previous;
    previous = v.market.initial_cdf[k];
    if (p > best) best = p, start.regime = k;
  }
  start.s = v.market.spot[v.hedge.benchmark];
  open_hedge(v.hedge, start.state, start.s, start.regime, start.value, start.beta_portfolio);
  return start;
}

}  // namespace

/// Portfolio-plus-hedge beta at t0, in the most likely initial regime.
double start_beta(const SimulationTables& tables) {
  const SimulationView v = tables.view(tables.data.data());
  const StartHedge start = open_start_hedge(v);
  if (v.hedge.kind == HedgeKind::none) return start.beta_portfolio;
  return start.beta_portfolio + hedge_beta(v.hedge, start.state, start.s, start.regime, start.value);
}

double start_hedge_notional(const SimulationTables& tables) {
  const SimulationView v = tables.view(tables.data.data());
  if (v.hedge.kind == HedgeKind::none) return 0.0;
  const StartHedge start = open_start_hedge(v);
  return start.state.units * notional_per_unit(v.hedge, start.state, start.s);
}

}  // namespace betahedge
