#include "engine/simulation_setup.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Cholesky>

#include "betahedge/error.hpp"
#include "betahedge/hedging.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

/// Weights whose sum is this close to zero give a book of no value (the error of resolve_holdings).
constexpr double kWeightSumTolerance = 1e-9;

std::string book_field(const BookConfig& book, const std::string& field) { return book_location(book, field); }

/// What to say of a held asset the model lacks: the model's assets, and where they come from
/// (the book's model file, or under `run` the calibration's assets).
std::string not_in_model(const Model& model, const BookConfig& book) {
  return "asset is not in the model (its assets: " + comma_separated(model.assets) + "; the model is " + book.model_path.string() +
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

/// The betas hedge.beta_estimate names, of every asset held and every leg's underlying (what the
/// hedge programme believes; the other assets' are not read).
std::vector<double> estimated_asset_betas(const Model& model, const BookConfig& book, int benchmark) {
  const std::string& how = book.hedge.beta_estimate;
  if (book.hedge.beta_estimate_value) return std::vector<double>(model.num_assets(), *book.hedge.beta_estimate_value);
  if (how == "model") return model_asset_betas(model, benchmark);
  std::vector<double> betas(model.num_assets(), 0.0);
  betas[benchmark] = 1.0;
  std::vector<std::string> symbols;
  for (const auto& [symbol, units] : book.holdings) symbols.push_back(symbol);
  for (const HedgeLegConfig& leg : book.hedge.legs) symbols.push_back(model.assets[leg_underlying_index(model, book, leg)]);
  for (const std::string& symbol : symbols) {
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

/// Each leg's believed beta to the reference benchmark: exactly 1 for the reference itself (so a
/// hedge on the reference adds units x delta x S / V to the book's beta, as it always did), else
/// the asset beta the portfolio believes of its underlying.
std::vector<double> leg_betas(int reference, const std::vector<int>& underlying, const std::vector<double>& asset_beta) {
  std::vector<double> out;
  for (int i : underlying) out.push_back(i == reference ? 1.0 : asset_beta[i]);
  return out;
}

/// The covariance of one day's log returns, the regimes mixed by today's probabilities (as
/// model_asset_betas mixes them).
Eigen::MatrixXd mixed_covariance(const Model& model) {
  const int n = model.num_assets();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(n, n);
  for (int k = 0; k < model.num_regimes(); ++k)
    cov += model.initial_probabilities[k] * regime_covariance(model.regimes[k]);
  return cov;
}

/// The dynamic programme's shares of the beta exposure, one per leg (LegView::weight): 1 for a
/// single leg; equal shares for a static hedge, whose programme never reads them (the job sweeps
/// a static book's bands on the book made dynamic, which has its own); hedge.weights as given
/// (allocation: weights); or, allocation: min_variance, the
/// split of the t0 trade that leaves the book's one-day P&L the least variance. With F the legs'
/// underlyings' log returns, P the positions h_i S_i, Sigma the mixed covariance and beta the
/// legs' betas, the exposures x (currency in each underlying) with beta'x = c = (target - beta_p)
/// V minimise Var(P'R + x'F) at x = Sigma_FF^-1 (lambda beta - Sigma_FP), lambda = (c + beta'
/// Sigma_FF^-1 Sigma_FP) / (beta' Sigma_FF^-1 beta); weight_l = beta_l x_l / c. With c ~ 0
/// (|c| < 1e-12 |V|) the limit direction: weight_l proportional to beta_l (Sigma_FF^-1 beta)_l.
std::vector<double> allocation_weights(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book,
                                       const std::vector<int>& underlying, const std::vector<double>& beta) {
  const std::vector<HedgeLegConfig>& legs = book.hedge.legs;
  const int count = static_cast<int>(legs.size());
  if (count <= 1) return std::vector<double>(count, 1.0);
  if (book.hedge.mode == HedgeMode::static_ratio) return std::vector<double>(count, 1.0 / count);
  std::vector<double> weights;
  if (book.hedge.allocation == HedgeAllocation::weights) {
    for (const HedgeLegConfig& leg : legs) weights.push_back(leg.weight);
    return weights;
  }
  for (int i = 0; i < count; ++i)
    for (int j = i + 1; j < count; ++j)
      if (underlying[i] == underlying[j])
        throw InputError(book_field(book, "hedge.allocation") + ": min_variance splits the trade by the legs' " +
                         "underlyings' covariance, and hedge.legs[" + std::to_string(i) + "] and hedge.legs[" +
                         std::to_string(j) + "] are both on " + model.assets[underlying[i]] +
                         " (a singular covariance): use allocation: weights");
  const Eigen::MatrixXd cov = mixed_covariance(model);
  Eigen::MatrixXd cov_ff(count, count);
  Eigen::VectorXd cov_fp = Eigen::VectorXd::Zero(count), b(count);
  for (int l = 0; l < count; ++l) {
    b(l) = beta[l];
    for (int j = 0; j < count; ++j) cov_ff(l, j) = cov(underlying[l], underlying[j]);
    for (int i = 0; i < model.num_assets(); ++i)
      cov_fp(l) += cov(underlying[l], i) * portfolio.holdings[i] * model.spot[i];
  }
  const Eigen::LDLT<Eigen::MatrixXd> solver(cov_ff);
  const Eigen::VectorXd direction = solver.solve(b);  // Sigma_FF^-1 beta
  const Eigen::VectorXd hedge = solver.solve(cov_fp);  // Sigma_FF^-1 Sigma_FP
  const double curvature = b.dot(direction);
  if (solver.info() != Eigen::Success || !(curvature > 0.0))
    throw InputError(book_field(book, "hedge.allocation") +
                     ": min_variance finds no split: the legs' underlyings have no beta to the reference benchmark, "
                     "or their covariance is singular; use allocation: weights");
  const double c = (book.hedge.target_beta - portfolio.beta) * portfolio.value;
  for (int l = 0; l < count; ++l) {
    if (std::abs(c) < 1e-12 * std::abs(portfolio.value)) {
      weights.push_back(beta[l] * direction(l) / curvature);
    } else {
      const double lambda = (c + b.dot(hedge)) / curvature;
      weights.push_back(beta[l] * (lambda * direction(l) - hedge(l)) / c);
    }
  }
  return weights;
}

/// What opening the legs at t0 takes, per account: a linear leg's or a written option's initial
/// margin (initial_rate x its notional), a bought option's cash (premium plus costs); the largest
/// over the regimes a path may start in.
std::vector<double> account_opening_margins(const SimulationView& v, double beta_portfolio) {
  const HedgeView& h = v.hedge;
  std::vector<double> largest(static_cast<std::size_t>(h.num_accounts), 0.0);
  for (int k = 0; k < v.market.num_regimes; ++k) {
    std::vector<double> opening(largest.size(), 0.0);
    for (int l = 0; l < h.num_legs; ++l) {
      const LegView& leg = h.legs[l];
      const double s = v.market.spot[leg.benchmark];
      HedgeState st;
      AccountTotals account;
      open_hedge(leg, programme_of(h), st, account, s, k, v.portfolio.initial_value, beta_portfolio);
      const bool bought_option = leg.kind == HedgeKind::option && st.units >= 0.0;
      opening[leg.account] +=
          bought_option ? st.units * st.price + st.costs : margin_requirement(leg, st, s, h.initial_rate);
    }
    for (std::size_t a = 0; a < largest.size(); ++a) largest[a] = std::max(largest[a], opening[a]);
  }
  return largest;
}

}  // namespace

int hedge_benchmark_index(const Model& model, const BookConfig& book) {
  const std::string& symbol = book.hedge.benchmark.empty() ? model.benchmark : book.hedge.benchmark;
  const int m = model.asset_index(symbol);
  if (m < 0) throw InputError(book_field(book, "hedge.benchmark") + ": '" + symbol + "' is not in the model");
  return m;
}

int leg_underlying_index(const Model& model, const BookConfig& book, const HedgeLegConfig& leg) {
  if (leg.benchmark.empty()) return hedge_benchmark_index(model, book);
  const int i = model.asset_index(leg.benchmark);
  if (i < 0)
    throw InputError(book_field(book, leg.field + ".benchmark") + ": '" + leg.benchmark + "' " + not_in_model(model, book));
  return i;
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
  const HedgeConfig& programme = book.hedge;
  const std::vector<HedgeLegConfig>& legs = programme.legs;  // none: no hedge
  const std::size_t num_legs = legs.size();
  if (num_legs > static_cast<std::size_t>(kMaxHedgeLegs))
    throw std::logic_error("simulation tables: more legs than the path code's capacity");
  const int n = model.num_assets();
  const int k_count = model.num_regimes();
  const double dt = 1.0 / simulation.steps_per_day;
  const int reference = hedge_benchmark_index(model, book);  // what betas are measured against
  std::vector<int> underlying;
  for (const HedgeLegConfig& leg : legs) underlying.push_back(leg_underlying_index(model, book, leg));
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
  t.data.reserve(nk * lanes + nk * n * lanes + nk + nk * nk + nk + 4 * lanes + 3 * nk * num_legs + grid.size() +
                 2 * bands + horizons.size() + num_legs);
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
      portfolio.asset_beta.empty() ? model_asset_betas(model, reference) : portfolio.asset_beta;
  for (int i = 0; i < n; ++i) {
    spot[i] = model.spot[i];
    holdings[i] = portfolio.holdings[i];
    asset_beta[i] = betas[i];
    if (!shocks.initial_log_jump.empty()) initial_shock[i] = shocks.initial_log_jump[i];
  }

  // Per leg, per regime: funding (scaled by the scenario), basis, and the implied vol of the
  // leg's own underlying.
  double* funding_rate = append(t.offsets.funding_rate, nk * num_legs);
  double* annual_basis = append(t.offsets.annual_basis, nk * num_legs);
  double* implied_vol = append(t.offsets.implied_vol, nk * num_legs);
  for (std::size_t l = 0; l < num_legs; ++l) {
    const HedgeLegConfig& leg = legs[l];
    const std::vector<double> funding = per_regime(leg.funding_rate_8h, k_count, 0.0, book, leg.field + ".funding_rate_8h");
    const std::vector<double> basis =
        per_regime(leg.future.annual_basis, k_count, 0.0, book, leg.field + ".future.annual_basis");
    for (int k = 0; k < k_count; ++k) {
      funding_rate[l * nk + k] = funding[k] * shocks.funding_multiplier;
      annual_basis[l * nk + k] = basis[k];
      implied_vol[l * nk + k] =
          model.regimes[k].vol[underlying[l]] * std::sqrt(kDaysPerYear) * leg.option.implied_vol_premium;
    }
  }

  double* grid_ratios = append(t.offsets.grid_ratios, grid.size());
  std::copy(grid.begin(), grid.end(), grid_ratios);
  double* sweep_bands = append(t.offsets.sweep_bands, bands);
  std::copy(book.risk.band_grid.begin(), book.risk.band_grid.begin() + static_cast<std::ptrdiff_t>(bands), sweep_bands);
  append(t.offsets.sweep_targets, bands);  // the book's own target, once it is known (below)
  double* horizon_days = append(t.offsets.horizon_days, horizons.size());
  std::copy(horizons.begin(), horizons.end(), horizon_days);
  t.scalars.horizons.count = static_cast<int>(horizons.size());
  // The unit-legs program's direction vector: the book's own ratios until the optimiser sets another.
  double* direction = append(t.offsets.direction, num_legs);
  for (std::size_t l = 0; l < num_legs; ++l) direction[l] = legs[l].ratio;

  MarketView& m = t.scalars.market;
  m.num_assets = n;
  m.num_regimes = k_count;
  m.num_days = simulation.horizon_days;
  m.steps_per_day = simulation.steps_per_day;
  m.student_t = model.distribution == Distribution::student_t;
  t.scalars.portfolio.initial_value = portfolio.value;
  t.scalars.seed = simulation.seed;

  HedgeView& h = t.scalars.hedge;
  const bool isolated = book.margin.mode == MarginMode::isolated && num_legs > 1;
  h.num_legs = static_cast<int>(num_legs);
  h.num_accounts = isolated ? static_cast<int>(num_legs) : 1;
  const std::vector<double> beta_of_leg = leg_betas(reference, underlying, betas);
  const std::vector<double> weights = allocation_weights(model, portfolio, book, underlying, beta_of_leg);
  for (std::size_t l = 0; l < num_legs; ++l) {
    const HedgeLegConfig& hc = legs[l];
    LegView& leg = h.legs[l];
    leg.kind = hc.instrument == HedgeInstrument::future   ? HedgeKind::future
               : hc.instrument == HedgeInstrument::option ? HedgeKind::option
                                                           : HedgeKind::perpetual;
    // The one-instrument form keeps its rule; a leg of hedge.legs may write an option (a collar).
    if (leg.kind == HedgeKind::option && hc.ratio < 0.0 && hc.field == "hedge")
      throw InputError(book_field(book, "hedge.ratio") + ": options are bought; the ratio must be >= 0");
    leg.benchmark = underlying[l];
    leg.account = isolated ? static_cast<int>(l) : 0;
    leg.beta = beta_of_leg[l];
    leg.ratio = hc.ratio;
    leg.weight = weights[l];
    leg.cost_rate = (hc.fee_bps + hc.slippage_bps) * 1e-4;
    leg.expiry_days = hc.future.expiry_days;
    leg.roll_days_before = hc.future.roll_days_before;
    leg.roll_cost_rate = hc.future.roll_cost_bps * 1e-4;
    leg.option_is_call = hc.option.is_call;
    leg.strike_fraction = hc.option.strike;
    leg.tenor_days = hc.option.tenor_days;
    leg.option_rate = hc.option.rate;
  }
  h.dynamic = programme.mode == HedgeMode::dynamic;
  h.target_beta = programme.target_beta;
  h.band = programme.band;
  h.rebalance_every_days = programme.rebalance_every_days;
  h.initial_rate = book.margin.initial_rate;
  h.maintenance_rate = book.margin.maintenance_rate;
  h.top_up = book.margin.on_call == MarginAction::top_up;
  h.num_grid_ratios = static_cast<int>(grid.size());
  h.num_sweep_bands = static_cast<int>(bands);
  if (!book.margin.leg_collateral.empty()) {  // a list: isolated margin's accounts (parse_book checked its length)
    for (int a = 0; a < h.num_accounts; ++a) h.collateral[a] = book.margin.leg_collateral.at(a);
  } else if (book.margin.collateral) {
    if (isolated)
      throw InputError(book_field(book, "margin.collateral") +
                       ": isolated margin has one account per leg: give [one amount per leg] or auto");
    h.collateral[0] = *book.margin.collateral;
  } else if (num_legs > 0) {
    // No collateral given: each account posts what opening its legs at t0 takes, the largest
    // over the regimes a path may start in, since futures and options are priced per regime.
    const std::vector<double> opening = account_opening_margins(t.view(t.data.data()), portfolio.beta);
    std::copy(opening.begin(), opening.end(), h.collateral);
  }
  // A static hedge has no target of its own: its beta is tracked against where it starts, the
  // target summary.json reports, and the band sweep of a static book keeps that beta too.
  // (hedge.target_beta, which only a dynamic hedge reads, defaults to 0: measured against it, a
  // static book's tracking error was its start beta.)
  if (!h.dynamic && num_legs > 0) h.target_beta = start_beta(t);
  std::fill_n(t.data.data() + t.offsets.sweep_targets, bands, h.target_beta);
  return t;
}

double opening_margin(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book) {
  BookConfig unset = book;
  // The tables then post each account's opening margin (build_simulation_tables).
  unset.margin.collateral.reset();
  unset.margin.leg_collateral.clear();
  const HedgeView& h = build_simulation_tables(model, portfolio, unset).scalars.hedge;
  return total_collateral(h);
}

double total_collateral(const HedgeView& h) {
  double total = 0.0;
  for (int a = 0; a < h.num_accounts; ++a) total += h.collateral[a];
  return total;
}

namespace {

/// The hedge as it opens at t0 in the most likely initial regime, with the portfolio's value and beta then.
struct StartHedge {
  std::vector<HedgeState> legs;
  std::vector<double> s;  ///< [leg]: the underlying's spot
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
  if (v.hedge.num_legs == 0) return start;
  double previous = 0.0, best = -1.0;
  for (int k = 0; k < v.market.num_regimes; ++k) {
    const double p = v.market.initial_cdf[k] - previous;
    previous = v.market.initial_cdf[k];
    if (p > best) best = p, start.regime = k;
  }
  for (int l = 0; l < v.hedge.num_legs; ++l) {
    const LegView& leg = v.hedge.legs[l];
    HedgeState st;
    AccountTotals account;
    start.s.push_back(v.market.spot[leg.benchmark]);
    open_hedge(leg, programme_of(v.hedge), st, account, start.s.back(), start.regime, start.value, start.beta_portfolio);
    start.legs.push_back(st);
  }
  return start;
}

}  // namespace

/// Portfolio-plus-hedge beta at t0, in the most likely initial regime.
double start_beta(const SimulationTables& tables) {
  const SimulationView v = tables.view(tables.data.data());
  const StartHedge start = open_start_hedge(v);
  double beta = start.beta_portfolio;
  for (int l = 0; l < v.hedge.num_legs; ++l)
    beta += hedge_beta(v.hedge.legs[l], start.legs[l], start.s[l], start.regime, start.value);
  return beta;
}

std::vector<double> start_leg_notionals(const SimulationTables& tables) {
  const SimulationView v = tables.view(tables.data.data());
  const StartHedge start = open_start_hedge(v);
  std::vector<double> notionals;
  for (int l = 0; l < v.hedge.num_legs; ++l)
    notionals.push_back(start.legs[l].units * notional_per_unit(v.hedge.legs[l], start.legs[l], start.s[l]));
  return notionals;
}

double start_hedge_notional(const SimulationTables& tables) {
  double total = 0.0;
  for (double notional : start_leg_notionals(tables)) total += notional;
  return total;
}

}  // namespace betahedge
