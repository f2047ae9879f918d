#include "pipeline/overnight_job.hpp"

#include <algorithm>

#include "market/returns.hpp"
#include "model/model_json.hpp"
#include "ranks/ranks.hpp"
#include "report/finite_check.hpp"

namespace betahedge {
namespace {

/// The name of run.yaml's calibrated model in messages (it has no file until the run writes it).
std::string calibrated_model_name(const RunConfig& config) {
  return "the model calibrated from " + config.calibrate->prices.string();
}

}  // namespace

CalibratedModel calibrate_from_prices(const PriceTable& table, const RunCalibration& c) {
  CalibrationOptions options;
  options.num_regimes = c.regimes;
  options.fit.distribution = c.student_t ? Distribution::student_t : Distribution::gaussian;
  options.fit.seed = c.seed;
  options.fit.num_starts = c.starts;
  ReturnWindowOptions window;
  window.benchmark = c.benchmark;
  window.assets = c.assets;
  window.start = c.start;
  window.end = c.end;
  window.fill_forward = c.fill_forward;
  window.fill_forward_setting = c.fill_forward_setting;
  const bool benchmark_listed = std::find(c.assets.begin(), c.assets.end(), c.benchmark) != c.assets.end();
  const int num_assets = c.assets.empty() ? table.num_symbols() : static_cast<int>(c.assets.size()) + !benchmark_listed;
  window.min_returns = minimum_returns(num_assets, options);
  const ReturnData data = log_returns_on_common_window(table, window);
  CalibratedModel out{calibrate(data, options), {}, data.notes};
  out.regimes_csv = regimes_csv(out.calibration, data);
  out.notes.push_back(calibration_summary(out.calibration, data));
  return out;
}

BacktestOptions backtest_options(const RunCalibration& c, const RunBacktest& b) {
  BacktestOptions o;
  o.benchmark = c.benchmark;
  o.num_regimes = c.regimes;
  o.distribution = c.student_t ? Distribution::student_t : Distribution::gaussian;
  o.calibration_seed = c.seed;
  o.calibration_starts = c.starts;
  o.fill_forward = c.fill_forward;
  o.fill_forward_setting = c.fill_forward_setting;
  o.window_days = b.window_days;
  o.refit_every = b.refit_every;
  o.horizon_days = b.horizon_days;
  o.from = b.from;
  o.to = b.to;
  o.paths = b.paths;
  o.names.config = b.config.empty() ? std::string("run.yaml") : b.config;
  o.names.block_line = b.block_line;
  o.names.lines = b.lines;
  return o;
}

BookConfig load_run_book(const RunConfig& config) {
  if (!config.calibrate) return load_book(config.book);
  BookConfig book = load_book(config.book, ModelKey::optional);
  book.model_path = calibrated_model_name(config);
  return book;
}

OvernightJob run_overnight_job(const RunConfig& config, const BookConfig& book, const ProgressFn& say,
                               const BatchCheck& between_batches) {
  OvernightJob job;
  // Replay stresses and the backtest read the calibration's prices (on every rank, as each runs them).
  std::optional<PriceTable> prices;
  const bool replays = std::any_of(book.stress.begin(), book.stress.end(),
                                   [](const StressScenario& s) { return s.replay.has_value(); });
  if (config.calibrate && (replays || config.backtest)) prices = read_prices_csv(config.calibrate->prices);
  std::optional<BacktestOptions> backtest;
  if (config.backtest) {
    backtest = backtest_options(*config.calibrate, *config.backtest);
    check_backtest_inputs(*prices, book, *backtest);  // fails now, before the calibration and the risk job
  }
  job.model = [&] {
    if (!config.calibrate) return load_model(book.model_path);
    const std::string model_text = ranks::bytes_from_root([&] {
      say("calibrating from " + config.calibrate->prices.string());
      job.calibrated = calibrate_from_prices(read_prices_csv(config.calibrate->prices), *config.calibrate);
      for (const std::string& note : job.calibrated->notes) say(note);
      return model_to_json(job.calibrated->calibration.model).dump();
    });
    return parse_model_json(model_text, calibrated_model_name(config));
  }();
  job.stages = {.stresses = true, .optimize = true, .bands = book.hedge.hedged(), .histogram = true};
  job.report = run_risk_job(job.model, book, job.stages, say, prices ? &*prices : nullptr, between_batches);
  // The walk forward over the calibration's prices: how the model's forecasts held up.
  if (backtest) {
    // Backtests are out of sample by design: the walk forward reads the whole prices file, each
    // date fitting only the window before it, whatever calibrate.start/end bound the run's model to.
    const RunCalibration& c = *config.calibrate;
    if ((c.start || c.end) && !(config.backtest->from && config.backtest->to))
      say("backtest: the test period is every date of " + c.prices.string() +
          " with a full window before it and horizon after it, not calibrate.start/end (those bound the run's "
          "model only; backtest.from/to bound the test period)");
    job.backtest = run_backtest(*prices, book, *backtest, say, between_batches);
    job.backtest_tests = evaluate_backtest(*job.backtest);
  }
  if (job.calibrated) {
    std::vector<std::string> warnings = calibration_warnings(job.calibrated->calibration);
    // The model's short regimes are the job's warnings already; the calibration adds its choice of K.
    for (const std::string& w : job.report.warnings)
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    job.report.warnings = std::move(warnings);
  }
  return job;
}

std::vector<OutputFile> overnight_output_files(const OvernightJob& job, const BookConfig& book) {
  const nlohmann::json model_json =
      job.calibrated ? calibration_to_json(job.calibrated->calibration) : model_to_json(job.model);
  require_finite_json(model_json, "model.json");
  std::vector<OutputFile> files{{"model.json", model_json.dump(2) + "\n"}};
  if (job.calibrated) {
    require_finite_csv(job.calibrated->regimes_csv, "regimes.csv");
    files.push_back({"regimes.csv", job.calibrated->regimes_csv});
  }
  for (OutputFile& f : risk_output_files(job.report, book, job.stages)) files.push_back(std::move(f));
  if (job.backtest)
    for (OutputFile& f : backtest_output_files(*job.backtest, *job.backtest_tests)) files.push_back(std::move(f));
  return files;
}

}  // namespace betahedge
