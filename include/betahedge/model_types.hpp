#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace betahedge {

enum class Distribution { gaussian, student_t };

/// One regime of the model: per-step (daily) log-return means and vols, decimal.
struct Regime {
  std::string name;
  std::vector<double> mean;             ///< [num_assets], per step
  std::vector<double> vol;              ///< [num_assets], per step, > 0
  std::vector<double> corr;             ///< [num_assets * num_assets], row-major, SPD
  std::optional<double> dof;            ///< Student-t degrees of freedom (> 2), or none
};

/// Betas of one asset to the benchmark (model.json `betas`).
struct BetaEstimates {
  double ols = 0.0;
  double ols_se = 0.0;
  std::optional<double> ols_r2;
  std::optional<double> ewma;
  std::optional<double> kalman;
  std::vector<double> regime;             ///< model-implied beta per regime
  std::optional<double> regime_weighted;  ///< weighted by initial_probabilities
};

struct CalibrationInfo {
  double loglik = 0.0;
  double aic = 0.0;
  double bic = 0.0;
  int iterations = 0;
  bool converged = false;
  int nobs = 0;
  std::string start;
  std::string end;
};

/// The regime-switching model of model.json (SPEC 4), as loaded and validated.
struct Model {
  std::vector<std::string> assets;
  std::string benchmark;
  std::string step = "1d";
  Distribution distribution = Distribution::gaussian;
  std::vector<Regime> regimes;                     ///< calmest first
  std::vector<std::vector<double>> transition;     ///< [i][j] = P(j tomorrow | i today)
  std::vector<double> initial_probabilities;       ///< regime distribution today
  std::vector<double> spot;                        ///< [num_assets], aligned with assets
  std::map<std::string, BetaEstimates> betas;
  std::optional<CalibrationInfo> calibration;

  int num_assets() const { return static_cast<int>(assets.size()); }
  int num_regimes() const { return static_cast<int>(regimes.size()); }
  /// Index of an asset, or -1.
  int asset_index(const std::string& symbol) const {
    for (int i = 0; i < num_assets(); ++i)
      if (assets[i] == symbol) return i;
    return -1;
  }
};

inline constexpr int kMaxAssets = 64;
inline constexpr int kMaxRegimes = 8;

}  // namespace betahedge
