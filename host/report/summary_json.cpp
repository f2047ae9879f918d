#include "report/summary_json.hpp"

namespace betahedge {
namespace {

using nlohmann::json;

json statistics_to_json(const PnlStatistics& s) {
  json var = json::object(), es = json::object(), var_se = json::object(), es_se = json::object();
  for (const TailRisk& t : s.tails) {
    var[t.level.key] = t.var;
    es[t.level.key] = t.es;
    var_se[t.level.key] = t.var_se;
    es_se[t.level.key] = t.es_se;
  }
  return {{"mean", s.mean}, {"mean_se", s.mean_se}, {"stdev", s.stdev}, {"var", var},
          {"es", es},       {"var_se", var_se},     {"es_se", es_se}};
}

}  // namespace

json summary_to_json(const RiskReport& report) {
  const RunMetadata& r = report.run;
  json doc;
  doc["format"] = "betahedge.summary/1";
  doc["run"] = {{"paths", r.paths},         {"steps", r.steps},   {"horizon_days", r.horizon_days},
                {"seed", r.seed},           {"backend", r.backend}, {"device", r.device},
                {"ranks", r.ranks},         {"elapsed_s", r.elapsed_s}, {"path_steps_per_s", r.path_steps_per_s}};
  doc["portfolio"] = {{"value", report.portfolio.value}, {"beta", report.portfolio.beta},
                      {"assets", report.portfolio.assets}};
  json scenarios = json::array();
  for (const ScenarioResult& s : report.scenarios)
    scenarios.push_back({{"name", s.name},
                         {"unhedged", statistics_to_json(s.unhedged)},
                         {"hedged", statistics_to_json(s.hedged)},
                         {"hedge_effectiveness", s.hedge_effectiveness}});
  doc["scenarios"] = scenarios;
  return doc;
}

}  // namespace betahedge
