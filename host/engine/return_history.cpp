#include "engine/return_history.hpp"

#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "engine/simulation_setup.hpp"

namespace betahedge {

ReturnHistory simulate_return_history(const Model& model, int num_days, std::uint64_t seed) {
  PortfolioSetup no_portfolio;
  no_portfolio.holdings.assign(model.num_assets(), 0.0);
  SimulationConfig daily;
  daily.horizon_days = num_days;
  daily.steps_per_day = 1;
  daily.seed = seed;
  daily.drift = DriftRule::model;  // the model's own history: its calibrated means
  const SimulationTables tables = build_simulation_tables(model, no_portfolio, daily);
  const MarketView m = tables.view(tables.data.data()).market;

  ReturnHistory h;
  const int n = model.num_assets();
  h.log_returns.resize(num_days, n);
  h.regimes.resize(num_days);
  // The market step's tables are laid out for the path capacity of n assets (MarketView).
  with_path_capacity(n, [&](auto capacity) {
    constexpr int kCapacity = decltype(capacity)::value;
    PhiloxStream gen(seed, 0);
    RandomDraws<PhiloxStream> draws(gen);
    double log_price[kCapacity] = {};
    int regime = initial_regime(m, draws);
    for (int day = 0; day < num_days; ++day) {
      regime = next_regime(m, regime, draws);
      h.regimes[day] = regime;
      double before[kCapacity];
      for (int i = 0; i < n; ++i) before[i] = log_price[i];
      market_step<kCapacity>(m, regime, draws, log_price);
      for (int i = 0; i < n; ++i) h.log_returns(day, i) = log_price[i] - before[i];
    }
  });
  return h;
}

}  // namespace betahedge
