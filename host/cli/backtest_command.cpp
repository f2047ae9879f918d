// betahedge backtest: the walk forward of host/backtest, its tests, backtest.csv, backtest.json
// and report.html; the output directory appears complete or not at all.
#include <filesystem>
#include <memory>
#include <optional>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/walk_forward.hpp"
#include "betahedge/error.hpp"
#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "io/atomic_write.hpp"
#include "ranks/ranks.hpp"
#include "report/output_files.hpp"
#include "report/html_report.hpp"

namespace betahedge::cli {

std::optional<int> parse_regime_count(const std::string& text, const std::string& option) {
  if (text == "auto") return std::nullopt;
  if (text.size() == 1 && text[0] >= '1' && text[0] <= '8') return text[0] - '0';
  throw InputError(option + ": '" + text + "' is not a regime count 1..8 or auto");
}

namespace {

struct BacktestArgs {
  std::filesystem::path prices;
  std::filesystem::path config;
  std::filesystem::path out;
  std::string benchmark;
  std::string fill;
  std::string regimes = "2";
  std::string dist = "gaussian";
  int window_days = kDefaultBacktestWindowDays;
  int refit_every = kDefaultBacktestRefitEvery;
  std::optional<std::string> from, to;
  bool no_report = false;
  bool force = false;
  RunOptions run;
};

void run_backtest_command(const BacktestArgs& args) {
  BookConfig book = load_book(args.config, ModelKey::optional);  // each date's model is fitted
  // --paths and --horizon-days are the backtest's own (per date, and the forecast horizon), not
  // the book's simulation block; the seed, backend, threads and batch size apply as anywhere.
  RunOptions simulation_options = args.run;
  simulation_options.paths.reset();
  simulation_options.horizon_days.reset();
  apply_run_options(simulation_options, book.simulation);
  BacktestOptions options;
  options.benchmark = args.benchmark;
  options.fill_forward = args.fill == "forward";
  options.num_regimes = parse_regime_count(args.regimes, "--regimes");
  options.distribution = args.dist == "student-t" ? Distribution::student_t : Distribution::gaussian;
  options.window_days = args.window_days;
  options.refit_every = args.refit_every;
  options.horizon_days = args.run.horizon_days.value_or(kDefaultBacktestHorizonDays);
  options.from = args.from;
  options.to = args.to;
  options.paths = args.run.paths.value_or(kDefaultBacktestPaths);

  const OutputRules rules{{args.config, args.prices}, "betahedge backtest", args.force};
  ranks::run_on_root([&] { check_output_directory(args.out, rules); });
  const PriceTable prices = read_prices_csv(args.prices);
  const BacktestRun run =
      run_backtest(prices, book, options, [&](const std::string& line) { progress(args.run, line); });
  const BacktestEvaluation evaluation = evaluate_backtest(run);
  ranks::run_on_root([&] {
    const std::vector<OutputFile> files = backtest_output_files(run, evaluation);
    write_directory_atomically(args.out, rules, [&](const std::filesystem::path& dir) {
      write_output_files(dir, files);
      if (!args.no_report) {
        progress(args.run, "backtest: rendering report.html");
        render_html_report(dir, args.out);
      }
    });
    for (const std::string& line : backtest_result_lines(evaluation)) std::cout << line << "\n";
    print_warnings(evaluation.warnings);
  });
  progress(args.run, "backtest: wrote " + args.out.string());
}

}  // namespace

void add_backtest_command(CLI::App& app, CommandAction& action) {
  auto args = std::make_shared<BacktestArgs>();
  CLI::App* cmd = app.add_subcommand("backtest", "walk-forward test of the book's VaR/ES forecasts on a price history");
  cmd->add_option("--prices", args->prices, "prices CSV: date,<SYM>,... (SPEC 4)")->required();
  cmd->add_option("--config", args->config, "book.yaml (its model: is not read: each date's model is fitted)")
      ->required();
  cmd->add_option("--benchmark", args->benchmark, "the model's benchmark, whose volatility orders the regimes (default: the book's "
                  "hedge.benchmark; the hedge stays on that; docs/backtest.md)");
  cmd->add_option("--fill", args->fill,
                  "fill empty cells: forward (repeat the previous close; without it a gap stops the backtest)")
      ->check(CLI::IsMember({"forward"}));
  cmd->add_option("--regimes", args->regimes, "number of regimes 1..8, or auto (BIC at every refit)")
      ->capture_default_str();
  cmd->add_option("--dist", args->dist, "emission distribution")
      ->check(CLI::IsMember({"gaussian", "student-t"}))
      ->capture_default_str();
  cmd->add_option("--window-days", args->window_days, "returns in each calibration window")
      ->check(whole_number())
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--refit-every", args->refit_every,
                  "test dates between refits (the regime probabilities are filtered every date)")
      ->check(whole_number())
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--from", args->from, "first test date (YYYY-MM-DD; default: the first with a full window)");
  cmd->add_option("--to", args->to, "last test date (YYYY-MM-DD; default: the last with a full horizon)");
  cmd->add_flag("--no-report", args->no_report, "do not render report.html");
  add_output_options(*cmd, args->out, args->force);
  add_run_options(*cmd, args->run);
  // The shared simulation options, as the backtest reads them: --paths and --horizon-days are its
  // own (with its defaults), the others the book's simulation: block unless given.
  cmd->get_option("--paths")
      ->description("paths per test date (2..2^40; not the book's simulation.paths)")
      ->default_str(std::to_string(kDefaultBacktestPaths));
  cmd->get_option("--horizon-days")
      ->description("forecast horizon in days (1..3650; not the book's simulation.horizon_days)")
      ->default_str(std::to_string(kDefaultBacktestHorizonDays));
  cmd->get_option("--seed")->description("random seed, the Philox key (0..2^63; default: the book's simulation.seed)");
  cmd->get_option("--backend")->description("auto | cuda | cpu (default: the book's simulation.backend)");
  cmd->get_option("--threads")
      ->description("CPU threads (0 = all cores; at most 1024; default: the book's simulation.threads)");
  cmd->get_option("--batch-size")
      ->description("paths per batch (0 = automatic; rounded up to a multiple of 4096; at most 2^40; default: the "
                    "book's simulation.batch_size)");
  cmd->footer("VaR and ES levels: the book's risk.levels (default 0.95, 0.99). In run.yaml: --window-days, "
              "--refit-every, --horizon-days, --from, --to and --paths sit in the backtest: block; --benchmark, "
              "--regimes, --dist and --fill in calibrate: (docs/backtest.md).");
  cmd->callback([args, &action] { action = [args] { run_backtest_command(*args); }; });
}

}  // namespace betahedge::cli
