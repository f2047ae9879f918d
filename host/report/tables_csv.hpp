#pragma once
/// The tables beside summary.json, for spreadsheets and plots (SPEC 6). Numbers are written in
/// their shortest round-trip form, so a reader gets the summary's doubles back exactly.
#include <string>

#include "engine/risk_job.hpp"

namespace betahedge {

/// scenario, unhedged and hedged mean/stdev/VaR/ES per level, effectiveness, margin, optima, repair.
/// A replay (one deterministic path) has a row at its days: its P&L in the *_mean columns,
/// call_probability and liquidation_probability 1 or 0 (called, liquidated), in
/// collateral_for_call_probability the least collateral with no call on it; the cells of
/// statistics that one path has not (stdev, VaR, ES, effectiveness, standard errors, optimal
/// ratios, repair distance) empty.
std::string stress_csv(const RiskReport& report, const RiskConfig& risk);
/// scenario,date,day,pnl_unhedged,pnl_hedged,equity,regime: each replay's daily path (day 0 the
/// open, its costs paid), cumulative P&L since the open, the hedge account's equity, the day's regime.
std::string replay_paths_csv(const RiskReport& report);
/// scenario,ratio,mean,stdev,var_<l>,es_<l>...,call_probability
std::string hedge_ratio_curve_csv(const RiskReport& report, const RiskConfig& risk);
/// target_beta,band,mean_abs_deviation,mean_rebalances,mean_costs,var_<l>,es_<l>...,call_probability,
/// on_frontier,recommended (one row per pair, target-major)
/// hedge_surface.csv: a hedge of several legs, per scenario optimised, ES at every level over a grid
/// of the first two legs' ratios (the other legs at the min-ES vector of the highest level).
std::string hedge_surface_csv(const RiskReport& report, const RiskConfig& risk);

std::string bands_csv(const RiskReport& report, const RiskConfig& risk);
/// scenario,level,component,es,var,standalone_es,marginal_es: each scenario's Euler contributions
/// (ScenarioContributions), one row per component; marginal_es empty for a position of 0.
std::string contributions_csv(const RiskReport& report);
/// bin_lo,bin_hi,unhedged_density,hedged_density
std::string pnl_distribution_csv(const PnlHistogram& histogram);

}  // namespace betahedge
