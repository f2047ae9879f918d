// The BH_HD path code on one CPU thread: one market step, and one whole 30-day path, for the
// synthetic crypto model at several asset counts.
#include <benchmark/benchmark.h>

#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"

namespace betahedge {
namespace {

SimulationTables tables_for(int assets, int regimes, Distribution dist = Distribution::gaussian) {
  const Model model = make_synthetic_model(assets, regimes, dist);
  PortfolioSetup portfolio;
  portfolio.holdings.assign(assets, 1.0);
  portfolio.value = 100.0 * assets;
  SimulationConfig sim;
  sim.horizon_days = 30;
  return build_simulation_tables(model, portfolio, sim);
}

template <int kCapacity>
void BM_MarketStep(benchmark::State& state) {
  const int assets = static_cast<int>(state.range(0));
  const SimulationTables tables = tables_for(assets, 2);
  const SimulationView view = tables.view(tables.data.data());
  PhiloxStream gen(1, 0);
  RandomDraws<PhiloxStream> draws(gen);
  double log_price[kCapacity] = {};
  for (auto _ : state) {
    market_step<kCapacity>(view.market, 1, draws, log_price);
    benchmark::DoNotOptimize(log_price);
  }
  state.SetItemsProcessed(state.iterations() * assets);  // asset-steps
}
BENCHMARK(BM_MarketStep<4>)->Arg(3);
BENCHMARK(BM_MarketStep<8>)->Arg(8);
BENCHMARK(BM_MarketStep<64>)->Arg(32);

template <int kCapacity>
void BM_SimulatePath(benchmark::State& state) {
  const int assets = static_cast<int>(state.range(0));
  const SimulationTables tables = tables_for(assets, 2, state.range(1) ? Distribution::student_t : Distribution::gaussian);
  const SimulationView view = tables.view(tables.data.data());
  std::uint64_t path = 0;
  for (auto _ : state) {
    PhiloxStream gen(42, path++);
    benchmark::DoNotOptimize(simulate_path<kCapacity>(view, gen));
  }
  state.SetItemsProcessed(state.iterations() * view.market.num_days);  // path-steps
}
BENCHMARK(BM_SimulatePath<4>)->Args({3, 0});
BENCHMARK(BM_SimulatePath<8>)->Args({8, 0});
BENCHMARK(BM_SimulatePath<8>)->Args({8, 1});

}  // namespace
}  // namespace betahedge

BENCHMARK_MAIN();
