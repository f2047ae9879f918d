#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "config/simulation_limits.hpp"
#include "engine/backend_select.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"

namespace betahedge::cli {
namespace {

struct BenchArgs {
  std::uint64_t paths = 1000000;
  int assets = 8;
  int regimes = 2;
  int horizon_days = 30;
  int repeats = 3;
  std::string backend = "auto";
  int threads = 0;
  bool unhedged = false;
};

/// Throughput of the path simulation on the synthetic model (SPEC 8's case by default: every
/// asset held, a dynamic perpetual hedge on A0 with fees, funding and a margin account): the
/// best of `repeats` timed runs after one warm-up, in path-steps and asset-steps per second.
void run_bench(const BenchArgs& a) {
  const Model model = make_synthetic_model(a.assets, a.regimes);
  BookConfig book;
  for (const std::string& symbol : model.assets) book.holdings.emplace_back(symbol, 1.0);
  if (!a.unhedged) {
    HedgeLegConfig perpetual;
    perpetual.instrument = HedgeInstrument::perpetual;
    perpetual.fee_bps = 2.0;
    perpetual.slippage_bps = 5.0;
    perpetual.funding_rate_8h = {0.0001};
    book.hedge.legs = {perpetual};
    book.hedge.mode = HedgeMode::dynamic;
    book.hedge.target_beta = 0.0;
    book.hedge.band = 0.05;
    book.margin.collateral = 10.0 * a.assets;
  }
  book.simulation.paths = a.paths;
  book.simulation.horizon_days = a.horizon_days;
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book);
  SelectedBackend selected = select_backend(parse_backend_choice(a.backend, "--backend"), a.threads);
  PathBackend& backend = *selected.backend;
  // The paths alone: each batch's columns are handed back and dropped, no statistics.
  const auto simulate = [&](std::uint64_t paths) {
    backend.run(tables, PathProgram::outcomes, {0, paths}, 0, [](const OutcomeBatch&) {});
  };
  simulate(std::min<std::uint64_t>(a.paths, 10000));  // warm-up
  double best = 1e300;
  for (int r = 0; r < a.repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    simulate(a.paths);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double path_steps = static_cast<double>(a.paths) * a.horizon_days;
  // Through std::cout, which only rank 0 prints (main.cpp): under mpirun each rank measures its own device.
  char line[256];
  std::cout << "backend: " << backend.name() << " (" << backend.device_name() << ")\n";
  std::snprintf(line, sizeof line, "paths: %llu  steps: %d  assets: %d  regimes: %d  hedge: %s\n",
                static_cast<unsigned long long>(a.paths), a.horizon_days, a.assets, a.regimes,
                a.unhedged ? "none" : "dynamic perpetual with margin");
  std::cout << line;
  std::snprintf(line, sizeof line, "best of %d: %.4f s  path_steps_per_s: %.4g  asset_steps_per_s: %.4g\n", a.repeats,
                best, path_steps / best, path_steps * a.assets / best);
  std::cout << line;
}

}  // namespace

void add_bench_command(CLI::App& app, CommandAction& action) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "throughput in path-steps per second");
  cmd->add_option("--paths", args->paths, "paths per timed run (2..2^40)")->check(whole_number())->check(CLI::Range(kMinPaths, kMaxPaths));
  cmd->add_option("--assets", args->assets, "assets in the synthetic model")->check(CLI::Range(1, 64));
  cmd->add_option("--regimes", args->regimes, "regimes in the synthetic model")->check(CLI::Range(1, 8));
  cmd->add_option("--horizon-days", args->horizon_days, "daily steps per path")->check(CLI::Range(1, 3650));
  cmd->add_option("--repeats", args->repeats, "timed runs (the best is reported)")->check(CLI::Range(1, 100));
  cmd->add_option("--backend", args->backend, "auto | cuda | cpu")->check(CLI::IsMember({"auto", "cuda", "cpu"}));
  cmd->add_option("--threads", args->threads, "CPU threads (0 = all cores; at most 1024)")->check(whole_number())->check(CLI::Range(0, kMaxThreads));
  cmd->add_flag("--unhedged", args->unhedged, "simulate the portfolio alone (no hedge, no margin)");
  cmd->callback([args, &action] { action = [args] { run_bench(*args); }; });
}

}  // namespace betahedge::cli
