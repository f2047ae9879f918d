#include "scenario/stress.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "betahedge/error.hpp"
#include "io/message_text.hpp"
#include "model/model_json.hpp"
#include "scenario/nearest_correlation.hpp"

namespace betahedge {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Names the failing field of one stress: "FILE:LINE: stress[i].FIELD: what" when the book
/// recorded its lines, "FILE: stress[i].FIELD: what" otherwise.
class StressErrors {
 public:
  StressErrors(const std::string& source, int index, const BookConfig* book = nullptr)
      : source_(source), field_("stress[" + std::to_string(index) + "]"), book_(book) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw InputError(location(field_ + "." + field) + ": " + what);
  }
  std::string prefix() const { return location(field_); }

 private:
  std::string location(const std::string& field) const {
    return book_ ? book_location(*book_, field) : source_ + ": " + field;
  }
  std::string source_;
  std::string field_;
  const BookConfig* book_;
};

std::vector<std::string> regime_names(const Model& model) {
  std::vector<std::string> names;
  for (const Regime& r : model.regimes) names.push_back(r.name);
  return names;
}

int require_asset(const Model& model, const std::string& symbol, const StressErrors& errors,
                  const std::string& field) {
  const int i = model.asset_index(symbol);
  if (i < 0) errors.fail(field, "'" + symbol + "' is not an asset of the model (" + comma_separated(model.assets) + ")");
  return i;
}

Eigen::MatrixXd corr_matrix(const Regime& regime, int n) {
  return Eigen::Map<const RowMajorMatrix>(regime.corr.data(), n, n);
}

void store_corr(Regime& regime, const Eigen::MatrixXd& c) {
  Eigen::Map<RowMajorMatrix>(regime.corr.data(), c.rows(), c.cols()) = c;
}

/// Resolved correlation_set: (row, column, rho) with row != column.
struct PairSetting {
  int i;
  int j;
  double rho;
};

std::vector<PairSetting> resolve_pairs(const Model& model, const StressScenario& stress,
                                       const StressErrors& errors) {
  std::vector<PairSetting> pairs;
  std::set<std::pair<int, int>> seen;
  for (const auto& [symbols, rho] : stress.correlation_set) {
    const std::string field = "correlation_set." + symbols.first + "," + symbols.second;
    const int i = require_asset(model, symbols.first, errors, field);
    const int j = require_asset(model, symbols.second, errors, field);
    if (i == j) errors.fail(field, "names " + symbols.first + " twice; a correlation needs two different assets");
    if (!(rho >= -1.0 && rho <= 1.0)) errors.fail(field, "must be a correlation in [-1, 1]");
    // "A,B" and "B,A" set the same entry: two values would leave the result to list order.
    if (!seen.insert({std::min(i, j), std::max(i, j)}).second) errors.fail(field, "sets a pair that is already set");
    pairs.push_back({i, j, rho});
  }
  return pairs;
}

void stress_correlations(AppliedScenario& out, const StressScenario& stress, const StressErrors& errors) {
  Model& model = out.model;
  const int n = model.num_assets();
  if (stress.correlation_blend && !(*stress.correlation_blend >= 0.0 && *stress.correlation_blend <= 1.0))
    errors.fail("correlation_blend", "must be in [0, 1]");
  const std::vector<PairSetting> pairs = resolve_pairs(model, stress, errors);

  out.repair_distance.assign(model.num_regimes(), 0.0);
  for (int k = 0; k < model.num_regimes(); ++k) {
    Regime& regime = model.regimes[k];
    Eigen::MatrixXd c = corr_matrix(regime, n);
    if (stress.correlation_blend) c = blend_correlation(c, *stress.correlation_blend);
    for (const PairSetting& p : pairs) c(p.i, p.j) = c(p.j, p.i) = p.rho;
    const NearestCorrelationResult repaired = [&] {
      try {
        return repair_correlation(c);
      } catch (const NumericalError& e) {
        throw NumericalError(errors.prefix() + " (" + stress.name + "): regime " + regime.name + ": " + e.what());
      }
    }();
    store_corr(regime, repaired.corr);
    out.repair_distance[k] = repaired.distance;
  }
}

}  // namespace

AppliedScenario base_scenario(const Model& model) {
  AppliedScenario out;
  out.name = "base";
  out.model = model;
  out.shock_log_return.assign(model.num_assets(), 0.0);
  out.repair_distance.assign(model.num_regimes(), 0.0);
  return out;
}

namespace {

AppliedScenario stressed_scenario(const Model& base, const StressScenario& stress, const StressErrors& errors) {
  AppliedScenario out = base_scenario(base);
  out.name = stress.name;
  Model& model = out.model;

  stress_correlations(out, stress, errors);

  if (stress.vol_multiplier) {
    const double m = *stress.vol_multiplier;
    if (!(m > 0.0 && std::isfinite(m))) errors.fail("vol_multiplier", "must be positive and finite");
    for (Regime& regime : model.regimes)
      for (double& v : regime.vol) v *= m;
  }

  if (stress.force_regime) {
    const std::vector<std::string> names = regime_names(model);
    const auto it = std::find(names.begin(), names.end(), *stress.force_regime);
    if (it == names.end())
      errors.fail("force_regime", "'" + *stress.force_regime + "' is not a regime of the model (" + comma_separated(names) + ")");
    const int k = static_cast<int>(it - names.begin());
    std::vector<double> only_k(model.num_regimes(), 0.0);
    only_k[k] = 1.0;
    model.initial_probabilities = only_k;
    for (auto& row : model.transition) row = only_k;
    out.forced_regime = k;
  }

  std::vector<bool> shocked(model.num_assets(), false);
  for (const auto& [symbol, simple_return] : stress.shock) {
    const std::string field = "shock." + symbol;
    const int i = require_asset(model, symbol, errors, field);
    if (!(simple_return > -1.0 && std::isfinite(simple_return)))
      errors.fail(field, "must be a simple return above -1 (a price cannot fall to zero or below)");
    if (shocked[i]) errors.fail(field, "is given twice");
    shocked[i] = true;
    out.shock_log_return[i] = std::log1p(simple_return);
  }

  if (stress.funding_multiplier) {
    if (!std::isfinite(*stress.funding_multiplier)) errors.fail("funding_multiplier", "must be finite");
    out.funding_multiplier = *stress.funding_multiplier;
  }

  validate_model(model, errors.prefix() + " (" + stress.name + ")");
  return out;
}

}  // namespace

AppliedScenario apply_stress(const Model& base, const StressScenario& stress, const std::string& source,
                             int index) {
  return stressed_scenario(base, stress, StressErrors(source, index));
}

AppliedScenario apply_stress(const Model& base, const BookConfig& book, int index) {
  return stressed_scenario(base, book.stress.at(static_cast<std::size_t>(index)),
                           StressErrors(book.source.string(), index, &book));
}

nlohmann::json applied_to_json(const AppliedScenario& applied) {
  const Model& model = applied.model;
  const int n = model.num_assets();
  nlohmann::json corr = nlohmann::json::array();
  nlohmann::json vol = nlohmann::json::array();
  for (const Regime& regime : model.regimes) {
    nlohmann::json rows = nlohmann::json::array();
    for (int i = 0; i < n; ++i)
      rows.push_back(std::vector<double>(regime.corr.begin() + i * n, regime.corr.begin() + (i + 1) * n));
    corr.push_back(std::move(rows));
    vol.push_back(regime.vol);
  }
  nlohmann::json shock = nlohmann::json::object();
  for (int i = 0; i < n; ++i)
    if (applied.shock_log_return[i] != 0.0) shock[model.assets[i]] = std::expm1(applied.shock_log_return[i]);

  nlohmann::json doc;
  doc["corr"] = std::move(corr);
  doc["vol"] = std::move(vol);
  doc["repair_distance"] =
      applied.repair_distance.empty() ? 0.0
                                      : *std::max_element(applied.repair_distance.begin(), applied.repair_distance.end());
  doc["repair_distance_by_regime"] = applied.repair_distance;
  doc["shock"] = std::move(shock);
  doc["funding_multiplier"] = applied.funding_multiplier;
  doc["forced_regime"] =
      applied.forced_regime ? nlohmann::json(model.regimes[*applied.forced_regime].name) : nlohmann::json(nullptr);
  return doc;
}

}  // namespace betahedge
