#include "model/model_json.hpp"

#include <cmath>
#include <fstream>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "betahedge/error.hpp"
#include "io/atomic_write.hpp"

namespace betahedge {
namespace {

using nlohmann::json;

constexpr double kProbabilityTolerance = 1e-6;
constexpr double kSymmetryTolerance = 1e-10;

[[noreturn]] void fail(const std::string& source, const std::string& field, const std::string& what) {
  throw InputError(source + ": field '" + field + "': " + what);
}

const json& require(const json& obj, const std::string& key, const std::string& source,
                    const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) fail(source, where.empty() ? key : where + "." + key, "is missing");
  return *it;
}

double as_number(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_number()) fail(source, field, "must be a number");
  double x = v.get<double>();
  if (!std::isfinite(x)) fail(source, field, "must be finite");
  return x;
}

std::vector<double> as_vector(const json& v, const std::string& source, const std::string& field,
                              std::size_t expected_size) {
  if (!v.is_array()) fail(source, field, "must be an array");
  if (v.size() != expected_size)
    fail(source, field,
         "has " + std::to_string(v.size()) + " entries, expected " + std::to_string(expected_size));
  std::vector<double> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(as_number(v[i], source, field + "[" + std::to_string(i) + "]"));
  return out;
}

std::optional<double> optional_number(const json& obj, const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

Model model_from_json(const json& doc, const std::string& source) {
  if (!doc.is_object()) throw InputError(source + ": not a JSON object");
  Model m;
  const json& format = require(doc, "format", source, "");
  if (!format.is_string() || format.get<std::string>() != "betahedge.model/1")
    fail(source, "format", "must be \"betahedge.model/1\"");

  const json& assets = require(doc, "assets", source, "");
  if (!assets.is_array() || assets.empty()) fail(source, "assets", "must be a non-empty array");
  for (std::size_t i = 0; i < assets.size(); ++i) {
    if (!assets[i].is_string()) fail(source, "assets[" + std::to_string(i) + "]", "must be a string");
    m.assets.push_back(assets[i].get<std::string>());
  }
  const std::size_t n = m.assets.size();
  if (n > static_cast<std::size_t>(kMaxAssets))
    fail(source, "assets", "has " + std::to_string(n) + " assets, at most " + std::to_string(kMaxAssets));

  const json& benchmark = require(doc, "benchmark", source, "");
  if (!benchmark.is_string()) fail(source, "benchmark", "must be a string");
  m.benchmark = benchmark.get<std::string>();
  if (auto it = doc.find("step"); it != doc.end()) {
    if (!it->is_string() || it->get<std::string>() != "1d") fail(source, "step", "must be \"1d\"");
  }

  const json& dist = require(doc, "distribution", source, "");
  if (dist == "gaussian") m.distribution = Distribution::gaussian;
  else if (dist == "student-t") m.distribution = Distribution::student_t;
  else fail(source, "distribution", "must be \"gaussian\" or \"student-t\"");

  const json& regimes = require(doc, "regimes", source, "");
  if (!regimes.is_array() || regimes.empty()) fail(source, "regimes", "must be a non-empty array");
  if (regimes.size() > static_cast<std::size_t>(kMaxRegimes))
    fail(source, "regimes", "has " + std::to_string(regimes.size()) + " regimes, at most " +
                                std::to_string(kMaxRegimes));
  for (std::size_t k = 0; k < regimes.size(); ++k) {
    const std::string where = "regimes[" + std::to_string(k) + "]";
    const json& r = regimes[k];
    if (!r.is_object()) fail(source, where, "must be an object");
    Regime regime;
    if (auto it = r.find("name"); it != r.end() && it->is_string()) regime.name = it->get<std::string>();
    else regime.name = "regime" + std::to_string(k);
    regime.mean = as_vector(require(r, "mean", source, where), source, where + ".mean", n);
    regime.vol = as_vector(require(r, "vol", source, where), source, where + ".vol", n);
    const json& corr = require(r, "corr", source, where);
    if (!corr.is_array() || corr.size() != n)
      fail(source, where + ".corr", "must be a " + std::to_string(n) + "x" + std::to_string(n) + " matrix");
    for (std::size_t i = 0; i < n; ++i) {
      auto row = as_vector(corr[i], source, where + ".corr[" + std::to_string(i) + "]", n);
      regime.corr.insert(regime.corr.end(), row.begin(), row.end());
    }
    if (auto it = r.find("dof"); it != r.end() && !it->is_null())
      regime.dof = as_number(*it, source, where + ".dof");
    m.regimes.push_back(std::move(regime));
  }
  const std::size_t k_count = m.regimes.size();

  const json& transition = require(doc, "transition", source, "");
  if (!transition.is_array() || transition.size() != k_count)
    fail(source, "transition",
         "must be a " + std::to_string(k_count) + "x" + std::to_string(k_count) + " matrix");
  for (std::size_t i = 0; i < k_count; ++i)
    m.transition.push_back(
        as_vector(transition[i], source, "transition[" + std::to_string(i) + "]", k_count));
  m.initial_probabilities = as_vector(require(doc, "initial_probabilities", source, ""), source,
                                      "initial_probabilities", k_count);

  const json& spot = require(doc, "spot", source, "");
  if (!spot.is_object()) fail(source, "spot", "must be an object of asset: price");
  for (const auto& symbol : m.assets) {
    auto it = spot.find(symbol);
    if (it == spot.end()) fail(source, "spot." + symbol, "is missing");
    m.spot.push_back(as_number(*it, source, "spot." + symbol));
  }
  for (auto it = spot.begin(); it != spot.end(); ++it)
    if (m.asset_index(it.key()) < 0) fail(source, "spot." + it.key(), "is not one of the model's assets");

  if (auto it = doc.find("betas"); it != doc.end() && it->is_object()) {
    for (auto b = it->begin(); b != it->end(); ++b) {
      BetaEstimates e;
      e.ols = b->value("ols", 0.0);
      e.ols_se = b->value("ols_se", 0.0);
      e.ols_r2 = optional_number(*b, "ols_r2");
      e.ewma = optional_number(*b, "ewma");
      e.kalman = optional_number(*b, "kalman");
      if (auto r = b->find("regime"); r != b->end() && r->is_array()) e.regime = r->get<std::vector<double>>();
      e.regime_weighted = optional_number(*b, "regime_weighted");
      m.betas[b.key()] = e;
    }
  }
  if (auto it = doc.find("calibration"); it != doc.end() && it->is_object()) {
    CalibrationInfo c;
    c.loglik = it->value("loglik", 0.0);
    c.aic = it->value("aic", 0.0);
    c.bic = it->value("bic", 0.0);
    c.iterations = it->value("iterations", 0);
    c.converged = it->value("converged", false);
    c.nobs = it->value("nobs", 0);
    c.start = it->value("start", std::string());
    c.end = it->value("end", std::string());
    m.calibration = c;
  }
  validate_model(m, source);
  return m;
}

void validate_model(const Model& m, const std::string& source) {
  const int n = m.num_assets();
  const int k_count = m.num_regimes();
  if (n < 1 || n > kMaxAssets) fail(source, "assets", "must hold 1.." + std::to_string(kMaxAssets) + " assets");
  if (k_count < 1 || k_count > kMaxRegimes)
    fail(source, "regimes", "must hold 1.." + std::to_string(kMaxRegimes) + " regimes");
  if (m.asset_index(m.benchmark) < 0) fail(source, "benchmark", "'" + m.benchmark + "' is not one of the assets");
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < i; ++j)
      if (m.assets[i] == m.assets[j]) fail(source, "assets", "'" + m.assets[i] + "' appears twice");
  if (static_cast<int>(m.spot.size()) != n) fail(source, "spot", "must give one price per asset");
  for (int i = 0; i < n; ++i)
    if (!(m.spot[i] > 0.0)) fail(source, "spot." + m.assets[i], "must be positive");

  for (int k = 0; k < k_count; ++k) {
    const Regime& r = m.regimes[k];
    const std::string where = "regimes[" + std::to_string(k) + "] (" + r.name + ")";
    if (static_cast<int>(r.mean.size()) != n || static_cast<int>(r.vol.size()) != n ||
        static_cast<int>(r.corr.size()) != n * n)
      fail(source, where, "shapes do not match the " + std::to_string(n) + " assets");
    for (int i = 0; i < n; ++i)
      if (!(r.vol[i] > 0.0) || !std::isfinite(r.vol[i]))
        fail(source, where + ".vol[" + std::to_string(i) + "]", "must be positive");
    Eigen::MatrixXd c(n, n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) c(i, j) = r.corr[i * n + j];
    for (int i = 0; i < n; ++i) {
      if (std::abs(c(i, i) - 1.0) > kSymmetryTolerance)
        fail(source, where + ".corr", "diagonal entry " + std::to_string(i) + " is not 1");
      for (int j = 0; j < i; ++j) {
        if (std::abs(c(i, j) - c(j, i)) > kSymmetryTolerance)
          fail(source, where + ".corr", "is not symmetric at [" + std::to_string(i) + "][" + std::to_string(j) + "]");
        if (std::abs(c(i, j)) > 1.0)
          fail(source, where + ".corr", "entry [" + std::to_string(i) + "][" + std::to_string(j) + "] is outside [-1, 1]");
      }
    }
    Eigen::LLT<Eigen::MatrixXd> llt(c);
    if (llt.info() != Eigen::Success || llt.matrixLLT().diagonal().minCoeff() <= 1e-12)
      fail(source, where + ".corr", "is not positive definite");
    if (m.distribution == Distribution::student_t) {
      if (!r.dof) fail(source, where + ".dof", "is required for a student-t model");
      if (!(*r.dof > 2.0)) fail(source, where + ".dof", "must be greater than 2 (finite variance)");
    } else if (r.dof) {
      fail(source, where + ".dof", "must be null for a gaussian model");
    }
  }

  auto check_distribution = [&](const std::vector<double>& p, const std::string& field) {
    double sum = 0.0;
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (!(p[j] >= 0.0 && p[j] <= 1.0))
        fail(source, field + "[" + std::to_string(j) + "]", "must be a probability in [0, 1]");
      sum += p[j];
    }
    if (std::abs(sum - 1.0) > kProbabilityTolerance)
      fail(source, field, "must sum to 1 (sums to " + std::to_string(sum) + ")");
  };
  if (static_cast<int>(m.transition.size()) != k_count) fail(source, "transition", "must have one row per regime");
  for (int i = 0; i < k_count; ++i) {
    if (static_cast<int>(m.transition[i].size()) != k_count)
      fail(source, "transition[" + std::to_string(i) + "]", "must have one entry per regime");
    check_distribution(m.transition[i], "transition[" + std::to_string(i) + "]");
  }
  if (static_cast<int>(m.initial_probabilities.size()) != k_count)
    fail(source, "initial_probabilities", "must have one entry per regime");
  check_distribution(m.initial_probabilities, "initial_probabilities");
}

Model load_model(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open model file");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError(path.string() + ": invalid JSON at byte " + std::to_string(e.byte));
  }
  try {
    return model_from_json(doc, path.string());
  } catch (const json::exception& e) {
    // A field of the wrong JSON type deep inside (e.g. betas) lands here.
    throw InputError(path.string() + ": " + e.what());
  }
}

json model_to_json(const Model& m) {
  json doc;
  doc["format"] = "betahedge.model/1";
  doc["assets"] = m.assets;
  doc["benchmark"] = m.benchmark;
  doc["step"] = m.step;
  doc["distribution"] = m.distribution == Distribution::gaussian ? "gaussian" : "student-t";
  const int n = m.num_assets();
  json regimes = json::array();
  for (const Regime& r : m.regimes) {
    json corr = json::array();
    for (int i = 0; i < n; ++i)
      corr.push_back(std::vector<double>(r.corr.begin() + i * n, r.corr.begin() + (i + 1) * n));
    regimes.push_back({{"name", r.name}, {"mean", r.mean}, {"vol", r.vol}, {"corr", corr},
                       {"dof", r.dof ? json(*r.dof) : json(nullptr)}});
  }
  doc["regimes"] = regimes;
  doc["transition"] = m.transition;
  doc["initial_probabilities"] = m.initial_probabilities;
  json spot = json::object();
  for (int i = 0; i < n; ++i) spot[m.assets[i]] = m.spot[i];
  doc["spot"] = spot;
  json betas = json::object();
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  for (const auto& [symbol, b] : m.betas)
    betas[symbol] = {{"ols", b.ols}, {"ols_se", b.ols_se}, {"ols_r2", opt(b.ols_r2)}, {"ewma", opt(b.ewma)},
                     {"kalman", opt(b.kalman)}, {"regime", b.regime}, {"regime_weighted", opt(b.regime_weighted)}};
  doc["betas"] = betas;
  if (m.calibration) {
    const CalibrationInfo& c = *m.calibration;
    doc["calibration"] = {{"loglik", c.loglik}, {"aic", c.aic}, {"bic", c.bic}, {"iterations", c.iterations},
                          {"converged", c.converged}, {"nobs", c.nobs}, {"start", c.start}, {"end", c.end}};
  }
  return doc;
}

void save_model(const Model& model, const std::filesystem::path& path) {
  write_file_atomically(path, model_to_json(model).dump(2) + "\n");
}

}  // namespace betahedge
