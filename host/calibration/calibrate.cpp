#include "calibration/calibrate.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "betahedge/error.hpp"
#include "calibration/betas.hpp"
#include "model/model_json.hpp"

namespace betahedge {
namespace {

Regime to_regime(const RegimeParameters& p, int k, const std::string& name) {
  const Eigen::MatrixXd cov = p.covariance(k);
  const int n = static_cast<int>(cov.rows());
  Regime r;
  r.name = name;
  r.mean.assign(p.mean[k].data(), p.mean[k].data() + n);
  r.vol.resize(n);
  for (int i = 0; i < n; ++i) r.vol[i] = std::sqrt(cov(i, i));
  r.corr.assign(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    r.corr[i * n + i] = 1.0;
    for (int j = 0; j < i; ++j) {
      const double rho = cov(i, j) / (r.vol[i] * r.vol[j]);
      r.corr[i * n + j] = rho;
      r.corr[j * n + i] = rho;
    }
  }
  if (!p.dof.empty()) r.dof = p.dof[k];
  return r;
}

Model build_model(const ReturnData& data, const RegimeFit& fit, Distribution distribution) {
  Model m;
  m.assets = data.assets;
  m.benchmark = data.assets[data.benchmark_index];
  m.distribution = distribution;
  const int k_count = fit.params.num_regimes();
  const auto names = regime_names(k_count);
  for (int k = 0; k < k_count; ++k) m.regimes.push_back(to_regime(fit.params, k, names[k]));
  for (int i = 0; i < k_count; ++i) {
    std::vector<double> row(static_cast<std::size_t>(k_count));
    const double sum = fit.params.transition.row(i).sum();
    for (int j = 0; j < k_count; ++j) row[j] = fit.params.transition(i, j) / sum;
    m.transition.push_back(row);
  }
  const Eigen::RowVectorXd last = fit.filter.filtered.bottomRows(1);
  for (int k = 0; k < k_count; ++k) m.initial_probabilities.push_back(last[k] / last.sum());
  m.spot = data.spot;
  CalibrationInfo info;
  info.loglik = fit.filter.loglik;
  info.aic = fit.aic;
  info.bic = fit.bic;
  info.iterations = fit.iterations;
  info.converged = fit.converged;
  info.nobs = data.num_returns();
  info.start = data.price_dates.front();
  info.end = data.price_dates.back();
  m.calibration = info;
  return m;
}

}  // namespace

std::vector<std::string> regime_names(int num_regimes) {
  switch (num_regimes) {
    case 1: return {"all"};
    case 2: return {"calm", "stressed"};
    case 3: return {"calm", "normal", "stressed"};
    case 4: return {"calm", "normal", "turbulent", "stressed"};
    default: break;
  }
  std::vector<std::string> names{"calm"};
  for (int k = 1; k + 1 < num_regimes; ++k) names.push_back("regime" + std::to_string(k));
  names.push_back("stressed");
  return names;
}

int minimum_returns(int num_assets, const CalibrationOptions& options) {
  const int k = options.num_regimes.value_or(1);
  return std::max(10, count_parameters(k, num_assets, options.fit) + 1);
}

Calibration calibrate(const ReturnData& data, const CalibrationOptions& options) {
  Calibration result;
  result.options = options;
  result.source = data.source;
  const Eigen::MatrixXd& x = data.log_returns;
  const int num_obs = data.num_returns();
  const int num_assets = data.num_assets();
  // A series that does not move is an input problem; say which, before any fit fails on it.
  require_moving_prices(data);

  // Regime model: one K, or every K in 1..4 that the data can identify, best BIC kept.
  std::vector<int> candidates;
  if (options.num_regimes) {
    candidates.push_back(*options.num_regimes);
  } else {
    for (int k = 1; k <= kMaxAutoRegimes; ++k)
      if (count_parameters(k, num_assets, options.fit) < num_obs) candidates.push_back(k);
  }
  bool have_fit = false;
  for (int k : candidates) {
    RegimeFitOptions fit_options = options.fit;
    fit_options.num_regimes = k;
    fit_options.volatility_column = data.benchmark_index;
    fit_options.column_names = data.assets;
    RegimeFit fit = fit_regime_model(x, fit_options);
    order_regimes_by_volatility(fit, data.benchmark_index);
    result.selection.push_back(
        {k, fit.num_parameters, fit.filter.loglik, fit.aic, fit.bic, fit.converged, fit.iterations});
    if (!have_fit || fit.bic < result.fit.bic) {
      result.fit = std::move(fit);
      have_fit = true;
    }
  }
  if (!result.fit.converged && !options.accept_unconverged) {
    const auto& trace = result.fit.loglik_trace;
    const double change = trace.size() >= 2 ? std::abs(trace[trace.size() - 1] - trace[trace.size() - 2]) /
                                                  std::abs(trace.back())
                                            : 0.0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2e", change);
    throw NumericalError("calibration did not converge: EM with " + std::to_string(result.fit.params.num_regimes()) +
                         " regimes stopped at the cap of " + std::to_string(options.fit.max_iterations) +
                         " iterations with relative log-likelihood change " + buf +
                         "; hint: raise --max-iterations, use fewer --regimes, or pass --accept-unconverged");
  }
  result.model = build_model(data, result.fit, options.fit.distribution);

  // Betas of every other asset to the benchmark.
  const Eigen::VectorXd bench = x.col(data.benchmark_index);
  for (int i = 0; i < num_assets; ++i) {
    if (i == data.benchmark_index) continue;
    const Eigen::VectorXd y = x.col(i);
    const OlsBeta ols = ols_beta(y, bench);
    const KalmanBeta kalman = kalman_beta_fit(y, bench);
    const std::vector<double> ewma = ewma_beta(y, bench, options.ewma_lambda);
    const std::vector<double> rolling = rolling_beta(y, bench, options.rolling_window);
    BetaEstimates b;
    b.ols = ols.beta;
    b.ols_se = ols.beta_se;
    b.ols_r2 = ols.r_squared;
    b.ewma = ewma.back();
    b.kalman = kalman.beta_filtered.back();
    double weighted = 0.0;
    for (int k = 0; k < result.fit.params.num_regimes(); ++k) {
      b.regime.push_back(regime_beta(result.fit.params.covariance(k), i, data.benchmark_index));
      weighted += result.model.initial_probabilities[k] * b.regime.back();
    }
    b.regime_weighted = weighted;
    result.model.betas[data.assets[i]] = b;
    BetaDetail detail;
    detail.ols_alpha = ols.alpha;
    if (!rolling.empty()) detail.rolling = rolling.back();
    detail.kalman_beta_variance = kalman.beta_variance;
    detail.kalman_noise_variance = kalman.noise_variance;
    detail.kalman_loglik = kalman.loglik;
    result.beta_details[data.assets[i]] = detail;
  }

  try {
    validate_model(result.model, "calibrated model");
  } catch (const InputError& e) {
    throw NumericalError(std::string(e.what()) + "; hint: raise --covariance-floor or use fewer --regimes");
  }
  return result;
}

std::vector<std::string> short_regime_warnings(const Model& model) {
  std::vector<std::string> warnings;
  for (int k = 0; k < model.num_regimes(); ++k) {
    const double stay = model.transition[k][k];
    const double days = 1.0 / (1.0 - stay);  // +inf for an absorbing regime
    if (!(days < kShortRegimeDays)) continue;
    char text[240];
    std::snprintf(text, sizeof text,
                  "regime %s lasts %.2f days on average (1 / (1 - p_kk), p_kk = %.4f), under %g: paths switch "
                  "regimes so often that the figures mix them",
                  model.regimes[k].name.c_str(), days, stay, kShortRegimeDays);
    warnings.push_back(text);
  }
  return warnings;
}

std::string calibration_summary(const Calibration& c, const ReturnData& data) {
  const CalibrationInfo& info = *c.model.calibration;
  std::ostringstream s;
  s.precision(10);
  s << "calibrated " << c.model.num_regimes() << " regime" << (c.model.num_regimes() == 1 ? "" : "s") << " ("
    << (c.model.distribution == Distribution::gaussian ? "gaussian" : "student-t") << ") on " << data.num_assets()
    << " assets x " << info.nobs << " returns, " << info.start << " .. " << info.end << ": loglik " << info.loglik
    << ", BIC " << info.bic << ", " << info.iterations << " EM iterations, best of " << c.fit.start_logliks.size()
    << " starts";
  if (c.model.num_regimes() > 1) {
    s << "; ";
    for (int k = 0; k < c.model.num_regimes(); ++k) {
      char part[160];
      std::snprintf(part, sizeof part, "%s%s lasts %.1f days on average, today %.3f", k > 0 ? ", " : "",
                    c.model.regimes[k].name.c_str(), 1.0 / (1.0 - c.model.transition[k][k]),
                    c.model.initial_probabilities[k]);
      s << part;
    }
  }
  return s.str();
}

std::vector<std::string> heavy_tail_warnings(const Model& model) {
  std::vector<std::string> warnings;
  for (const Regime& r : model.regimes) {
    if (!r.dof || *r.dof > kHeavyTailDof) continue;
    char text[400];
    std::snprintf(text, sizeof text,
                  "regime %s: Student-t dof %.3g (the fitter's floor is 2.05): a tail this heavy has no finite fourth "
                  "moment, and near 2 barely a variance, so the simulated VaR, ES and their standard errors do not "
                  "settle; consider distribution: gaussian, a longer window or fewer regimes",
                  r.name.c_str(), *r.dof);
    warnings.push_back(text);
  }
  return warnings;
}

std::vector<std::string> calibration_warnings(const Calibration& c) {
  std::vector<std::string> warnings;
  if (!c.options.num_regimes && !c.selection.empty()) {
    const int chosen = c.model.num_regimes(), lowest = c.selection.front().num_regimes,
              highest = c.selection.back().num_regimes;
    const std::string range = std::to_string(lowest) + ".." + std::to_string(highest);
    if (chosen == highest)
      warnings.push_back("regimes auto chose " + std::to_string(chosen) + " regime" + (chosen == 1 ? "" : "s") +
                         ", the top of the range it tried (" + range +
                         "): the data may hold more; compare the BIC in model.json's calibration.model_selection");
    else if (chosen == lowest)
      warnings.push_back("regimes auto chose " + std::to_string(chosen) + " regime" + (chosen == 1 ? "" : "s") +
                         ", the bottom of the range it tried (" + range +
                         "): no regime switching was found worth its parameters");
  }
  for (std::string& w : short_regime_warnings(c.model)) warnings.push_back(std::move(w));
  for (std::string& w : heavy_tail_warnings(c.model)) warnings.push_back(std::move(w));
  return warnings;
}

nlohmann::json calibration_to_json(const Calibration& c) {
  using nlohmann::json;
  json doc = model_to_json(c.model);
  const RegimeFitOptions& fit = c.options.fit;
  json& cal = doc["calibration"];
  cal["source"] = c.source;
  cal["initial_distribution"] = fit.initial == InitialDistribution::stationary ? "stationary" : "estimated";
  cal["regime_initial_distribution"] = std::vector<double>(c.fit.params.initial.data(),
                                                           c.fit.params.initial.data() + c.fit.params.initial.size());
  cal["shared_covariance"] = fit.shared_covariance;
  cal["num_parameters"] = c.fit.num_parameters;
  cal["seed"] = fit.seed;
  cal["starts"] = c.fit.start_logliks.size();
  cal["best_start"] = c.fit.best_start;
  cal["start_logliks"] = c.fit.start_logliks;  // NaN (a failed start) is written as null
  cal["tolerance"] = fit.tolerance;
  cal["max_iterations"] = fit.max_iterations;
  cal["covariance_floor"] = fit.covariance_floor;
  cal["regimes_requested"] = c.options.num_regimes ? json(*c.options.num_regimes) : json("auto");
  json selection = json::array();
  for (const auto& row : c.selection)
    selection.push_back({{"regimes", row.num_regimes}, {"num_parameters", row.num_parameters},
                         {"loglik", row.loglik}, {"aic", row.aic}, {"bic", row.bic},
                         {"converged", row.converged}, {"iterations", row.iterations}});
  cal["model_selection"] = selection;
  for (const auto& [symbol, d] : c.beta_details) {
    json& b = doc["betas"][symbol];
    b["ols_alpha"] = d.ols_alpha;
    b["rolling"] = d.rolling ? json(*d.rolling) : json(nullptr);
    b["rolling_window"] = c.options.rolling_window;
    b["ewma_lambda"] = c.options.ewma_lambda;
    b["kalman_beta_variance"] = d.kalman_beta_variance;
    b["kalman_noise_variance"] = d.kalman_noise_variance;
  }
  return doc;
}

std::string regimes_csv(const Calibration& c, const ReturnData& data) {
  std::string out = "date";
  for (const auto& r : c.model.regimes) out += ",filtered_" + r.name + ",smoothed_" + r.name;
  out += '\n';
  const Eigen::MatrixXd& filtered = c.fit.filter.filtered;
  const Eigen::MatrixXd& smoothed = c.fit.filter.smoothed;
  char buf[64];
  for (int t = 0; t < data.num_returns(); ++t) {
    out += data.return_date(t);
    for (int k = 0; k < c.model.num_regimes(); ++k) {
      std::snprintf(buf, sizeof buf, ",%.10g,%.10g", filtered(t, k), smoothed(t, k));
      out += buf;
    }
    out += '\n';
  }
  return out;
}

}  // namespace betahedge
