#include "engine/risk_engine.hpp"

namespace betahedge {

ScenarioResult evaluate_scenario(const std::string& name, PathBackend& backend, const SimulationTables& tables,
                                 const SimulationConfig& simulation, const RiskConfig& risk) {
  backend.simulate(tables, simulation.paths, simulation.batch_size);
  ScenarioResult r;
  r.name = name;
  r.unhedged = estimate_pnl_statistics(*backend.sorted_losses(OutcomeField::pnl_unhedged), risk.levels);
  r.hedged = estimate_pnl_statistics(*backend.sorted_losses(OutcomeField::pnl_hedged), risk.levels);
  const double var_unhedged = r.unhedged.stdev * r.unhedged.stdev;
  r.hedge_effectiveness = var_unhedged > 0.0 ? 1.0 - r.hedged.stdev * r.hedged.stdev / var_unhedged : 0.0;
  return r;
}

}  // namespace betahedge
