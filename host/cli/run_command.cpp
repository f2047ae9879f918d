// betahedge run: the overnight job (host/pipeline) written to an output directory with
// report.html; the directory appears complete or not at all.
#include <filesystem>
#include <iostream>
#include <memory>

#include "backtest/backtest_evaluation.hpp"
#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "config/run_config.hpp"
#include "io/atomic_write.hpp"
#include "pipeline/overnight_job.hpp"
#include "ranks/ranks.hpp"
#include "report/html_report.hpp"

namespace betahedge::cli {
namespace {

struct RunArgs {
  std::filesystem::path config;
  std::filesystem::path out;
  bool force = false;
  RunOptions run;
};

/// Every file the job reads: none of them may be, or lie inside, the output directory.
std::vector<std::filesystem::path> run_inputs(const RunConfig& config, const BookConfig& book) {
  std::vector<std::filesystem::path> inputs{config.source, config.book};
  if (config.calibrate) inputs.push_back(config.calibrate->prices);
  else inputs.push_back(book.model_path);
  return inputs;
}

void run_overnight(const RunArgs& args) {
  const RunConfig config = load_run_config(args.config);
  BookConfig book = load_run_book(config);
  apply_run_options(args.run, book.simulation);
  const OutputRules rules{run_inputs(config, book), "betahedge run", args.force};
  ranks::run_on_root([&] { check_output_directory(args.out, rules); });
  const auto say = [&](const std::string& line) { progress(args.run, "run: " + line); };

  const OvernightJob job = run_overnight_job(config, book, say);
  ranks::run_on_root([&] {
    const std::vector<OutputFile> files = overnight_output_files(job, book);
    write_directory_atomically(args.out, rules, [&](const std::filesystem::path& dir) {
      write_output_files(dir, files);
      if (config.report) {
        say("rendering report.html");
        render_html_report(dir, args.out);
      }
    });
    // The backtest's verdict on stdout, as `betahedge backtest` prints it: its rejections are
    // what a run's reader must not miss.
    if (job.backtest_tests)
      for (const std::string& line : backtest_result_lines(*job.backtest_tests)) std::cout << line << "\n";
    print_warnings(job.report.warnings);
    if (job.backtest_tests) print_warnings(job.backtest_tests->warnings);
  });
  say("wrote " + args.out.string());
}

}  // namespace

void add_run_command(CLI::App& app, CommandAction& action) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "the overnight job: calibrate, base and stresses, optimise, bands, report");
  cmd->add_option("--config", args->config, "run.yaml")->required();
  add_output_options(*cmd, args->out, args->force);
  add_run_options(*cmd, args->run);
  cmd->footer("--paths and --horizon-days are the risk job's; run.yaml's backtest: block has its own (backtest.paths, "
              "default 100000 a date; backtest.horizon_days, default 1). --seed, --backend, --threads and "
              "--batch-size apply to both (docs/backtest.md).");
  cmd->callback([args, &action] { action = [args] { run_overnight(*args); }; });
}

}  // namespace betahedge::cli
