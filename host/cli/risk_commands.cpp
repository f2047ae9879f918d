// simulate, stress, optimize and bands: one book, one model, the stages each asks for.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "engine/risk_job.hpp"
#include "io/atomic_write.hpp"
#include "market/prices_csv.hpp"
#include "model/model_json.hpp"
#include "ranks/ranks.hpp"
#include "report/output_files.hpp"

namespace betahedge::cli {

void print_warnings(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) std::cerr << "warning: " << w << "\n";
}

namespace {

struct RiskArgs {
  std::filesystem::path config;
  std::optional<std::filesystem::path> model;
  std::filesystem::path out;
  std::optional<std::filesystem::path> prices;  ///< for replay stresses
  bool force = false;
  RunOptions run;
};

void run_risk_command(const std::string& name, const RiskArgs& args, const JobStages& stages) {
  // With --model the book need not name one; --model replaces the book's model: everywhere,
  // messages included.
  BookConfig book = load_book(args.config, args.model ? ModelKey::optional : ModelKey::required);
  apply_run_options(args.run, book.simulation);
  if (args.model) book.model_path = *args.model;
  const std::filesystem::path& model_path = book.model_path;
  // A bad --out fails now, not after the simulation. Rank 0 alone writes, so it alone checks.
  std::vector<std::filesystem::path> inputs{args.config, model_path};
  if (args.prices) inputs.push_back(*args.prices);
  const OutputRules rules{inputs, "betahedge " + name, args.force};
  ranks::run_on_root([&] { check_output_directory(args.out, rules); });
  const Model model = load_model(model_path);
  // The replay stresses' history (read on every rank, as each runs the replays).
  std::optional<PriceTable> prices;
  if (args.prices) prices = read_prices_csv(*args.prices);
  const RiskReport report =
      run_risk_job(model, book, stages, [&](const std::string& line) { progress(args.run, name + ": " + line); },
                   prices ? &*prices : nullptr);
  ranks::run_on_root([&] {
    const std::vector<OutputFile> files = risk_output_files(report, book, stages);
    write_directory_atomically(args.out, rules, [&](const std::filesystem::path& dir) { write_output_files(dir, files); });
    print_warnings(report.warnings);
    if (stages.bands)
      for (const BandRow& b : report.bands)
        if (b.recommended) {
          std::cout << "recommended pair: target_beta " << b.target_beta << ", band " << b.band;
          const BandChoice choice = band_choice(report.bands);
          if (choice == BandChoice::least_deviation)
            std::cout << " (none qualified: no pair is within risk.tracking_tolerance " << book.risk.tracking_tolerance
                      << "; this one tracks best)";
          else if (choice == BandChoice::least_calls)
            std::cout << " (none qualified: no pair within risk.tracking_tolerance " << book.risk.tracking_tolerance
                      << " has call probability <= " << book.risk.max_call_probability << "; this one is called least)";
          std::cout << "\nrule: " << report.band_rule << "\n";
        }
  });
  progress(args.run, name + ": wrote " + args.out.string());
}

void add_risk_command(CLI::App& app, CommandAction& action, const std::string& name, const std::string& help,
                      JobStages stages) {
  auto args = std::make_shared<RiskArgs>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("--config", args->config, "book.yaml")->required();
  cmd->add_option("--model", args->model, "model.json (default: the book's model:)");
  add_output_options(*cmd, args->out, args->force);
  add_run_options(*cmd, args->run);
  if (stages.stresses)
    cmd->add_option("--prices", args->prices, "prices CSV whose history the book's replay stresses replay");
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
