#include "report/tables_csv.hpp"

#include <charconv>
#include <sstream>

namespace betahedge {
namespace {

/// The shortest text that reads back as exactly x (0.05, not 0.050000000000000003).
std::string number(double x) {
  char buf[40];
  const auto result = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, result.ptr);
}

/// A text cell: quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string text_cell(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string level_columns(const RiskConfig& risk, const std::string& prefix) {
  std::string out;
  for (const RiskLevel& l : risk.levels) out += "," + prefix + "var_" + l.key + "," + prefix + "es_" + l.key;
  return out;
}

std::string level_values(const PnlStatistics& s) {
  std::string out;
  for (const TailRisk& t : s.tails) out += "," + number(t.var) + "," + number(t.es);
  return out;
}

}  // namespace

std::string stress_csv(const RiskReport& report, const RiskConfig& risk) {
  std::ostringstream out;
  // One row per scenario and horizon (risk.horizons_days, ascending): the collateral and the
  // optimal ratios are found at the simulated (longest) horizon only, so shorter horizons' rows
  // leave those cells empty.
  out << "scenario,horizon_days,unhedged_mean,unhedged_stdev" << level_columns(risk, "unhedged_")
      << ",hedged_mean,hedged_stdev" << level_columns(risk, "hedged_")
      << ",hedge_effectiveness,hedge_effectiveness_se,call_probability,call_probability_se,liquidation_probability,"
         "collateral_for_call_probability,min_variance_ratio";
  for (const RiskLevel& l : risk.levels) out << ",min_es_ratio_" << l.key;
  out << ",margin_constrained_ratio,repair_distance,collateral\n";
  for (const ScenarioRun& run : report.scenarios) {
    for (const HorizonResult& at : run.horizons) {
      const ScenarioResult& s = at.result;
      const bool simulated_horizon = &at == &run.horizons.back();
      out << text_cell(s.name) << "," << at.days << "," << number(s.unhedged.mean) << "," << number(s.unhedged.stdev)
          << level_values(s.unhedged) << "," << number(s.hedged.mean) << "," << number(s.hedged.stdev)
          << level_values(s.hedged) << "," << number(s.hedge_effectiveness) << "," << number(s.hedge_effectiveness_se)
          << "," << number(s.margin.call_probability) << "," << number(s.margin.call_probability_se) << ","
          << number(s.margin.liquidation_probability) << ","
          << (s.margin.collateral_for_call_probability.empty()
                  ? ""
                  : number(s.margin.collateral_for_call_probability.front().second));
      if (run.optimization && simulated_horizon) {
        const OptimalRatios& o = run.optimization->optimal;
        out << "," << number(o.min_variance);
        for (const auto& [level, ratio] : o.min_es) out << "," << number(ratio);
        out << "," << (o.margin_constrained ? number(*o.margin_constrained) : "");
      } else {
        out << "," << std::string(risk.levels.size() + 1, ',');
      }
      out << "," << number(run.applied.value("repair_distance", 0.0)) << "," << number(s.margin.collateral) << "\n";
    }
  }
  const std::string no_tails(2 * risk.levels.size(), ',');
  for (const ReplayRun& r : report.replays) {
    const PathOutcome& o = r.outcome;
    out << text_cell(r.name) << "," << r.days << "," << number(o.pnl_unhedged) << "," << no_tails << ","
        << number(o.pnl_hedged) << "," << no_tails << ",,," << (r.called() ? 1 : 0) << ",," << (o.liquidated != 0.0 ? 1 : 0)
        << "," << number(o.collateral_shortfall) << "," << std::string(risk.levels.size() + 1, ',') << ","
        << "," << number(r.collateral) << "\n";
  }
  return out.str();
}

std::string replay_paths_csv(const RiskReport& report) {
  std::ostringstream out;
  out << "scenario,date,day,pnl_unhedged,pnl_hedged,equity,regime\n";
  for (const ReplayRun& r : report.replays)
    for (const ReplayDay& d : r.path)
      out << text_cell(r.name) << "," << d.date << "," << d.day << "," << number(d.pnl_unhedged) << ","
          << number(d.pnl_hedged) << "," << number(d.equity) << "," << text_cell(r.regime_names[d.day]) << "\n";
  return out.str();
}

std::string hedge_ratio_curve_csv(const RiskReport& report, const RiskConfig& risk) {
  std::ostringstream out;
  out << "scenario,ratio,mean,stdev" << level_columns(risk, "") << ",call_probability\n";
  for (const ScenarioRun& run : report.scenarios) {
    if (!run.optimization) continue;
    for (const RatioCurvePoint& p : run.optimization->curve)
      out << text_cell(run.result.name) << "," << number(p.ratio) << "," << number(p.hedged.mean) << "," << number(p.hedged.stdev)
          << level_values(p.hedged) << "," << number(p.call_probability) << "\n";
  }
  return out.str();
}

std::string hedge_surface_csv(const RiskReport& report, const RiskConfig& risk) {
  std::ostringstream out;
  out << "scenario,ratio_0,ratio_1";
  for (const RiskLevel& l : risk.levels) out << ",es_" << l.key;
  out << "\n";
  for (const ScenarioRun& run : report.scenarios) {
    if (!run.vector_optimization) continue;
    const HedgeVectorOptimization& v = *run.vector_optimization;
    const std::size_t nb = v.surface_ratios_b.size();
    for (std::size_t i = 0; i < v.surface_ratios_a.size(); ++i)
      for (std::size_t j = 0; j < nb; ++j) {
        out << text_cell(run.result.name) << "," << number(v.surface_ratios_a[i]) << "," << number(v.surface_ratios_b[j]);
        for (const auto& [level, es] : v.surface) out << "," << number(es[i * nb + j]);
        out << "\n";
      }
  }
  return out.str();
}

std::string bands_csv(const RiskReport& report, const RiskConfig& risk) {
  std::ostringstream out;
  out << "target_beta,band,mean_abs_deviation,mean_rebalances,mean_costs" << level_columns(risk, "")
      << ",call_probability,on_frontier,recommended\n";
  for (const BandRow& b : report.bands)
    out << number(b.target_beta) << "," << number(b.band) << "," << number(b.mean_abs_deviation) << ","
        << number(b.mean_rebalances) << "," << number(b.mean_costs) << level_values(b.hedged) << ","
        << number(b.call_probability) << "," << (b.on_frontier ? 1 : 0) << "," << (b.recommended ? 1 : 0) << "\n";
  return out.str();
}

std::string contributions_csv(const RiskReport& report) {
  std::ostringstream out;
  out << "scenario,level,component,es,var,standalone_es,marginal_es\n";
  for (const ScenarioRun& run : report.scenarios) {
    if (!run.contributions) continue;
    for (const ComponentContribution& c : run.contributions->components)
      out << text_cell(run.result.name) << "," << run.contributions->level.key << "," << text_cell(c.name) << ","
          << number(c.es) << "," << number(c.var) << "," << number(c.standalone_es) << ","
          << (c.marginal_es ? number(*c.marginal_es) : "") << "\n";
  }
  return out.str();
}

std::string pnl_distribution_csv(const PnlHistogram& h) {
  std::ostringstream out;
  out << "bin_lo,bin_hi,unhedged_density,hedged_density\n";
  for (std::size_t b = 0; b + 1 < h.edges.size(); ++b)
    out << number(h.edges[b]) << "," << number(h.edges[b + 1]) << "," << number(h.unhedged_density[b]) << ","
        << number(h.hedged_density[b]) << "\n";
  return out.str();
}

}  // namespace betahedge
