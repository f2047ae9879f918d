// betahedge run: the overnight job. Calibrate (or load) the model, simulate the base scenario
// and every stress, optimise the hedge ratio per scenario, sweep the bands, write the tables
// and render report.html; the output directory appears complete or not at all.
#include <algorithm>
#include <filesystem>
#include <optional>

#include "calibration/calibrate.hpp"
#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "config/run_config.hpp"
#include "market/prices_csv.hpp"
#include "market/returns.hpp"
#include "io/atomic_write.hpp"
#include "model/model_json.hpp"
#include "ranks/ranks.hpp"
#include "report/finite_check.hpp"
#include "report/html_report.hpp"

namespace betahedge::cli {
namespace {

struct RunArgs {
  std::filesystem::path config;
  std::filesystem::path out;
  bool force = false;
  RunOptions run;
};

struct CalibratedModel {
  Calibration calibration;
  std::string regimes_csv;
  std::vector<std::string> notes;  ///< the return window's notes, then calibration_summary
};

CalibratedModel calibrate_for_run(const RunCalibration& c) {
  CalibrationOptions options;
  options.num_regimes = c.regimes;
  options.fit.distribution = c.student_t ? Distribution::student_t : Distribution::gaussian;
  options.fit.seed = c.seed;
  options.fit.num_starts = c.starts;
  const PriceTable table = read_prices_csv(c.prices);
  ReturnWindowOptions window;
  window.benchmark = c.benchmark;
  window.assets = c.assets;
  window.start = c.start;
  window.end = c.end;
  window.fill_forward = c.fill_forward;
  const bool benchmark_listed = std::find(c.assets.begin(), c.assets.end(), c.benchmark) != c.assets.end();
  const int num_assets = c.assets.empty() ? table.num_symbols() : static_cast<int>(c.assets.size()) + !benchmark_listed;
  window.min_returns = minimum_returns(num_assets, options);
  const ReturnData data = log_returns_on_common_window(table, window);
  CalibratedModel out{calibrate(data, options), {}, data.notes};
  out.regimes_csv = regimes_csv(out.calibration, data);
  out.notes.push_back(calibration_summary(out.calibration, data));
  return out;
}

/// The backtest block's options, with the run's calibration settings.
BacktestOptions backtest_options(const RunCalibration& c, const RunBacktest& b) {
  BacktestOptions o;
  o.benchmark = c.benchmark;
  o.num_regimes = c.regimes;
  o.distribution = c.student_t ? Distribution::student_t : Distribution::gaussian;
  o.calibration_seed = c.seed;
  o.calibration_starts = c.starts;
  o.fill_forward = c.fill_forward;
  o.window_days = b.window_days;
  o.refit_every = b.refit_every;
  o.horizon_days = b.horizon_days;
  o.from = b.from;
  o.to = b.to;
  o.paths = b.paths;
  return o;
}

/// Every file the job reads: none of them may be, or lie inside, the output directory.
std::vector<std::filesystem::path> run_inputs(const RunConfig& config, const BookConfig& book) {
  std::vector<std::filesystem::path> inputs{config.source, config.book};
  if (config.calibrate) inputs.push_back(config.calibrate->prices);
  else inputs.push_back(book.model_path);
  return inputs;
}

void run_overnight(const RunArgs& args) {
  const RunConfig config = load_run_config(args.config);
  BookConfig book = load_book(config.book);
  apply_run_options(args.run, book.simulation);
  const OutputRules rules{run_inputs(config, book), "betahedge run", args.force};
  ranks::run_on_root([&] { check_output_directory(args.out, rules); });
  const auto say = [&](const std::string& line) { progress(args.run, "run: " + line); };

  // Rank 0 calibrates and sends the model as model.json text, which every rank (rank 0 too, and
  // a process of one) reads back: the same model everywhere by construction.
  std::optional<CalibratedModel> calibrated;  // on rank 0, for the outputs
  const Model model = [&] {
    if (!config.calibrate) return load_model(book.model_path);
    const std::string model_text = ranks::bytes_from_root([&] {
      say("calibrating from " + config.calibrate->prices.string());
      calibrated = calibrate_for_run(*config.calibrate);
      for (const std::string& note : calibrated->notes) say(note);
      return model_to_json(calibrated->calibration.model).dump();
    });
    return parse_model_json(model_text, "the model calibrated from " + config.calibrate->prices.string());
  }();
  const JobStages stages{.stresses = true, .optimize = true, .bands = book.hedge.hedged(),
                         .histogram = true};
  // Replay stresses replay the calibration's prices (read on every rank, as each runs them).
  std::optional<PriceTable> prices;
  if (config.calibrate && std::any_of(book.stress.begin(), book.stress.end(),
                                      [](const StressScenario& s) { return s.replay.has_value(); }))
    prices = read_prices_csv(config.calibrate->prices);
  if (config.backtest) {
    // A backtest: block that cannot run fails now, not after the risk job.
    if (!prices) prices = read_prices_csv(config.calibrate->prices);
    check_backtest_inputs(*prices, book, backtest_options(*config.calibrate, *config.backtest));
  }
  RiskReport report = run_risk_job(model, book, stages, say, prices ? &*prices : nullptr);
  // The walk forward over the calibration's prices: how the model's forecasts held up.
  std::optional<BacktestRun> backtest;
  std::optional<BacktestEvaluation> backtest_tests;
  if (config.backtest) {
    backtest = run_backtest(*prices, book, backtest_options(*config.calibrate, *config.backtest), say);
    backtest_tests = evaluate_backtest(*backtest);
  }
  if (calibrated) {
    std::vector<std::string> warnings = calibration_warnings(calibrated->calibration);
    // The model's short regimes are the job's warnings already; the calibration adds its choice of K.
    for (const std::string& w : report.warnings)
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    report.warnings = std::move(warnings);
  }

  ranks::run_on_root([&] {
    const nlohmann::json model_json = calibrated ? calibration_to_json(calibrated->calibration) : model_to_json(model);
    require_finite_json(model_json, "model.json");
    std::vector<OutputFile> files{{"model.json", model_json.dump(2) + "\n"}};
    if (calibrated) {
      require_finite_csv(calibrated->regimes_csv, "regimes.csv");
      files.push_back({"regimes.csv", calibrated->regimes_csv});
    }
    for (OutputFile& f : risk_output_files(report, book, stages)) files.push_back(std::move(f));
    if (backtest)
      for (OutputFile& f : backtest_output_files(*backtest, *backtest_tests)) files.push_back(std::move(f));
    write_directory_atomically(args.out, rules, [&](const std::filesystem::path& dir) {
      write_output_files(dir, files);
      if (config.report) {
        say("rendering report.html");
        render_html_report(dir, args.out);
      }
    });
    print_warnings(report.warnings);
    if (backtest_tests) print_warnings(backtest_tests->warnings);
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
  cmd->callback([args, &action] { action = [args] { run_overnight(*args); }; });
}

}  // namespace betahedge::cli
