#pragma once
/// The overnight job (`betahedge run`, `betahedge.run`) top to bottom: calibrate (or load) the
/// model, run the risk job (base, stresses, optimiser, bands), backtest when asked, and the files
/// that result. The CLI writes them; the Python package returns them.
#include <optional>
#include <string>
#include <vector>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/walk_forward.hpp"
#include "calibration/calibrate.hpp"
#include "config/book_config.hpp"
#include "config/run_config.hpp"
#include "engine/risk_job.hpp"
#include "market/prices_csv.hpp"
#include "report/output_files.hpp"

namespace betahedge {

/// A calibration and what is written beside it.
struct CalibratedModel {
  Calibration calibration;
  std::string regimes_csv;
  std::vector<std::string> notes;  ///< the return window's notes, then calibration_summary
};

/// run.yaml's calibrate: block on a price table: its window, assets and fit options.
CalibratedModel calibrate_from_prices(const PriceTable& table, const RunCalibration& c);

/// run.yaml's backtest: block's options, with the run's calibration settings.
BacktestOptions backtest_options(const RunCalibration& c, const RunBacktest& b);

struct OvernightJob {
  Model model;
  /// When run.yaml calibrates: on rank 0 only (the other ranks read the model rank 0 sent).
  std::optional<CalibratedModel> calibrated;
  JobStages stages;
  RiskReport report;  ///< its warnings: the calibration's, then the job's
  std::optional<BacktestRun> backtest;
  std::optional<BacktestEvaluation> backtest_tests;
};

/// run.yaml's book. With a calibrate: block the run makes its own model: the book's model: may
/// be left out, and messages about the model name the calibration's prices.
BookConfig load_run_book(const RunConfig& config);

/// Runs the job of `config` on `book` (the run's book, command-line overrides applied). Rank 0
/// calibrates and sends the model as model.json text, which every rank reads back. A backtest:
/// block that cannot run fails before the risk job. `between_batches` as for run_risk_job.
OvernightJob run_overnight_job(const RunConfig& config, const BookConfig& book, const ProgressFn& say,
                               const BatchCheck& between_batches = {});

/// model.json (and regimes.csv when calibrated), summary.json and the tables, and backtest.json
/// and backtest.csv: on rank 0, which holds the calibration.
std::vector<OutputFile> overnight_output_files(const OvernightJob& job, const BookConfig& book);

}  // namespace betahedge
