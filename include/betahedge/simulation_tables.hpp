#pragma once
/// Everything the path code reads, in one flat buffer of doubles, so a backend moves it with
/// one copy and rebuilds the SimulationView with its own base pointer.
#include <cstddef>
#include <vector>

#include "betahedge/path_types.hpp"

namespace betahedge {

struct SimulationTables {
  struct Offsets {
    std::size_t drift = 0, shock_factor = 0, dof = 0, transition_cdf = 0, initial_cdf = 0, spot = 0, initial_shock = 0;
    std::size_t holdings = 0, asset_beta = 0;
    /// [leg][regime] tables: leg l's row starts num_regimes x l after these.
    std::size_t funding_rate = 0, annual_basis = 0, implied_vol = 0;
    std::size_t grid_ratios = 0, sweep_bands = 0;
    std::size_t sweep_targets = 0, horizon_days = 0;
    std::size_t direction = 0;  ///< [leg]
  };
  std::vector<double> data;
  Offsets offsets;
  SimulationView scalars;  ///< scalar fields filled in, pointers null

  /// The view whose pointers refer to `base`, a copy of `data` wherever it lives.
  SimulationView view(const double* base) const {
    SimulationView v = scalars;
    v.market.drift = base + offsets.drift;
    v.market.shock_factor = base + offsets.shock_factor;
    v.market.dof = base + offsets.dof;
    v.market.transition_cdf = base + offsets.transition_cdf;
    v.market.initial_cdf = base + offsets.initial_cdf;
    v.market.spot = base + offsets.spot;
    v.market.initial_shock = base + offsets.initial_shock;
    v.portfolio.holdings = base + offsets.holdings;
    v.portfolio.asset_beta = base + offsets.asset_beta;
    const std::size_t regimes = static_cast<std::size_t>(v.market.num_regimes);
    for (int l = 0; l < v.hedge.num_legs; ++l) {
      const std::size_t row = regimes * static_cast<std::size_t>(l);
      v.hedge.legs[l].funding_rate = base + offsets.funding_rate + row;
      v.hedge.legs[l].annual_basis = base + offsets.annual_basis + row;
      v.hedge.legs[l].implied_vol = base + offsets.implied_vol + row;
    }
    v.hedge.grid_ratios = base + offsets.grid_ratios;
    v.hedge.sweep_bands = base + offsets.sweep_bands;
    v.hedge.sweep_targets = base + offsets.sweep_targets;
    v.hedge.direction = base + offsets.direction;
    v.horizons.days = base + offsets.horizon_days;
    return v;
  }
};

}  // namespace betahedge
