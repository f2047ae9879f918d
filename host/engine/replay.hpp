#pragma once
/// History replays (SPEC 4 `stress[i].replay`): today's book, hedge rules, funding and margin
/// run through the actual daily returns of a window of the prices file, one deterministic path
/// on the host (simulate_market_path with HistoricalMarket, the CPU code path), reported beside
/// the Monte Carlo scenarios.
///
/// Day d (1..days) of a window of days + 1 rows moves asset i's log price by
/// log(P_i(d) / P_i(d-1)), split evenly over the day's steps; simulation.drift and the model's
/// vols do not apply. The regime of day d (funding, basis and implied vol are per regime) is the
/// model's filtered most likely regime given the window's returns up to day d: the forward
/// filter of the model's regimes, its prior for day 1 initial_probabilities x transition (the
/// simulation's timing: today, day 0, is initial_probabilities). Day 0, when the hedge opens, is
/// in the most likely regime of initial_probabilities, as start_beta has it.
#include <string>
#include <vector>

#include <Eigen/Core>

#include "betahedge/model_types.hpp"
#include "betahedge/path_types.hpp"
#include "config/book_config.hpp"
#include "engine/simulation_setup.hpp"
#include "market/prices_csv.hpp"

namespace betahedge {

/// A replay stress's market, read from the prices file and checked before any work.
struct ReplayInput {
  int stress_index = 0;  ///< in book.stress
  std::string name;
  ReplayWindow window;               ///< as written
  std::string prices;                ///< the prices file, for messages and the report
  std::vector<std::string> dates;    ///< [days + 1] the window's rows, from the first close to the last
  Eigen::MatrixXd log_returns;       ///< [days x model assets] log(P(d) / P(d-1))
  std::vector<int> regimes;          ///< [days + 1] day 0 (the open) to day `days`
  double funding_multiplier = 1.0;

  int days() const { return static_cast<int>(log_returns.rows()); }
};

/// The book's stress[index] (a replay) against the prices: the window's rows, every model
/// asset's close on each, the returns and the regimes. Throws InputError: "FILE:LINE:
/// stress[i].replay.from" (or .to) for a window outside the file's dates,
/// "FILE:LINE: stress[i].replay" for a window of fewer than 2 rows, "PRICES: SYM: ..." for a
/// model asset the file lacks, "PRICES:LINE: SYM: no close on DATE ..." for a missing close.
ReplayInput prepare_replay(const Model& model, const BookConfig& book, int index, const PriceTable& prices);

/// The regime of each day of a window of returns [days x assets]: entry 0 the most likely of
/// initial_probabilities (day 0), entry d the argmax of the forward filter's P(s_d | r_1..r_d),
/// its prior for day 1 initial_probabilities x transition.
std::vector<int> replay_regimes(const Model& model, const Eigen::MatrixXd& log_returns);

/// One day of a replay's path, at the day's end (day 0: just after the hedge opened).
struct ReplayDay {
  std::string date;
  int day = 0;
  int regime = 0;
  double pnl_unhedged = 0.0;  ///< original holdings' value - V0
  double pnl_hedged = 0.0;    ///< the book with its hedge account so far, every cost inside
  double equity = 0.0;        ///< hedge accounts together: collateral + hedge P&L so far
};

/// A replay's outcome (a ScenarioRun's counterpart for one deterministic path).
struct ReplayRun {
  std::string name;
  ReplayWindow window;
  int days = 0;
  int steps_per_day = 1;
  double funding_multiplier = 1.0;
  double collateral = 0.0;
  /// pnl_unhedged, pnl_hedged, min_equity, first_call_step (-1: none), liquidated, costs,
  /// rebalances, beta_deviation; collateral_shortfall: the least collateral with no call on it.
  PathOutcome outcome;
  std::vector<std::string> regime_names;  ///< [days + 1], day 0 first
  std::vector<ReplayDay> path;            ///< [days + 1], day 0 first

  bool called() const { return outcome.first_call_step >= 0.0; }
  /// The day (1-based) of the first margin call; 0 when none.
  int first_call_day() const;
};

/// Runs one replay of today's book: the hedge sized from `portfolio` (the base model's betas,
/// as every scenario), the book's hedge programme, funding (times the stress's
/// funding_multiplier) and margin account with book.margin.collateral.
ReplayRun run_replay(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book,
                     const ReplayInput& input);

}  // namespace betahedge
