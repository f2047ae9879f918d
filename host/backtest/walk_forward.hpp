#pragma once
/// `betahedge backtest` as a function (issue 14): a walk-forward test of the book's VaR and ES
/// forecasts on a price history.
///
/// The history is the prices file's common window of the benchmark, the book's assets and its
/// legs' underlyings: closes P_0..P_n, returns r_i = log(P_{i+1} / P_i). A test date is a close
/// t with window_days returns before it (t >= window_days) and horizon_days after it
/// (t + horizon_days <= n). On each test date:
/// - the model: refitted (calibrate, the CLI's fit) on the returns r_{t-W}..r_{t-1} on the first
///   test date and every refit_every test dates after; between refits the last fit's parameters
///   stay and only today's regime probabilities move, filtered with them through r_{t-1}
///   (initial_probabilities), with today's closes as spot;
/// - the forecast: the book as it stands that day (holdings, or weights x notional at today's
///   spot; the hedge sized by its rule from the model's betas; its costs, funding and margin, with
///   collateral: auto sized that day as `simulate` sizes it) simulated over horizon_days on
///   `paths` paths of Philox seed date_seed(seed, t): the unhedged and hedged VaR, ES and stdev;
/// - the realised P&L: the same book through the actual closes P_t..P_{t+horizon} (run_replay:
///   the hedge opened at t by the same rule, its funding, costs and margin calls).
/// Each date's figures depend only on (prices, book, options, seed, t): not on the backend
/// (within its per-path tolerance), thread count, batch size or rank count.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "betahedge/model_types.hpp"
#include "config/book_config.hpp"
#include "engine/backend_select.hpp"
#include "market/prices_csv.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {

/// How messages name a backtest option: the command line's flag ("--window-days"), or, for
/// run.yaml's backtest: block, the YAML field with its file and line
/// ("run.yaml:14: backtest.window_days"; calibrate.benchmark and calibrate.regimes for the
/// benchmark and the regime count, which the run takes from its calibration).
/// Keys: window_days, refit_every, horizon_days, from, to, paths, benchmark, regimes.
struct BacktestOptionNames {
  std::string config;                ///< run.yaml as given; empty: the command line (or keywords)
  bool keywords = false;             ///< the Python package: options are keywords ("window_days", "from_")
  std::map<std::string, int> lines;  ///< key -> the line its field is written on (absent: not written)
  int block_line = 0;                ///< the line of backtest: (where an unwritten backtest field goes)

  /// "--window-days", "backtest.window_days" (calibrate.benchmark, calibrate.regimes), or, with
  /// keywords, "window_days" ("from_" for from).
  std::string field(const std::string& key) const;
  /// "--window-days", or "run.yaml:14: backtest.window_days" (the block's line when the field is
  /// not written, "run.yaml: calibrate.regimes" when neither is known).
  std::string where(const std::string& key) const;
};

struct BacktestOptions {
  std::string benchmark;               ///< empty: the book's hedge.benchmark
  std::optional<int> num_regimes = 2;  ///< none: auto (BIC), chosen at every refit
  Distribution distribution = Distribution::gaussian;
  std::uint64_t calibration_seed = 42;
  int calibration_starts = 10;
  int window_days = 730;               ///< returns per calibration window
  int refit_every = 20;                ///< test dates between refits (kDefaultBacktestRefitEvery)
  int horizon_days = 1;                ///< kDefaultBacktestHorizonDays
  std::optional<std::string> from;     ///< first test date (inclusive); none: the first with a full window
  std::optional<std::string> to;       ///< last test date (inclusive); none: the last with a full horizon
  std::uint64_t paths = 100000;        ///< per test date
  int tail_quantiles = 32;             ///< per date, level and side, for the ES test's p-value
  bool fill_forward = false;           ///< empty cells repeat the previous close (--fill forward)
  std::string fill_forward_setting = "--fill forward";  ///< how fill_forward is set, for messages
  BacktestOptionNames names;           ///< how messages and warnings name these options
};

inline constexpr int kDefaultBacktestWindowDays = 730;
inline constexpr int kDefaultBacktestRefitEvery = 20;
inline constexpr int kDefaultBacktestHorizonDays = 1;
inline constexpr std::uint64_t kDefaultBacktestPaths = 100000;

/// One refit of the walk forward.
struct BacktestFit {
  std::string date;          ///< the test date it was fitted for
  std::string window_start;  ///< first close of the window
  std::string window_end;    ///< last close of the window (the test date)
  std::vector<std::string> regime_names;
  double loglik = 0.0;
  bool converged = true;
  int iterations = 0;
};

/// One test date: the forecast made at its close and what then happened.
struct BacktestDate {
  std::string date;       ///< the forecast's close, t
  std::string end_date;   ///< the close horizon_days later, t + h
  int fit = 0;            ///< index into BacktestRun::fits
  std::vector<double> regime_probabilities;  ///< the fit's regimes (its regime_names), today's filtered
  double portfolio_value = 0.0;
  double collateral = 0.0;
  PnlStatistics unhedged;  ///< forecast over the horizon, one tail per level
  PnlStatistics hedged;
  double predicted_hedge_effectiveness = 0.0;
  /// [level][k] the forecast loss quantiles at a + (1 - a)(k + 1/2)/M (acerbi_szekely_z2).
  std::vector<std::vector<double>> unhedged_tail_quantiles, hedged_tail_quantiles;
  double realised_unhedged = 0.0;  ///< P&L from t to t + h
  double realised_hedged = 0.0;
  bool margin_called = false;      ///< the realised path met a margin call
  double predicted_call_probability = 0.0;  ///< the forecast's: paths with a call by the horizon
  /// The hedge's signed notional as opened at t (start_hedge_notional: a short linear leg is
  /// negative; 0 without a hedge): what the forecast and the realised path both hold.
  double hedge_notional = 0.0;
  int rebalances = 0;  ///< dynamic-hedge trades after t on the realised path (0 for a static hedge)
  /// Closes t .. t + h with a filled (forward-repeated) price: the realised path holds that asset
  /// flat there, and the date's spot is stale when t itself is one.
  int filled_closes = 0;
};

struct BacktestRun {
  BacktestOptions options;
  std::string prices;                ///< the file, as given
  BookConfig book;                   ///< the book as given (backtest.json's book block)
  /// The dates a test could have covered ([first, last] with a full window before and a full
  /// horizon after), of which options.from/to chose [dates.front(), dates.back()].
  std::string testable_from, testable_to;
  int testable_dates = 0;
  std::vector<std::string> assets;   ///< the model's, benchmark first as calibrate orders them
  std::string benchmark;
  /// Empty price cells filled forward (--fill forward) on the closes the run read: its first
  /// window's through its last horizon's.
  int filled_cells = 0;
  std::vector<RiskLevel> levels;     ///< the book's risk.levels
  std::vector<BacktestFit> fits;
  std::vector<BacktestDate> dates;
  std::string backend, device;
  std::uint64_t seed = 0;
  int ranks = 1;
  double elapsed_s = 0.0;
  /// Every row's loss beyond VaR: 1 when -realised > var (unhedged or hedged, per level).
  bool exception(std::size_t date, std::size_t level, bool hedged) const;
};

/// The Philox seed of test date `price_index`'s paths: a SplitMix64 hash of both, so that dates
/// draw independent streams and any subset of the dates draws the same numbers.
std::uint64_t date_seed(std::uint64_t seed, int price_index);

using BacktestProgress = std::function<void(const std::string&)>;

/// The errors run_backtest would raise before its first fit (every one named below but the
/// calibration's and the book's), found without fitting or simulating: `run` checks its
/// backtest: block with it before the risk job.
void check_backtest_inputs(const PriceTable& prices, const BookConfig& book, const BacktestOptions& options);

/// Runs the walk forward. Throws InputError naming the option or the file for: horizon_days,
/// window_days, refit_every or paths below 1; no benchmark (neither --benchmark nor
/// hedge.benchmark); a history too short for one window and one horizon; --from/--to not a date,
/// in the wrong order, or outside the testable dates (which the message gives); every error
/// calibrate and the book's checks raise. NumericalError when a refit fails.
/// `between_batches` (BatchCheck) is called before each date and after every batch of its passes:
/// what it throws stops the walk forward and propagates (the Python package's Ctrl-C).
BacktestRun run_backtest(const PriceTable& prices, const BookConfig& book, const BacktestOptions& options,
                         const BacktestProgress& progress, const BatchCheck& between_batches = {});

}  // namespace betahedge
