#pragma once
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "betahedge/model_types.hpp"

namespace betahedge {

struct ReturnHistory {
  Eigen::MatrixXd log_returns;  ///< num_days x num_assets, daily log returns
  std::vector<int> regimes;     ///< num_days, the regime of each day
};

/// One long history drawn by the engine's own path code (market_step, next_regime) on the
/// Philox subsequence 0 of `seed`: s_0 ~ initial_probabilities, s_t ~ transition[s_{t-1}],
/// r_t = mean[s_t] + vol[s_t] .* (L_{s_t} e_t). Used to test calibration by recovery.
ReturnHistory simulate_return_history(const Model& model, int num_days, std::uint64_t seed);

}  // namespace betahedge
