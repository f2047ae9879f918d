#pragma once
/// Runs one scenario on a backend and turns the per-path outcomes into the numbers of SPEC 5.
#include <cstdint>
#include <string>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "config/book_config.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {

struct ScenarioResult {
  std::string name;
  PnlStatistics unhedged;
  PnlStatistics hedged;
  double hedge_effectiveness = 0.0;  ///< 1 - Var(hedged) / Var(unhedged) (Ederington)
};

struct RunMetadata {
  std::uint64_t paths = 0;
  int steps = 0;
  int horizon_days = 0;
  std::uint64_t seed = 0;
  std::string backend;
  std::string device;
  int ranks = 1;
  double elapsed_s = 0.0;
  double path_steps_per_s = 0.0;
};

struct PortfolioSummary {
  double value = 0.0;
  double beta = 0.0;
  std::vector<std::string> assets;
};

struct RiskReport {
  RunMetadata run;
  PortfolioSummary portfolio;
  std::vector<ScenarioResult> scenarios;
};

/// Simulates `simulation.paths` paths of `tables` on `backend` and estimates the statistics.
ScenarioResult evaluate_scenario(const std::string& name, PathBackend& backend, const SimulationTables& tables,
                                 const SimulationConfig& simulation, const RiskConfig& risk);

}  // namespace betahedge
