#include "model/model_json.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <set>
#include <span>
#include <string_view>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "betahedge/error.hpp"
#include "io/atomic_write.hpp"
#include "io/input_file.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

using nlohmann::json;

constexpr double kProbabilityTolerance = 1e-6;
constexpr double kSymmetryTolerance = 1e-10;
constexpr std::size_t kFieldChars = 120;  // a field path quoted in a message (it may hold an asset name)

[[noreturn]] void fail(const std::string& source, const std::string& field, const std::string& what) {
  throw InputError(source + ": field '" + clip_for_message(field, kFieldChars) + "': " + what);
}

/// nlohmann's message without its "[json.exception.type_error.302] " tag, clipped.
std::string json_error_text(const json::exception& e) {
  std::string_view text = e.what();
  if (const std::size_t tag_end = text.find("] "); text.rfind("[json.exception.", 0) == 0 && tag_end != text.npos)
    text.remove_prefix(tag_end + 2);
  return clip_for_message(text, kFieldChars);
}

/// A number for a message: %g, so that 1e300 is not written with 300 digits.
std::string number_text(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

// The keys each object of model.json may hold; `spot` and `betas` are keyed by asset name
// instead. Every key that betahedge writes must be here, or the models it writes stop loading.
constexpr std::string_view kModelKeys[] = {"format", "assets", "benchmark", "step", "distribution", "regimes",
                                           "transition", "initial_probabilities", "spot", "betas", "calibration"};
constexpr std::string_view kRegimeKeys[] = {"name", "mean", "vol", "corr", "dof"};
constexpr std::string_view kBetaKeys[] = {
    "ols", "ols_se", "ols_r2", "ewma", "kalman", "regime", "regime_weighted",
    // Written by calibrate for the record (calibration_to_json); loading ignores them.
    "ols_alpha", "rolling", "rolling_window", "ewma_lambda", "kalman_beta_variance", "kalman_noise_variance"};
constexpr std::string_view kCalibrationKeys[] = {
    "loglik", "aic", "bic", "iterations", "converged", "nobs", "start", "end",
    // Written by calibrate for the record (calibration_to_json); loading ignores them.
    "source", "initial_distribution", "regime_initial_distribution", "shared_covariance", "num_parameters", "seed",
    "starts", "best_start", "start_logliks", "tolerance", "max_iterations", "covariance_floor", "regimes_requested",
    "model_selection"};

/// Throws unless every key of the object `obj` is in `allowed`: a misspelt key would otherwise
/// be ignored and its field read as absent (book.yaml rejects unknown keys for the same reason).
void require_known_keys(const json& obj, std::span<const std::string_view> allowed, const std::string& source,
                        const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    std::string list;
    for (std::string_view key : allowed) list += (list.empty() ? "" : ", ") + std::string(key);
    fail(source, where.empty() ? it.key() : where + "." + it.key(), "is not a known key (allowed: " + list + ")");
  }
}

/// A pointer into the text that also records how far the parser has read, since nlohmann's SAX
/// interface reports no positions. During a key event that is just past the key's closing quote.
class TrackedChar {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedChar() = default;
  TrackedChar(const char* at, const char** read_to) : at_(at), read_to_(read_to) {}
  reference operator*() const { return *at_; }
  TrackedChar& operator++() {
    *read_to_ = ++at_;
    return *this;
  }
  TrackedChar operator++(int) {
    TrackedChar before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackedChar& other) const { return at_ == other.at_; }

 private:
  const char* at_ = nullptr;
  const char** read_to_ = nullptr;
};

/// SAX handler that stops at the first key given twice in one object (json::parse keeps the
/// last value silently) and records its field path ("regimes[1].vol") and where it was read.
/// It holds the key sets of the open objects only, so a pass is O(n log n) in the text.
class RepeatedKeyFinder final : public json::json_sax_t {
 public:
  explicit RepeatedKeyFinder(const char* const* read_to) : read_to_(read_to) {}

  std::optional<std::string> repeated_field;
  const char* repeated_at = nullptr;  ///< just past the repeated key's closing quote

  bool null() override { return element(); }
  bool boolean(bool) override { return element(); }
  bool number_integer(json::number_integer_t) override { return element(); }
  bool number_unsigned(json::number_unsigned_t) override { return element(); }
  bool number_float(json::number_float_t, const json::string_t&) override { return element(); }
  bool string(json::string_t&) override { return element(); }
  bool binary(json::binary_t&) override { return element(); }
  bool start_object(std::size_t) override {
    element();
    levels_.push_back({true, 0});
    objects_.emplace_back();
    return true;
  }
  bool key(json::string_t& key) override {
    ObjectKeys& object = objects_.back();
    if (object.seen.insert(key).second) {
      object.last = key;
      return true;
    }
    repeated_field = field_path(key);
    repeated_at = *read_to_;
    return false;
  }
  bool end_object() override {
    levels_.pop_back();
    objects_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    element();
    levels_.push_back({false, 0});
    return true;
  }
  bool end_array() override {
    levels_.pop_back();
    return true;
  }
  // Malformed text: json::parse reports it, with its byte.
  bool parse_error(std::size_t, const std::string&, const json::exception&) override { return false; }

 private:
  struct Level {
    bool is_object;
    std::size_t elements;  // arrays: how many have started
  };
  struct ObjectKeys {
    std::set<std::string, std::less<>> seen;
    std::string last;
  };

  bool element() {
    if (!levels_.empty() && !levels_.back().is_object) ++levels_.back().elements;
    return true;
  }

  /// The path of `key` in the innermost open object.
  std::string field_path(const std::string& key) const {
    std::string path;
    std::size_t object = 0;
    for (std::size_t i = 0; i + 1 < levels_.size(); ++i) {
      if (levels_[i].is_object) {
        if (!path.empty()) path += '.';
        path += objects_[object++].last;
      } else {
        path += '[';
        path += std::to_string(levels_[i].elements - 1);
        path += ']';
      }
    }
    if (!path.empty()) path += '.';
    return path += key;
  }

  const char* const* read_to_;
  std::vector<Level> levels_;
  std::vector<ObjectKeys> objects_;
};

/// Throws InputError naming the field and line of the first key repeated within one object.
void reject_repeated_keys(const std::string& text, const std::string& source) {
  const char* read_to = text.data();
  RepeatedKeyFinder finder(&read_to);
  const char* const end = text.data() + text.size();
  try {
    json::sax_parse(TrackedChar(text.data(), &read_to), TrackedChar(end, &read_to), &finder);
  } catch (const json::exception&) {
    return;  // json::parse meets the same text next and says what is wrong with it
  }
  if (!finder.repeated_field) return;
  const auto line = 1 + std::count(text.data(), finder.repeated_at, '\n');
  fail(source, *finder.repeated_field, "appears twice in one object; the repeat is on line " + std::to_string(line));
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

/// A non-empty printable string: an asset, benchmark or regime name.
std::string as_name(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_string()) fail(source, field, "must be a string");
  const std::string& name = v.get_ref<const std::string&>();
  if (name.empty()) fail(source, field, "must not be empty");
  if (!is_printable_name(name)) fail(source, field, quoted_for_message(name) + " holds a control character");
  return name;
}

/// `obj[key]` as a number; missing or null: `fallback`.
std::optional<double> optional_number(const json& obj, const std::string& key, const std::string& source,
                                      const std::string& where, std::optional<double> fallback = std::nullopt) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  return as_number(*it, source, where + "." + key);
}

/// `obj[key]` as a whole number in [0, INT_MAX]; missing or null: 0.
int optional_count(const json& obj, const std::string& key, const std::string& source, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return 0;
  const double x = as_number(*it, source, where + "." + key);
  if (!(x >= 0.0 && x <= INT_MAX && x == std::floor(x)))
    fail(source, where + "." + key, "must be a whole number in 0.." + std::to_string(INT_MAX));
  return static_cast<int>(x);
}

std::string optional_string(const json& obj, const std::string& key, const std::string& source,
                            const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) fail(source, where + "." + key, "must be a string");
  const std::string& text = it->get_ref<const std::string&>();
  if (!is_printable_name(text)) fail(source, where + "." + key, quoted_for_message(text) + " holds a control character");
  return text;
}

BetaEstimates betas_from_json(const json& b, const std::string& source, const std::string& where,
                              std::size_t num_regimes) {
  if (!b.is_object()) fail(source, where, "must be an object of beta estimates");
  require_known_keys(b, kBetaKeys, source, where);
  BetaEstimates e;
  e.ols = *optional_number(b, "ols", source, where, 0.0);
  e.ols_se = *optional_number(b, "ols_se", source, where, 0.0);
  e.ols_r2 = optional_number(b, "ols_r2", source, where);
  e.ewma = optional_number(b, "ewma", source, where);
  e.kalman = optional_number(b, "kalman", source, where);
  if (auto r = b.find("regime"); r != b.end() && !r->is_null())
    e.regime = as_vector(*r, source, where + ".regime", num_regimes);
  e.regime_weighted = optional_number(b, "regime_weighted", source, where);
  return e;
}

CalibrationInfo calibration_from_json(const json& c, const std::string& source) {
  const std::string where = "calibration";
  if (!c.is_object()) fail(source, where, "must be an object");
  require_known_keys(c, kCalibrationKeys, source, where);
  CalibrationInfo info;
  info.loglik = *optional_number(c, "loglik", source, where, 0.0);
  info.aic = *optional_number(c, "aic", source, where, 0.0);
  info.bic = *optional_number(c, "bic", source, where, 0.0);
  info.iterations = optional_count(c, "iterations", source, where);
  if (auto it = c.find("converged"); it != c.end() && !it->is_null()) {
    if (!it->is_boolean()) fail(source, where + ".converged", "must be true or false");
    info.converged = it->get<bool>();
  }
  info.nobs = optional_count(c, "nobs", source, where);
  info.start = optional_string(c, "start", source, where);
  info.end = optional_string(c, "end", source, where);
  return info;
}

/// model_from_json without the last-resort mapping of nlohmann's exceptions.
Model read_model_fields(const json& doc, const std::string& source) {
  if (!doc.is_object()) throw InputError(source + ": not a JSON object");
  require_known_keys(doc, kModelKeys, source, "");
  Model m;
  const json& format = require(doc, "format", source, "");
  if (!format.is_string() || format.get_ref<const std::string&>() != "betahedge.model/1")
    fail(source, "format", "must be \"betahedge.model/1\"");

  const json& assets = require(doc, "assets", source, "");
  if (!assets.is_array() || assets.empty()) fail(source, "assets", "must be a non-empty array");
  if (assets.size() > static_cast<std::size_t>(kMaxAssets))
    fail(source, "assets", "has " + std::to_string(assets.size()) + " assets, at most " + std::to_string(kMaxAssets));
  for (std::size_t i = 0; i < assets.size(); ++i)
    m.assets.push_back(as_name(assets[i], source, "assets[" + std::to_string(i) + "]"));
  const std::size_t n = m.assets.size();

  m.benchmark = as_name(require(doc, "benchmark", source, ""), source, "benchmark");
  if (auto it = doc.find("step"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>() != "1d") fail(source, "step", "must be \"1d\"");
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
    require_known_keys(r, kRegimeKeys, source, where);
    Regime regime;
    if (auto it = r.find("name"); it != r.end() && !it->is_null()) regime.name = as_name(*it, source, where + ".name");
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

  if (auto it = doc.find("betas"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) fail(source, "betas", "must be an object of asset: beta estimates");
    for (auto b = it->begin(); b != it->end(); ++b) {
      const std::string where = "betas." + b.key();
      if (m.asset_index(b.key()) < 0) fail(source, where, "is not one of the model's assets");
      m.betas[b.key()] = betas_from_json(*b, source, where, k_count);
    }
  }
  if (auto it = doc.find("calibration"); it != doc.end() && !it->is_null())
    m.calibration = calibration_from_json(*it, source);
  validate_model(m, source);
  return m;
}

}  // namespace

Model model_from_json(const json& doc, const std::string& source) {
  try {
    return read_model_fields(doc, source);
  } catch (const json::exception& e) {
    // Every field is type-checked before it is read; this is the net under that rule.
    throw InputError(source + ": not a valid model: " + json_error_text(e));
  }
}

Model parse_model_json(const std::string& text, const std::string& source) {
  // Before the DOM is built, so that the two never hold memory at once.
  reject_repeated_keys(text, source);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(source + ": invalid JSON at byte " + std::to_string(e.byte));
  } catch (const json::exception& e) {
    // out_of_range.406: a number such as 1e400 overflows a double while parsing.
    throw InputError(source + ": invalid JSON: " + json_error_text(e));
  }
  return model_from_json(doc, source);
}

void validate_model(const Model& m, const std::string& source) {
  const int n = m.num_assets();
  const int k_count = m.num_regimes();
  if (n < 1 || n > kMaxAssets) fail(source, "assets", "must hold 1.." + std::to_string(kMaxAssets) + " assets");
  if (k_count < 1 || k_count > kMaxRegimes)
    fail(source, "regimes", "must hold 1.." + std::to_string(kMaxRegimes) + " regimes");
  for (int i = 0; i < n; ++i) {
    const std::string field = "assets[" + std::to_string(i) + "]";
    if (m.assets[i].empty()) fail(source, field, "must not be empty");
    if (!is_printable_name(m.assets[i])) fail(source, field, quoted_for_message(m.assets[i]) + " holds a control character");
  }
  if (m.asset_index(m.benchmark) < 0) fail(source, "benchmark", quoted_for_message(m.benchmark) + " is not one of the assets");
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < i; ++j)
      if (m.assets[i] == m.assets[j]) fail(source, "assets", quoted_for_message(m.assets[i]) + " appears twice");
  if (static_cast<int>(m.spot.size()) != n) fail(source, "spot", "must give one price per asset");
  for (int i = 0; i < n; ++i)
    if (!(m.spot[i] > 0.0 && m.spot[i] <= kMaxModelSpot))
      fail(source, "spot." + m.assets[i], "must be in (0, 1e12], got " + number_text(m.spot[i]));

  for (int k = 0; k < k_count; ++k) {
    const Regime& r = m.regimes[k];
    const std::string where = "regimes[" + std::to_string(k) + "] (" + clip_for_message(r.name) + ")";
    if (!is_printable_name(r.name)) fail(source, where + ".name", "holds a control character");
    if (static_cast<int>(r.mean.size()) != n || static_cast<int>(r.vol.size()) != n ||
        static_cast<int>(r.corr.size()) != n * n)
      fail(source, where, "shapes do not match the " + std::to_string(n) + " assets");
    for (int i = 0; i < n; ++i) {
      // Per step (daily) decimal log returns: a vol above 1 (100% a day) is a unit mistake.
      if (!(r.vol[i] > 0.0 && r.vol[i] <= kMaxModelVol))
        fail(source, where + ".vol[" + std::to_string(i) + "]",
             "must be in (0, 1] (a daily vol, decimal: 0.03 = 3%), got " + number_text(r.vol[i]));
      if (!(std::abs(r.mean[i]) <= kMaxModelAbsMean))
        fail(source, where + ".mean[" + std::to_string(i) + "]",
             "must be in [-1, 1] (a daily mean log return, decimal), got " + number_text(r.mean[i]));
    }
    for (int i = 0; i < n * n; ++i)
      if (!std::isfinite(r.corr[i])) fail(source, where + ".corr", "entries must be finite");
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
      if (!(*r.dof > kMinModelDof && *r.dof <= kMaxModelDof))
        fail(source, where + ".dof", "must be in (2, 1e6] (finite variance), got " + number_text(*r.dof));
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

  auto check_finite = [&](const std::optional<double>& v, const std::string& field) {
    if (v && !std::isfinite(*v)) fail(source, field, "must be finite");
  };
  for (const auto& [symbol, b] : m.betas) {
    const std::string where = "betas." + symbol;
    check_finite(b.ols, where + ".ols");
    check_finite(b.ols_se, where + ".ols_se");
    check_finite(b.ols_r2, where + ".ols_r2");
    check_finite(b.ewma, where + ".ewma");
    check_finite(b.kalman, where + ".kalman");
    check_finite(b.regime_weighted, where + ".regime_weighted");
    for (std::size_t k = 0; k < b.regime.size(); ++k) check_finite(b.regime[k], where + ".regime[" + std::to_string(k) + "]");
  }
}

Model load_model(const std::filesystem::path& path) {
  return parse_model_json(read_input_file(path, "model file", kMaxModelBytes), path.string());
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
                     {"kalman", opt(b.kalman)},
                     // An absent per-regime beta is null: [] would not read back (one entry per regime).
                     {"regime", b.regime.empty() ? json(nullptr) : json(b.regime)},
                     {"regime_weighted", opt(b.regime_weighted)}};
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
