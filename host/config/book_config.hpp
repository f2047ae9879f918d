#pragma once
/// book.yaml (SPEC 4), loaded and validated. Every error names the file, line and field;
/// unknown keys, repeated keys and non-scalar keys are errors, so that a typo never silently
/// runs the default. Whole numbers (paths, seed, days, ...) are plain decimal digits, parsed
/// exactly and range-checked before any narrowing ("1e6" and "1.0" are refused); the ranges
/// are in book_config.cpp and config/simulation_limits.hpp.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace betahedge {

enum class HedgeInstrument { none, perpetual, future, option };
enum class HedgeMode { static_ratio, dynamic };
/// How a dynamic hedge of several legs splits its beta exposure among them (hedge.allocation).
enum class HedgeAllocation { min_variance, weights };
enum class MarginAction { liquidate, top_up };
/// margin.mode: one account for every leg (cross: gains on one leg offset losses on another),
/// or one account per leg with its own collateral (isolated).
enum class MarginMode { cross, isolated };
enum class BackendChoice { automatic, cuda, cpu };
/// simulation.drift: what each asset's log drift is (SPEC 4).
///   martingale: E[S_T] = S_0 for every asset (the RiskMetrics convention for VaR);
///   zero: zero log drift; model: the calibrated regime means.
enum class DriftRule { martingale, zero, model };

/// A risk level as written in the config ("0.99"), kept verbatim for output keys.
struct RiskLevel {
  std::string key;
  double value = 0.0;
};

struct FutureConfig {
  int expiry_days = 90;
  std::vector<double> annual_basis;  ///< per regime (one value = all regimes)
  int roll_days_before = 2;
  double roll_cost_bps = 0.0;
};

struct OptionConfig {
  bool is_call = false;
  double strike = 1.0;  ///< fraction of the benchmark's spot at purchase
  int tenor_days = 30;
  double implied_vol_premium = 1.0;
  double rate = 0.0;    ///< continuously compounded, per year
};

/// One hedge instrument (a leg of the hedge): what it is, its underlying, its costs and terms.
/// The one-instrument form of hedge: is one leg whose fields sit in hedge: itself.
struct HedgeLegConfig {
  /// Where the leg is written, the prefix of its fields in messages: "hedge" (the one-instrument
  /// form) or "hedge.legs[i]".
  std::string field = "hedge";
  std::string name;  ///< as written (legs[i].name); empty: leg_name() makes "BENCHMARK-instrument"
  HedgeInstrument instrument = HedgeInstrument::perpetual;
  std::string benchmark;  ///< the instrument's underlying; empty: hedge.benchmark, or the model's
  /// static: notional = ratio x V at t0 (hedge.ratio, or hedge.ratios[i]): short for a perpetual
  /// or future, bought for an option (negative: a long linear hedge, a written option).
  double ratio = 1.0;
  double weight = 1.0;  ///< dynamic with allocation: weights, hedge.weights[i] (they sum to 1)
  double fee_bps = 0.0;
  double slippage_bps = 0.0;
  std::vector<double> funding_rate_8h;  ///< per regime (one value = all regimes)
  FutureConfig future;
  OptionConfig option;
};

struct HedgeConfig {
  std::vector<HedgeLegConfig> legs;  ///< empty: no hedge (instrument: none); at most kMaxHedgeLegs
  /// The benchmark betas are measured against (and every leg's underlying unless it names its
  /// own); empty: the model's benchmark.
  std::string benchmark;
  HedgeMode mode = HedgeMode::static_ratio;
  double target_beta = 0.0;
  double band = 0.05;
  int rebalance_every_days = 1;
  std::string beta_estimate = "model";  ///< model | ols | ewma | kalman | a number (as text)
  std::optional<double> beta_estimate_value;
  HedgeAllocation allocation = HedgeAllocation::min_variance;  ///< dynamic, several legs

  bool hedged() const { return !legs.empty(); }
};

/// "BTC-perpetual", "ETH-future", "BTC-put": legs[i].name when written, else the underlying (the
/// leg's benchmark, or `default_benchmark`) and the instrument. Unique within a book.
std::string leg_name(const HedgeLegConfig& leg, const std::string& default_benchmark);
/// "perpetual", "future", "put", "call" ("none" for none).
std::string instrument_word(const HedgeLegConfig& leg);


struct MarginConfig {
  MarginMode mode = MarginMode::cross;
  /// The account's collateral (cross margin, or a single leg). A number: that collateral,
  /// exactly. Absent or `auto` (nullopt): the least collateral meeting
  /// risk.max_call_probability, sized from the run itself.
  std::optional<double> collateral;
  /// Isolated margin of several legs: each leg's account, in leg order (margin.collateral as a
  /// list); empty: `auto`, each account sized from the run.
  std::vector<double> leg_collateral;
  double initial_rate = 0.10;
  double maintenance_rate = 0.05;
  MarginAction on_call = MarginAction::liquidate;
};

struct SimulationConfig {
  std::uint64_t paths = 100000;
  int horizon_days = 30;
  int steps_per_day = 1;
  std::uint64_t seed = 42;
  BackendChoice backend = BackendChoice::automatic;
  DriftRule drift = DriftRule::martingale;
  int threads = 0;               ///< 0 = all cores
  std::uint64_t batch_size = 0;  ///< 0 = chosen by the backend
};

struct HedgeRatioGrid {
  double from = 0.0;
  double to = 1.5;
  double step = 0.05;
};

struct RiskConfig {
  std::vector<RiskLevel> levels{{"0.95", 0.95}, {"0.99", 0.99}};
  HedgeRatioGrid hedge_ratio_grid;
  std::vector<double> band_grid{0.01, 0.02, 0.05, 0.1, 0.2};
  double max_call_probability = 0.01;
  double tracking_tolerance = 0.05;  ///< bands: largest acceptable mean |beta - target|
  /// risk.horizons_days as written (ascending, distinct, each <= simulation.horizon_days in the
  /// file); empty = the simulation horizon only. report_horizons() gives the days reported.
  std::vector<int> horizons_days;
  /// risk.target_beta_grid as written (distinct); empty = the book's own target only (a static
  /// book's: its t0 beta). With band_grid: the bands frontier.
  std::vector<double> target_beta_grid;
};

/// stress[i].replay: the actual daily returns between two dates of the prices file.
struct ReplayWindow {
  std::string from;  ///< YYYY-MM-DD, the first close (the returns start the day after)
  std::string to;    ///< YYYY-MM-DD, the last close, after `from`
};

struct StressScenario {
  std::string name;
  std::optional<double> correlation_blend;
  std::vector<std::pair<std::pair<std::string, std::string>, double>> correlation_set;
  std::optional<std::string> force_regime;
  std::vector<std::pair<std::string, double>> shock;  ///< instantaneous simple return at t = 0+ (-0.30 = down 30%)
  std::optional<double> vol_multiplier;
  std::optional<double> funding_multiplier;
  /// A history replay (combines with funding_multiplier only): one deterministic path.
  std::optional<ReplayWindow> replay;
};

struct BookConfig {
  std::filesystem::path source;      ///< the YAML file this came from
  /// `model:` resolved relative to the YAML file; empty when the book names none (ModelKey::optional).
  std::filesystem::path model_path;
  /// Units per asset: portfolio.holdings as written, or derived from notional and weights
  /// (resolve_holdings) once the model's spot prices are known.
  std::vector<std::pair<std::string, double>> holdings;
  /// portfolio.notional and portfolio.weights, the alternative to holdings (one or the other):
  /// units of asset i = weight_i x notional / spot_i.
  std::optional<double> notional;
  std::vector<std::pair<std::string, double>> weights;
  HedgeConfig hedge;
  MarginConfig margin;
  SimulationConfig simulation;
  RiskConfig risk;
  std::vector<StressScenario> stress;
  /// The line of every field in the file ("hedge.funding_rate_8h", "stress[2].shock.ETH"), for
  /// errors found once the model is known.
  std::map<std::string, int> field_lines;
};

/// "FILE:LINE: FIELD" for an error about `field` (dotted, as in field_lines), with the line of
/// the field or of the nearest enclosing one written in the file ("FILE: FIELD" if none is).
std::string book_location(const BookConfig& book, const std::string& field);

std::string to_string(DriftRule rule);

/// The horizons a run reports, ascending: risk.horizons_days up to simulation.horizon_days, and
/// simulation.horizon_days itself (a --horizon-days shorter than a listed horizon drops it).
std::vector<int> report_horizons(const BookConfig& book);

/// Whether a book must name its model. A command that has its model another way (--model, a
/// model passed from Python, run's calibrate: block, a backtest fitting its own) takes a book
/// without `model:` (ModelKey::optional; its model_path is then empty).
enum class ModelKey { required, optional };

/// Loads book.yaml (a regular file of at most kMaxConfigBytes). Throws InputError
/// "FILE:LINE: FIELD: what is wrong".
BookConfig load_book(const std::filesystem::path& path, ModelKey model_key = ModelKey::required);

/// Parses book YAML text; `source` names it in messages and anchors the relative model path.
/// Returns a book or throws InputError, whatever the bytes.
BookConfig parse_book(const std::string& yaml_text, const std::filesystem::path& source,
                      ModelKey model_key = ModelKey::required);

BackendChoice parse_backend_choice(const std::string& text, const std::string& where);
std::string to_string(BackendChoice choice);

}  // namespace betahedge
