#include <chrono>
#include <filesystem>
#include <optional>

#include "betahedge/error.hpp"
#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "config/book_config.hpp"
#include "engine/backend_select.hpp"
#include "engine/risk_engine.hpp"
#include "engine/simulation_setup.hpp"
#include "model/model_json.hpp"
#include "report/atomic_write.hpp"
#include "report/summary_json.hpp"

namespace betahedge::cli {
namespace {

struct SimulateArgs {
  std::filesystem::path config;
  std::optional<std::filesystem::path> model;
  std::filesystem::path out;
  RunOptions run;
};

void run_simulate(const SimulateArgs& args) {
  BookConfig book = load_book(args.config);
  apply_run_options(args.run, book.simulation);
  const Model model = load_model(args.model ? *args.model : book.model_path);
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book);
  SelectedBackend selected = select_backend(book.simulation.backend, book.simulation.threads);
  PathBackend& backend = *selected.backend;
  const int steps = book.simulation.horizon_days * book.simulation.steps_per_day;
  progress(args.run, "simulate: " + std::to_string(book.simulation.paths) + " paths x " + std::to_string(steps) +
                         " steps on " + backend.name() + " (" + backend.device_name() + ")" +
                         (selected.note.empty() ? "" : "; " + selected.note));

  const auto start = std::chrono::steady_clock::now();
  RiskReport report;
  report.scenarios.push_back(evaluate_scenario("base", backend, tables, book));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  report.run = {book.simulation.paths, steps, book.simulation.horizon_days, book.simulation.seed, backend.name(),
                backend.device_name(), 1, elapsed,
                static_cast<double>(book.simulation.paths) * steps / std::max(elapsed, 1e-9)};
  report.portfolio.value = portfolio.value;
  report.portfolio.beta = portfolio.beta;
  for (const auto& [symbol, units] : book.holdings) report.portfolio.assets.push_back(symbol);

  write_directory_atomically(args.out, [&](const std::filesystem::path& dir) {
    write_file_atomically(dir / "summary.json", summary_to_json(report).dump(2) + "\n");
  });
  progress(args.run, "simulate: done in " + std::to_string(elapsed) + " s; wrote " + (args.out / "summary.json").string());
}

}  // namespace

void add_simulate_command(CLI::App& app, CommandAction& action) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* cmd = app.add_subcommand("simulate", "base scenario: hedged and unhedged risk");
  cmd->add_option("--config", args->config, "book.yaml")->required();
  cmd->add_option("--model", args->model, "model.json (default: the book's model:)");
  cmd->add_option("--out", args->out, "output directory (written completely or not at all)")->required();
  add_run_options(*cmd, args->run);
  cmd->callback([args, &action] { action = [args] { run_simulate(*args); }; });
}

}  // namespace betahedge::cli
