#pragma once
/// `betahedge calibrate` as a function: log returns in, the model of model.json out, with
/// every beta estimate and the regime probabilities of regimes.csv.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "betahedge/model_types.hpp"
#include "calibration/regime_model.hpp"
#include "market/returns.hpp"

namespace betahedge {

struct CalibrationOptions {
  std::optional<int> num_regimes = 2;  ///< none: choose K in 1..kMaxAutoRegimes by BIC
  RegimeFitOptions fit;                ///< num_regimes and volatility_column are set per fit
  double ewma_lambda = 0.94;
  int rolling_window = 60;
  bool accept_unconverged = false;     ///< write a model whose EM hit the iteration cap
};

inline constexpr int kMaxAutoRegimes = 4;

/// One candidate of the regime-count choice.
struct ModelSelectionRow {
  int num_regimes = 0;
  int num_parameters = 0;
  double loglik = 0.0;
  double aic = 0.0;
  double bic = 0.0;
  bool converged = false;
  int iterations = 0;
};

/// Beta details beyond model.json's BetaEstimates, written as extra keys of `betas`.
struct BetaDetail {
  double ols_alpha = 0.0;
  std::optional<double> rolling;       ///< last rolling-window OLS beta
  double kalman_beta_variance = 0.0;   ///< Q of the random-walk beta, per step
  double kalman_noise_variance = 0.0;  ///< R
  double kalman_loglik = 0.0;
};

struct Calibration {
  Model model;
  RegimeFit fit;                             ///< the chosen fit, regimes calmest first
  std::vector<ModelSelectionRow> selection;  ///< every K fitted, ascending
  std::map<std::string, BetaDetail> beta_details;
  CalibrationOptions options;
  std::string source;
};

/// Regime names by count: calm / stressed for two, calm / normal / stressed for three, ...
/// The most volatile regime is always "stressed" when K >= 2.
std::vector<std::string> regime_names(int num_regimes);

/// Fewest returns a calibration with these options accepts for `num_assets` assets: more
/// than the regime model's free parameters (for `auto`, those of one regime), and at least 10.
int minimum_returns(int num_assets, const CalibrationOptions& options);

/// Fits betas and the regime model. Throws NumericalError with a hint when the regime model
/// fails or (unless accept_unconverged) does not converge.
Calibration calibrate(const ReturnData& data, const CalibrationOptions& options);

/// Regimes expected to last under this many days (1 / (1 - p_kk)) are flagged: paths then
/// switch regimes so often that the regimes' figures mean little.
inline constexpr double kShortRegimeDays = 3.0;

/// One warning per regime of `model` whose expected duration 1 / (1 - p_kk) days is under
/// kShortRegimeDays (SPEC 6 `warnings`).
std::vector<std::string> short_regime_warnings(const Model& model);

/// Student-t regimes with dof at or under this are flagged: their fourth moment is infinite
/// (dof <= 4), and near the fitter's floor of 2.05 their variance all but so.
inline constexpr double kHeavyTailDof = 3.0;

/// One warning per Student-t regime of `model` with dof <= kHeavyTailDof (SPEC 6 `warnings`).
std::vector<std::string> heavy_tail_warnings(const Model& model);

/// One line on what was fitted: regimes and distribution, assets x returns and their dates,
/// the log-likelihood and BIC, the EM's iterations and starts, and each regime's expected
/// duration 1 / (1 - p_kk) days with today's probability of it.
std::string calibration_summary(const Calibration& calibration, const ReturnData& data);

/// The calibration's warnings: `auto` choosing a regime count at the bottom or top of the range
/// it tried (SPEC 6 `warnings`), then short_regime_warnings and heavy_tail_warnings of the
/// calibrated model.
std::vector<std::string> calibration_warnings(const Calibration& calibration);

/// model.json: model_to_json plus the calibration's extra keys (model selection, options,
/// beta details). Every key of SPEC 4 keeps its meaning.
nlohmann::json calibration_to_json(const Calibration& calibration);

/// regimes.csv: `date`, then `filtered_<name>`, `smoothed_<name>` per regime, one row per return.
std::string regimes_csv(const Calibration& calibration, const ReturnData& data);

}  // namespace betahedge
