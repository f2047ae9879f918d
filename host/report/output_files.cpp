#include "report/output_files.hpp"

#include <algorithm>

#include "io/atomic_write.hpp"
#include "report/backtest_files.hpp"
#include "report/finite_check.hpp"
#include "report/summary_json.hpp"
#include "report/tables_csv.hpp"

namespace betahedge {

std::vector<OutputFile> risk_output_files(const RiskReport& report, const BookConfig& book, const JobStages& stages) {
  const nlohmann::json summary = summary_to_json(report);
  require_finite_json(summary, "summary.json");
  std::vector<OutputFile> files{{"summary.json", summary.dump(2) + "\n"}};
  if (stages.stresses) files.push_back({"stress.csv", stress_csv(report, book.risk)});
  if (std::any_of(report.scenarios.begin(), report.scenarios.end(), [](const ScenarioRun& s) { return s.contributions; }))
    files.push_back({"contributions.csv", contributions_csv(report)});
  if (stages.optimize && book.hedge.legs.size() > 1)
    files.push_back({"hedge_surface.csv", hedge_surface_csv(report, book.risk)});
  else if (stages.optimize)
    files.push_back({"hedge_ratio_curve.csv", hedge_ratio_curve_csv(report, book.risk)});
  if (stages.bands) files.push_back({"bands.csv", bands_csv(report, book.risk)});
  if (report.histogram) files.push_back({"pnl_distribution.csv", pnl_distribution_csv(*report.histogram)});
  if (!report.replays.empty()) files.push_back({"replay_paths.csv", replay_paths_csv(report)});
  for (const OutputFile& f : files)
    if (f.name.ends_with(".csv")) require_finite_csv(f.contents, f.name);
  return files;
}

std::vector<OutputFile> backtest_output_files(const BacktestRun& run, const BacktestEvaluation& evaluation) {
  const nlohmann::json json = backtest_json(run, evaluation);
  require_finite_json(json, "backtest.json");
  const std::string csv = backtest_csv(run, evaluation);
  require_finite_csv(csv, "backtest.csv");
  return {{"backtest.json", json.dump(2) + "\n"}, {"backtest.csv", csv}};
}

void write_output_files(const std::filesystem::path& dir, const std::vector<OutputFile>& files) {
  for (const OutputFile& f : files) write_file_atomically(dir / f.name, f.contents);
}

}  // namespace betahedge
