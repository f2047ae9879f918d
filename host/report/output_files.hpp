#pragma once
/// The files of an output directory, complete in memory before anything is written: what the
/// CLI writes and the Python package returns, from the same functions.
#include <filesystem>
#include <string>
#include <vector>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/walk_forward.hpp"
#include "config/book_config.hpp"
#include "engine/risk_job.hpp"

namespace betahedge {

/// One file of an output directory.
struct OutputFile {
  std::string name;
  std::string contents;
};

/// summary.json and the tables the stages produced, every number checked finite
/// (NumericalError naming the figure otherwise).
std::vector<OutputFile> risk_output_files(const RiskReport& report, const BookConfig& book, const JobStages& stages);

/// backtest.json and backtest.csv of a walk forward, every number checked finite.
std::vector<OutputFile> backtest_output_files(const BacktestRun& run, const BacktestEvaluation& evaluation);

/// Writes each file into `dir`, atomically.
void write_output_files(const std::filesystem::path& dir, const std::vector<OutputFile>& files);

}  // namespace betahedge
