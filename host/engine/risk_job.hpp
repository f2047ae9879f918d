#pragma once
/// The risk job's stages on one backend: scenarios (base and stresses), the hedge-ratio
/// optimiser and the band sweep. host/cli chains them; host/report writes what they return.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "betahedge/model_types.hpp"
#include "betahedge/path_backend.hpp"
#include "config/book_config.hpp"
#include "engine/backend_select.hpp"
#include "engine/hedge_vector_job.hpp"
#include "engine/replay.hpp"
#include "engine/risk_engine.hpp"
#include "engine/simulation_setup.hpp"
#include "scenario/stress.hpp"

namespace betahedge {

struct RatioCurvePoint {
  double ratio = 0.0;
  PnlStatistics hedged;
  double call_probability = 0.0;
};

/// SPEC 5's optimal hedge ratios (short notional / V) of a static hedge with the book's
/// instrument, from the ratio grid evaluated on the scenario's own paths (common random
/// numbers; margin calls and their liquidations or top-ups included). The grid evaluated is the
/// book's hedge_ratio_grid with a midpoint between neighbours (2c - 1 ratios for c points), and
/// the optima are refined past it:
/// - min_variance: r* = -Cov(U, G) / Var(G), U the unhedged P&L and G the ratio-1 hedge P&L
///   without margin action, when no path meets a call at the grid ratio above r* (the static
///   hedge is then linear in the ratio and r* exact); otherwise the vertex of the parabola
///   through the least point of the simulated stdev curve and its neighbours.
/// - min_es[a]: the vertex of the parabola through the least point of the ES curve and its
///   neighbours.
/// - margin_constrained: the min-variance ratio subject to P(call) <= max_call_probability.
///   Ratio r is called iff C < r D (D the ratio-1 collateral shortfall), so the feasible
///   ratios are r <= C / q, q the (1 - p) quantile of D; the variance falling up to the
///   min-variance ratio, the answer is min(min_variance, C / q). None when even the smallest
///   grid ratio is infeasible.
struct OptimalRatios {
  double min_variance = 0.0;
  std::vector<std::pair<std::string, double>> min_es;
  std::optional<double> margin_constrained;
};

struct Optimization {
  std::vector<RatioCurvePoint> curve;  ///< at the book's hedge_ratio_grid
  OptimalRatios optimal;
};

/// A scenario's figures at one horizon of risk.horizons_days, from the scenario's own paths.
struct HorizonResult {
  int days = 0;
  ScenarioResult result;  ///< the hedged and unhedged P&L to that day, margin calls by then
};

/// One component of the hedged P&L at the simulated horizon: an asset held (its P&L on the
/// original holdings, h_i (S_i,T - S_i,0)) or the hedge leg (pnl_hedged - pnl_unhedged: the hedge's
/// P&L, funding, costs, margin actions and top-up sales). Figures are losses (positive: adds to
/// the loss), euler_contributions.hpp says how each is estimated.
struct ComponentContribution {
  std::string name;            ///< the asset's symbol, or "hedge"
  double es = 0.0;             ///< Euler ES contribution: the components' es sum to the hedged ES
  double var = 0.0;            ///< Euler VaR contribution: they sum to the hedged VaR
  double standalone_es = 0.0;  ///< ES of this component's loss alone
  double position = 0.0;       ///< value at t0: h_i S_i, or the hedge's signed notional (start_hedge_notional)
  /// es / position, the ES contribution per unit of currency held; none for a position of 0.
  std::optional<double> marginal_es;
};

/// SPEC 6 `contributions`: the Euler allocation of the hedged ES and VaR at the highest of
/// risk.levels, from the scenario's own pass.
struct ScenarioContributions {
  RiskLevel level;
  std::vector<ComponentContribution> components;  ///< the assets held, in the model's order, then the hedge
};

/// One leg of a hedge of several legs over the simulated horizon, from the scenario's own pass.
struct LegResult {
  std::string name;           ///< leg_name: "BTC-perpetual"
  double mean_pnl = 0.0;      ///< its marks, funding and costs (a top-up's cash is its account's, no leg's)
  double stdev_pnl = 0.0;
  double mean_costs = 0.0;    ///< fees, slippage and roll costs
  double mean_funding = 0.0;  ///< perpetual funding paid (negative: received)
};

/// One margin account of a hedge of several legs: "cross" (every leg), or, under isolated margin,
/// one per leg, named as its leg.
struct AccountResult {
  std::string name;
  std::vector<std::string> legs;
  double collateral = 0.0;
  double call_probability = 0.0;  ///< paths on which this account met a call
  double call_probability_se = 0.0;
  /// p -> this account's least collateral with at most floor(p n) paths calling it, for every p
  /// of collateral_probabilities().
  std::vector<std::pair<std::string, double>> collateral_for_call_probability;
  /// The least collateral with which at most floor(p / A x n) paths call this account, p =
  /// risk.max_call_probability, A the number of accounts: what collateral: auto posts under
  /// isolated margin, so that the book's call probability is at most p.
  double collateral_for_call_limit_share = 0.0;
};

struct ScenarioRun {
  ScenarioResult result;
  /// A hedge of several legs: each leg's figures, and each margin account's (empty for one leg).
  std::vector<LegResult> legs;
  std::vector<AccountResult> accounts;
  /// Every horizon of report_horizons(book), ascending; the last is the simulated horizon,
  /// whose result is `result`.
  std::vector<HorizonResult> horizons;
  nlohmann::json applied;                   ///< SPEC 6 `applied`
  std::optional<Optimization> optimization;  ///< a hedge of one leg: the ratio grid's optima
  std::optional<HedgeVectorOptimization> vector_optimization;  ///< several legs: the optimal vectors
  std::optional<ScenarioContributions> contributions;
};

/// One (target beta, band) pair of the band sweep: the book's hedge made dynamic, kept at
/// target_beta and traded back to it when |beta - target_beta| > band.
struct BandRow {
  double target_beta = 0.0;
  double band = 0.0;
  double mean_abs_deviation = 0.0;  ///< mean |beta - target_beta| at the checks, before trading
  double mean_rebalances = 0.0;
  double mean_costs = 0.0;
  PnlStatistics hedged;
  double call_probability = 0.0;
  bool recommended = false;
  bool within_tolerance = false;   ///< mean_abs_deviation <= risk.tracking_tolerance
  bool within_call_limit = false;  ///< call_probability <= risk.max_call_probability
  bool on_frontier = false;        ///< no pair has ES (highest level) and mean cost both as low, one lower
};

/// A histogram of the base scenario's P&L, both hedged and unhedged, on common bins.
struct PnlHistogram {
  std::vector<double> edges;               ///< bins + 1 edges
  std::vector<double> unhedged_density;    ///< per unit of P&L
  std::vector<double> hedged_density;
};

/// What a job asks for beyond the base scenario.
struct JobStages {
  bool stresses = false;   ///< every scenario of the book's stress: list
  bool optimize = false;   ///< the hedge-ratio optimiser per scenario
  bool bands = false;      ///< the band sweep on the base scenario
  bool histogram = false;  ///< the base scenario's P&L histogram (for the report)
};

/// The hedge account's starting collateral, one amount for the base, every stress and the bands.
struct CollateralChoice {
  double amount = 0.0;  ///< every account's together
  /// How it was chosen (summary.json margin.collateral_rule): "fixed" (the book's number), or
  /// "auto: ..." saying what it was sized for.
  std::string rule;
  /// Isolated margin of several legs: each account's amount, in leg order (they sum to amount);
  /// empty for one account.
  std::vector<double> accounts;
};

/// Everything a job found, for summary.json and the tables beside it.
struct RiskReport {
  RunMetadata run;
  PortfolioSummary portfolio;
  /// The hedge programme and its margin terms as the job ran them (summary.json `hedge`).
  nlohmann::json hedge_terms;
  /// A hedge of several legs: their names (leg_name), in leg order; empty for one leg.
  std::vector<std::string> leg_names;
  CollateralChoice collateral;
  /// One line per figure dominated by an edge case (SPEC 6 `warnings`; job_warnings).
  std::vector<std::string> warnings;
  std::vector<ScenarioRun> scenarios;  ///< base first (the Monte Carlo scenarios)
  std::vector<ReplayRun> replays;      ///< the book's replay stresses, in the book's order
  std::vector<BandRow> bands;  ///< the band sweep's pairs, target-major (sweep_bands)
  std::string band_rule;       ///< how the recommended pair was chosen (band_rule), with the bands
  std::optional<PnlHistogram> histogram;
  /// The most tail values any pass held at once (the statistics' memory high-water mark).
  std::uint64_t peak_tail_values = 0;
};

using ProgressFn = std::function<void(const std::string&)>;

/// The risk job, top to bottom: check the book against the model (prepare_job), choose the
/// backend, choose the collateral (choose_collateral), run the base scenario and each stress
/// (optimising the ratio per scenario when asked), sweep the bands, collect the warnings
/// (job_warnings), and time it all. Each stage reports a progress line with the elapsed time;
/// a scenario's line ends "(K of N scenarios done)", N the Monte Carlo scenarios.
/// Every book error the model reveals is thrown before the backend's progress line.
/// Replay stresses (stages.stresses) read their windows from `prices` (stress --prices, or
/// run's calibration prices); one without prices is an InputError naming the stress.
/// `between_batches` is called after every batch of every pass (BatchCheck): its exception
/// stops the job.
RiskReport run_risk_job(const Model& model, const BookConfig& book, const JobStages& stages,
                        const ProgressFn& progress, const PriceTable* prices = nullptr,
                        const BatchCheck& between_batches = {});

/// What a job simulates, checked against the model.
struct JobInputs {
  PortfolioSetup portfolio;
  std::vector<AppliedScenario> scenarios;  ///< base first, then the model stresses when asked
  std::vector<ReplayInput> replays;        ///< the replay stresses when asked
};

/// Every book error that the model reveals, found before any path is simulated: holdings,
/// benchmark and beta estimates against the model's assets (make_portfolio), each stress's
/// assets and regimes (apply_stress), per-regime counts of funding and basis (the simulation
/// tables of every scenario), a hedge instrument where the stages need one, and each replay's
/// window against `prices` (prepare_replay; none given: "stress[i].replay: ... --prices").
/// Throws InputError "FILE:LINE: field: what" (book_location).
JobInputs prepare_job(const Model& model, const BookConfig& book, const JobStages& stages,
                      const PriceTable* prices = nullptr);

/// A hedge instrument's costs and terms as summary.json's and backtest.json's hedge blocks write
/// them: fee_bps, slippage_bps, then a perpetual's funding_rate_8h, a future's `future` or an
/// option's `option`; `per_regime` writes a per-regime list (funding, basis).
void add_instrument_terms(const HedgeLegConfig& leg, nlohmann::json& terms,
                          const std::function<nlohmann::json(const std::vector<double>&)>& per_regime);

/// margin.collateral as the job uses it. A number: that number ("fixed"). `auto` with a hedge:
/// collateral_for_call_probability at risk.max_call_probability of one pass over the base
/// scenario, the run's own paths (the least collateral with which at most
/// floor(max_call_probability x paths) paths meet a call: before its first call a path's account
/// is its shadow's, whatever the collateral, so this holds for liquidate and top_up alike), or the
/// opening margin of the t0 hedge when that is more (an exchange opens nothing on less).
/// `auto` without a hedge: 0.
CollateralChoice choose_collateral(PathBackend& backend, const Model& model, const JobInputs& inputs,
                                   const BookConfig& book);

/// The calls above which a scenario's hedged figures are said to be dominated by calls.
inline constexpr double kWarnCallProbability = 0.10;

/// SPEC 6 `warnings`, one line per figure dominated by an edge case: a scenario whose paths met
/// a margin call before the horizon's last step more often than kWarnCallProbability; an optimal ratio (min_variance, min_es[a],
/// margin_constrained) on the first or last ratio of risk.hedge_ratio_grid, or no
/// margin-constrained ratio at all; no (target, band) pair that qualifies for the band rule
/// (none within risk.tracking_tolerance, or none of those within risk.max_call_probability); a
/// regime of the model expected to last under kShortRegimeDays days. Replays are no Monte Carlo
/// scenarios: none of these apply to them (a replayed margin call is a fact of the replay,
/// reported with it).
std::vector<std::string> job_warnings(const RiskReport& report, const BookConfig& book, const Model& model);

/// The book as the job holds it (RiskReport portfolio, hedge_terms): each asset's units, spot,
/// value, weight and believed beta; the hedge's instrument, benchmark, mode, ratio or target and
/// band, costs, funding and basis per regime, option terms, and the margin rates and action.
void describe_book(const Model& model, const BookConfig& book, const PortfolioSetup& portfolio, RiskReport& report);

/// The names of the book's legs (leg_name, the reference benchmark as the default underlying), in
/// leg order: what summary.json's `legs` and every per-leg figure are keyed by.
std::vector<std::string> hedge_leg_names(const Model& model, const BookConfig& book);

/// Base plus every model stress of the book, in order (replay stresses are not model stresses:
/// prepare_job reads them as ReplayInput).
std::vector<AppliedScenario> book_scenarios(const Model& model, const BookConfig& book, bool with_stresses);

/// What one scenario's pass computes beyond its statistics.
struct ScenarioExtras {
  bool optimize = false;   ///< the hedge-ratio optimiser, on the same paths in the same pass
  bool histogram = false;  ///< the P&L histogram (for the report)
  /// The Euler contributions, from the same pass: the per-asset P&L columns ride along
  /// (AssetPnlView) and the reduction keeps the components of the hedged loss tail's paths.
  bool contributions = true;
};

/// The level the contributions are reported at: the highest of risk.levels.
RiskLevel contribution_level(const BookConfig& book);

/// Simulates one scenario: the market of `scenario`, the hedge sized from `portfolio` (the
/// base model's betas: the desk hedges with what it believes, the stress is what happens).
/// With extras.optimize the static hedge at every grid ratio rides along on the same paths
/// (one pass) and run.optimization is filled in; with extras.histogram, `histogram`; with
/// extras.contributions, run.contributions.
ScenarioRun run_scenario(PathBackend& backend, const AppliedScenario& scenario, const PortfolioSetup& portfolio,
                         const BookConfig& book, const ScenarioExtras& extras = {},
                         std::optional<PnlHistogram>* histogram = nullptr);

/// The ratios the optimiser evaluates for the book's hedge_ratio_grid: its points and the
/// midpoints between them, ascending.
std::vector<double> optimiser_ratio_grid(const BookConfig& book);

/// The band sweep on the base scenario: the book's hedge made dynamic at every pair of
/// band_targets(book) x risk.band_grid (target-major: each target's bands in grid order), on
/// common random numbers, up to kMaxBandsPerPass pairs riding one pass over the market. Each
/// pair's figures are, bit for bit, a run of the book with hedge.mode dynamic, that target_beta
/// and that band. Every pair posts the book's collateral (margin.collateral; unset: the initial
/// margin of the book's hedge made dynamic at its own target, as a single-target sweep posts).
/// The rows come back marked on_frontier (mark_band_frontier) and with one recommended
/// (recommend_band_pair). Throws InputError when the book has no hedge instrument.
std::vector<BandRow> sweep_bands(PathBackend& backend, const Model& model, const PortfolioSetup& portfolio,
                                 const BookConfig& book);

/// The target betas the band sweep covers: risk.target_beta_grid as written, or, when it is
/// empty, the book's own target (a dynamic book's hedge.target_beta, a static book's beta at t0:
/// the target build_simulation_tables gives it).
std::vector<double> band_targets(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book);

/// The index in risk.levels of the highest level: the ES of the frontier and the band rule.
int highest_level(const RiskConfig& risk);

/// Marks on_frontier every row that no other row dominates in (hedged ES at level `level`, mean
/// cost): another row dominates when it is no worse in both and better in one (rows equal in
/// both are both on the frontier).
void mark_band_frontier(std::vector<BandRow>& rows, int level);

/// The extra hedged ES, as a fraction of the least, that the band rule accepts for a lower cost.
inline constexpr double kBandEsSlack = 0.05;

/// How recommend_band_pair chose: by the rule, or, none qualifying, by which fallback.
enum class BandChoice {
  rule,               ///< a qualifying pair (within tolerance and call limit)
  least_calls,        ///< pairs within tolerance, none within the call limit: the least called of them
  least_deviation,    ///< no pair within tolerance: the one that tracks best
};

/// Which way recommend_band_pair chooses on these rows (their within_tolerance and
/// within_call_limit flags).
BandChoice band_choice(const std::vector<BandRow>& rows);

/// The band rule (band_rule's text) on rows whose within_tolerance and within_call_limit are
/// set: a pair qualifies when it is both. Among the qualifying pairs, E* is the least hedged ES
/// at `level`; the recommended pair is the least mean cost among those whose ES <= E* +
/// kBandEsSlack |E*| (ties: the lower ES, then the lower mean |beta - target|, then the first).
/// None qualifying: among pairs within tolerance, the least call probability (ties: the lower
/// ES); none within tolerance, the least mean |beta - target|. Sets exactly one row's
/// `recommended` (rows must not be empty) and returns which way it chose.
BandChoice recommend_band_pair(std::vector<BandRow>& rows, int level);

/// The band rule in words, with the book's tolerance, call limit and level (summary.json
/// bands.rule, the report and `betahedge bands`).
std::string band_rule(const RiskConfig& risk);

/// The bins of the P&L histogram: 100 over the common 0.1%..99.9% range of the unhedged and
/// hedged P&L of the first 65,536 paths (a prefix of the path ids, so the same for any batch
/// size, thread or rank count); the pass then counts every path into them.
HistogramBins histogram_bins(PathBackend& backend, const SimulationTables& tables, std::uint64_t paths);

}  // namespace betahedge
