#pragma once
#include "betahedge/model_types.hpp"

namespace betahedge {

/// A valid crypto-like model for benchmarks and tests: asset 0 is the benchmark "A0" with
/// daily vol 3% calm / 6% stressed, the others more volatile and correlated 0.6 / 0.85 with
/// equicorrelation; calm -> stressed 3% a day, back 10%. Spot 100 for every asset.
Model make_synthetic_model(int num_assets, int num_regimes, Distribution distribution = Distribution::gaussian);

}  // namespace betahedge
