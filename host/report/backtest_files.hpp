#pragma once
/// backtest.csv and backtest.json (SPEC 6): a walk forward's dates and its tests.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/walk_forward.hpp"

namespace betahedge {

/// One row per test date: `date`, `realised_unhedged`, `realised_hedged`, per level a
/// `var_unhedged_<a>`, `var_hedged_<a>`, `es_unhedged_<a>`, `es_hedged_<a>`,
/// `exception_unhedged_<a>`, `exception_hedged_<a>` (SPEC 6's columns, in its order); then
/// `end_date`, `sampled` (1: read by the tests, BacktestEvaluation::sample), `stdev_unhedged`,
/// `stdev_hedged`, `predicted_hedge_effectiveness`, `portfolio_value`, `collateral`,
/// `hedge_notional` (signed, as opened at the date), `rebalances` (on the realised path; 0 for a
/// static hedge), `margin_called`, `predicted_call_probability`, `fit_date` (the window's last close), and
/// `p_<regime>` per regime name of any fit (empty when the date's fit has no such regime).
std::string backtest_csv(const BacktestRun& run, const BacktestEvaluation& evaluation);

/// {"format": "betahedge.backtest/1", "observations": N, "levels": {"0.99": {"hedged": {..},
/// "unhedged": {..}}}, ...}: SPEC 6's keys, then the traffic light's windows and the worst
/// (worst_window), the run's settings, the book as tested (book: portfolio, hedge, margin, risk
/// levels, horizon; docs/backtest.md), the hedge effectiveness, the fits and the warnings.
nlohmann::json backtest_json(const BacktestRun& run, const BacktestEvaluation& evaluation);

}  // namespace betahedge
