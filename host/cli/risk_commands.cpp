// simulate, stress, optimize and bands: one book, one model, the stages each asks for.
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "engine/risk_job.hpp"
#include "model/model_json.hpp"
#include "io/atomic_write.hpp"
#include "report/summary_json.hpp"
#include "report/tables_csv.hpp"

namespace betahedge::cli {

void write_risk_outputs(const std::filesystem::path& dir, const RiskReport& report, const BookConfig& book,
                        const JobStages& stages) {
  write_file_atomically(dir / "summary.json", summary_to_json(report).dump(2) + "\n");
  if (stages.stresses) write_file_atomically(dir / "stress.csv", stress_csv(report, book.risk));
  if (stages.optimize) write_file_atomically(dir / "hedge_ratio_curve.csv", hedge_ratio_curve_csv(report, book.risk));
  if (stages.bands) write_file_atomically(dir / "bands.csv", bands_csv(report, book.risk));
  if (report.histogram) write_file_atomically(dir / "pnl_distribution.csv", pnl_distribution_csv(*report.histogram));
}

namespace {

struct RiskArgs {
  std::filesystem::path config;
  std::optional<std::filesystem::path> model;
  std::filesystem::path out;
  RunOptions run;
};

void run_risk_command(const std::string& name, const RiskArgs& args, const JobStages& stages) {
  BookConfig book = load_book(args.config);
  apply_run_options(args.run, book.simulation);
  const Model model = load_model(args.model ? *args.model : book.model_path);
  const RiskReport report =
      run_risk_job(model, book, stages, [&](const std::string& line) { progress(args.run, name + ": " + line); });
  write_directory_atomically(args.out, [&](const std::filesystem::path& dir) {
    write_risk_outputs(dir, report, book, stages);
  });
  if (stages.bands)
    for (const BandRow& b : report.bands)
      if (b.recommended) std::cout << "recommended band: " << b.band << "\n";
  progress(args.run, name + ": wrote " + args.out.string());
}

void add_risk_command(CLI::App& app, CommandAction& action, const std::string& name, const std::string& help,
                      JobStages stages) {
  auto args = std::make_shared<RiskArgs>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("--config", args->config, "book.yaml")->required();
  cmd->add_option("--model", args->model, "model.json (default: the book's model:)");
  cmd->add_option("--out", args->out, "output directory (written completely or not at all)")->required();
  add_run_options(*cmd, args->run);
  cmd->callback([args, &action, name, stages] { action = [args, name, stages] { run_risk_command(name, *args, stages); }; });
}

}  // namespace

void add_simulate_command(CLI::App& app, CommandAction& action) {
  add_risk_command(app, action, "simulate", "base scenario: hedged and unhedged risk", {});
}

void add_stress_command(CLI::App& app, CommandAction& action) {
  add_risk_command(app, action, "stress", "base and every scenario of the book's stress: list (stress.csv)",
                   {.stresses = true});
}

void add_optimize_command(CLI::App& app, CommandAction& action) {
  add_risk_command(app, action, "optimize",
                   "optimal hedge ratio (min variance, min ES, margin-constrained) per scenario",
                   {.stresses = true, .optimize = true});
}

void add_bands_command(CLI::App& app, CommandAction& action) {
  add_risk_command(app, action, "bands", "target-beta band table and recommendation (bands.csv)", {.bands = true});
}

}  // namespace betahedge::cli
