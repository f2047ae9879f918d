#include "report/summary_json.hpp"

#include <cmath>

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

/// Per level, 1 - hedged ES / unhedged ES: what the hedge does to the tail, beside the
/// effectiveness, which measures variance only (null where the unhedged ES is not positive).
json es_reduction(const ScenarioResult& s) {
  json out = json::object();
  for (std::size_t l = 0; l < s.hedged.tails.size() && l < s.unhedged.tails.size(); ++l) {
    const double u = s.unhedged.tails[l].es;
    out[s.hedged.tails[l].level.key] = u > 0.0 ? json(1.0 - s.hedged.tails[l].es / u) : json(nullptr);
  }
  return out;
}

/// The Euler ES contribution of the leg named `name` (null when the run has none per leg).
json leg_es_contribution(const ScenarioRun& run, const std::string& name) {
  if (!run.contributions) return nullptr;
  for (const ComponentContribution& c : run.contributions->components)
    if (c.name == name) return c.es;
  return nullptr;
}

}  // namespace

json summary_to_json(const RiskReport& report) {
  const RunMetadata& r = report.run;
  json doc;
  doc["format"] = "betahedge.summary/1";
  doc["run"] = {{"paths", r.paths},         {"steps", r.steps},   {"horizon_days", r.horizon_days},
                {"seed", r.seed},           {"backend", r.backend}, {"device", r.device},
                {"ranks", r.ranks},         {"elapsed_s", r.elapsed_s}, {"path_steps_per_s", r.path_steps_per_s},
                {"drift", r.drift}};
  json holdings = json::array();
  for (const HoldingSummary& h : report.portfolio.holdings)
    holdings.push_back({{"asset", h.asset}, {"units", h.units}, {"spot", h.spot}, {"value", h.value},
                        {"weight", h.weight}, {"beta", h.beta}});
  doc["portfolio"] = {{"value", report.portfolio.value}, {"beta", report.portfolio.beta},
                      {"assets", report.portfolio.assets}, {"beta_estimate", report.portfolio.beta_estimate},
                      {"holdings", holdings}};
  if (!report.hedge_terms.is_null()) doc["hedge"] = report.hedge_terms;
  if (!report.leg_names.empty()) doc["legs"] = report.leg_names;
  json scenarios = json::array();
  for (const ScenarioRun& run : report.scenarios) {
    const ScenarioResult& s = run.result;
    json collateral = json::object();
    for (const auto& [p, c] : s.margin.collateral_for_call_probability) collateral[p] = c;
    const MarginResult& m = s.margin;
    const BetaResult& b = s.beta;
    scenarios.push_back(
        {{"name", s.name},
         {"kind", "monte_carlo"},
         {"unhedged", statistics_to_json(s.unhedged)},
         {"hedged", statistics_to_json(s.hedged)},
         {"hedge_effectiveness", s.hedge_effectiveness},
         {"hedge_effectiveness_se", s.hedge_effectiveness_se},
         {"es_reduction", es_reduction(s)},
         {"margin",
          {{"collateral", m.collateral},
           {"collateral_rule", report.collateral.rule},
           {"call_probability", m.call_probability},
           {"call_probability_se", m.call_probability_se},
           {"liquidation_probability", m.liquidation_probability},
           {"mean_first_call_day", m.mean_first_call_day ? json(*m.mean_first_call_day) : json(nullptr)},
           {"collateral_for_call_probability", collateral}}},
         {"beta",
          {{"target", b.target},
           {"start", b.start},
           {"mean_abs_deviation", b.mean_abs_deviation},
           {"mean_rebalances", b.mean_rebalances},
           {"mean_costs", b.mean_costs}}},
         {"applied", run.applied}});
    // A hedge of several legs: each leg's figures, and each margin account's beside the book's.
    if (!run.legs.empty()) {
      json legs = json::array();
      for (const LegResult& l : run.legs)
        legs.push_back({{"name", l.name},
                        {"mean_pnl", l.mean_pnl},
                        {"stdev_pnl", l.stdev_pnl},
                        {"mean_costs", l.mean_costs},
                        {"mean_funding", l.mean_funding},
                        {"pnl_es_contribution", leg_es_contribution(run, l.name)}});
      scenarios.back()["legs"] = legs;
      json accounts = json::array();
      for (const AccountResult& a : run.accounts) {
        json collateral_for = json::object();
        for (const auto& [p, c] : a.collateral_for_call_probability) collateral_for[p] = c;
        accounts.push_back({{"name", a.name},
                            {"legs", a.legs},
                            {"collateral", a.collateral},
                            {"call_probability", a.call_probability},
                            {"call_probability_se", a.call_probability_se},
                            {"collateral_for_call_probability", collateral_for}});
      }
      scenarios.back()["margin"]["accounts"] = accounts;
    }
    // SPEC 6 `horizons`: the same paths' figures at each of risk.horizons_days, keyed by day.
    json horizons = json::object();
    for (const HorizonResult& at : run.horizons) {
      const ScenarioResult& hs = at.result;
      horizons[std::to_string(at.days)] = {
          {"unhedged", statistics_to_json(hs.unhedged)},
          {"hedged", statistics_to_json(hs.hedged)},
          {"hedge_effectiveness", hs.hedge_effectiveness},
          {"hedge_effectiveness_se", hs.hedge_effectiveness_se},
          {"margin",
           {{"call_probability", hs.margin.call_probability},
            {"call_probability_se", hs.margin.call_probability_se},
            {"liquidation_probability", hs.margin.liquidation_probability}}}};
    }
    scenarios.back()["horizons"] = horizons;
    // SPEC 6 `contributions`: the Euler allocation of the hedged ES and VaR, per component.
    if (run.contributions) {
      json es = json::object(), var = json::object(), standalone = json::object(), marginal = json::object();
      for (const ComponentContribution& c : run.contributions->components) {
        es[c.name] = c.es;
        var[c.name] = c.var;
        standalone[c.name] = c.standalone_es;
        marginal[c.name] = c.marginal_es ? json(*c.marginal_es) : json(nullptr);
      }
      scenarios.back()["contributions"] = {{"level", run.contributions->level.key},
                                           {"es", es},
                                           {"var", var},
                                           {"standalone_es", standalone},
                                           {"marginal_es", marginal}};
    }
    if (run.vector_optimization) {
      // SPEC 6 `optimal_hedge_vector`: ratios in leg order. A standard error the variance cannot
      // give (legs collinear: no one minimiser) is null.
      const HedgeVectorOptimization& v = *run.vector_optimization;
      const auto finite_or_null = [](const std::vector<double>& x) {
        json out = json::array();
        for (double e : x) out.push_back(std::isfinite(e) ? json(e) : json(nullptr));
        return out;
      };
      json min_es = json::object(), es_at = json::object();
      for (const auto& [level, ratios] : v.min_es) min_es[level] = ratios;
      for (const auto& [level, es] : v.es_at_min_es) es_at[level] = es;
      static const char* const kSystem[] = {"regular", "ill_conditioned", "singular"};
      scenarios.back()["optimal_hedge_vector"] = {
          {"legs", v.legs},
          {"min_variance", v.min_variance},
          {"min_variance_se", finite_or_null(v.min_variance_se)},
          {"stdev_at_min_variance", v.stdev_at_min_variance},
          {"min_es", min_es},
          {"es_at_min_es", es_at},
          {"margin_constrained", v.margin_constrained ? json(*v.margin_constrained) : json(nullptr)},
          {"margin_constrained_scale", v.margin_constrained ? json(v.margin_constrained_scale) : json(nullptr)},
          {"call_probability_at_min_variance",
           v.call_probability_at_min_variance ? json(*v.call_probability_at_min_variance) : json(nullptr)},
          {"range", {{"lower", v.lower}, {"upper", v.upper}}},
          {"es_paths", v.es_paths},
          {"system", kSystem[static_cast<int>(v.system)]}};
    }
    if (run.optimization) {
      const OptimalRatios& o = run.optimization->optimal;
      json min_es = json::object();
      for (const auto& [level, ratio] : o.min_es) min_es[level] = ratio;
      scenarios.back()["optimal_hedge_ratio"] = {
          {"min_variance", o.min_variance},
          {"min_es", min_es},
          {"margin_constrained", o.margin_constrained ? json(*o.margin_constrained) : json(nullptr)}};
    }
  }
  // SPEC 6 replay scenarios, after the Monte Carlo ones: one path's figures and its daily path.
  for (const ReplayRun& r : report.replays) {
    const PathOutcome& o = r.outcome;
    json path = json::array();
    for (const ReplayDay& d : r.path)
      path.push_back({{"date", d.date},
                      {"day", d.day},
                      {"pnl_unhedged", d.pnl_unhedged},
                      {"pnl_hedged", d.pnl_hedged},
                      {"equity", d.equity}});
    const int call_day = r.first_call_day();
    scenarios.push_back(
        {{"name", r.name},
         {"kind", "replay"},
         {"replay",
          {{"from", r.window.from},
           {"to", r.window.to},
           {"days", r.days},
           {"first_date", r.path.front().date},
           {"last_date", r.path.back().date},
           {"regimes", r.regime_names}}},
         {"unhedged", {{"pnl", o.pnl_unhedged}}},
         {"hedged", {{"pnl", o.pnl_hedged}}},
         {"margin",
          {{"collateral", r.collateral},
           {"collateral_rule", report.collateral.rule},
           {"called", r.called()},
           {"first_call_day", r.called() ? json(call_day) : json(nullptr)},
           {"first_call_date", r.called() ? json(r.path[call_day].date) : json(nullptr)},
           {"liquidated", o.liquidated != 0.0},
           {"min_equity", o.min_equity},
           {"collateral_without_call", o.collateral_shortfall}}},
         {"beta", {{"mean_abs_deviation", o.beta_deviation}, {"rebalances", o.rebalances}, {"costs", o.costs}}},
         {"applied", {{"funding_multiplier", r.funding_multiplier}}},
         {"path", path}});
  }
  doc["scenarios"] = scenarios;
  doc["warnings"] = report.warnings;
  if (!report.bands.empty()) {
    // SPEC 6 `bands`: the recommended (target, band) pair, the rule that chose it, and every pair.
    json rows = json::array();
    json recommended = nullptr;
    for (const BandRow& b : report.bands) {
      rows.push_back({{"target_beta", b.target_beta},
                      {"band", b.band},
                      {"mean_abs_deviation", b.mean_abs_deviation},
                      {"mean_rebalances", b.mean_rebalances},
                      {"mean_costs", b.mean_costs},
                      {"hedged", statistics_to_json(b.hedged)},
                      {"call_probability", b.call_probability},
                      {"within_tolerance", b.within_tolerance},
                      {"within_call_limit", b.within_call_limit},
                      {"on_frontier", b.on_frontier},
                      {"recommended", b.recommended}});
      if (b.recommended) recommended = {{"target_beta", b.target_beta}, {"band", b.band}};
    }
    doc["bands"] = {{"recommended", recommended}, {"rule", report.band_rule}, {"rows", rows}};
  }
  return doc;
}

}  // namespace betahedge
