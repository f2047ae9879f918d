#pragma once
/// Plain data handed to the path code. Pointers refer to one flat parameter buffer that lives
/// in host memory for the CPU backend and in device memory for the CUDA backend.
#include <cstdint>

namespace betahedge {

/// The market model as the path code needs it, per simulation step of length dt = 1/steps_per_day days.
struct MarketView {
  int num_assets = 0;
  int num_regimes = 0;
  int num_days = 0;
  int steps_per_day = 1;
  bool student_t = false;
  const double* drift = nullptr;           ///< [regime][asset]: mean * dt (log-return per step)
  const double* shock_factor = nullptr;    ///< [regime][asset][asset], lower: sqrt(dt) diag(vol) chol(corr)
  const double* dof = nullptr;             ///< [regime]: Student-t degrees of freedom (unused for gaussian)
  const double* transition_cdf = nullptr;  ///< [regime][regime]: cumulative rows of the daily transition matrix
  const double* initial_cdf = nullptr;     ///< [regime]: cumulative initial regime distribution
  const double* spot = nullptr;            ///< [asset]: price at t0
};

struct PortfolioView {
  const double* holdings = nullptr;  ///< [asset]: units held (negative = short), 0 for assets not held
  double initial_value = 0.0;        ///< V0 = sum holdings x spot
};

struct SimulationView {
  MarketView market;
  PortfolioView portfolio;
  std::uint64_t seed = 0;
};

/// What one path leaves behind for the statistics (base currency).
struct PathOutcome {
  double pnl_unhedged = 0.0;  ///< V_T - V_0
  double pnl_hedged = 0.0;    ///< portfolio plus hedge account, all costs inside
};

/// Structure-of-arrays storage for PathOutcome, indexed by path id.
struct OutcomeColumns {
  double* pnl_unhedged = nullptr;
  double* pnl_hedged = nullptr;
};

}  // namespace betahedge
