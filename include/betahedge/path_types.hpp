#pragma once
/// Plain data handed to the path code. Pointers refer to one flat parameter buffer that lives
/// in host memory for the CPU backend and in device memory for the CUDA backend.
#include <cstdint>

namespace betahedge {

/// The local-array capacities the path code is compiled for; a model with n assets runs with the
/// smallest >= n, and its lane tables (MarketView) have rows of that many entries.
inline constexpr int kPathCapacities[] = {4, 8, 16, 64};

inline constexpr int path_capacity_for(int num_assets) {
  for (int c : kPathCapacities)
    if (num_assets <= c) return c;
  return 0;
}

/// The market model as the path code needs it, per simulation step of length dt = 1/steps_per_day days.
struct MarketView {
  int num_assets = 0;
  int num_regimes = 0;
  int num_days = 0;
  int steps_per_day = 1;
  bool student_t = false;
  // The two per-asset tables of the market step are laid out in lanes: a row of
  // path_capacity_for(num_assets) entries per asset vector, zero beyond the last asset, so the
  // CPU backend runs the step as SIMD lanes over whole rows.
  const double* drift = nullptr;         ///< [regime][lane]: mean * dt (log-return per step)
  const double* shock_factor = nullptr;  ///< [regime][column j][lane i]: sqrt(dt) vol_i chol(corr)_ij, 0 for i < j
  const double* dof = nullptr;             ///< [regime]: Student-t degrees of freedom (unused for gaussian)
  const double* transition_cdf = nullptr;  ///< [regime][regime]: cumulative rows of the daily transition matrix
  const double* initial_cdf = nullptr;     ///< [regime]: cumulative initial regime distribution
  const double* spot = nullptr;            ///< [lane]: price at t0
  const double* initial_shock = nullptr;   ///< [lane]: log-price jump at t = 0+ (stress), usually 0
};

struct PortfolioView {
  const double* holdings = nullptr;    ///< [lane]: units held (negative = short), 0 for assets not held
  const double* asset_beta = nullptr;  ///< [lane]: beta to the benchmark used for hedging decisions
  double initial_value = 0.0;        ///< V0 = sum holdings x spot
};

/// The most legs (instruments) a hedge may have: the capacity of the path code's per-leg arrays.
inline constexpr int kMaxHedgeLegs = 4;

enum class HedgeKind : int { perpetual = 1, future = 2, option = 3 };

/// One hedge instrument (a leg). Rates are decimals; "cost" = fee + slippage.
struct LegView {
  HedgeKind kind = HedgeKind::perpetual;
  int benchmark = 0;    ///< asset index of the leg's underlying
  /// The leg's margin account: 0 for every leg under cross margin, the leg's own index under
  /// isolated margin (nothing else: the path code picks between those two).
  int account = 0;
  /// The believed beta of the underlying to the reference benchmark the book's betas are measured
  /// against: exactly 1 when the underlying is the reference, else the portfolio's asset_beta of it.
  double beta = 1.0;
  /// static: notional = ratio x V0 at t0, short for a linear leg, bought for an option; negative:
  /// a long linear leg, a written option.
  double ratio = 0.0;
  double weight = 1.0;  ///< dynamic: the leg's share of the beta exposure a trade sets (the weights sum to 1)
  double cost_rate = 0.0;  ///< (fee_bps + slippage_bps) / 1e4 per unit of traded notional
  const double* funding_rate = nullptr;  ///< [regime]: perpetual funding per 8 hours, paid by longs to shorts
  const double* annual_basis = nullptr;  ///< [regime]: future F = S exp(basis tau), tau in years of 365 days
  int expiry_days = 0;               ///< future: days to expiry of each contract
  int roll_days_before = 0;          ///< future: roll this many days before expiry
  double roll_cost_rate = 0.0;       ///< future: cost per roll per unit of notional
  bool option_is_call = false;
  double strike_fraction = 1.0;      ///< option strike = fraction x underlying price at purchase
  int tenor_days = 30;               ///< option: bought (or written) with this tenor, rolled at expiry
  double option_rate = 0.0;          ///< option: continuously compounded rate per year
  const double* implied_vol = nullptr;  ///< [regime]: option implied vol per sqrt(year)
};

/// The hedge: its legs, their margin accounts, the programme that trades them, and the passes
/// that ride along (the optimiser's ratio grid, the band sweep). num_legs = 0: no hedge.
struct HedgeView {
  int num_legs = 0;
  LegView legs[kMaxHedgeLegs];
  int num_accounts = 1;  ///< 1 (cross margin, and a book without a hedge), or num_legs (isolated)
  double collateral[kMaxHedgeLegs] = {};  ///< [account]: at t0
  bool dynamic = false;
  double target_beta = 0.0;          ///< dynamic: portfolio-plus-hedge beta to keep; static: its t0 beta, tracked against
  double band = 0.0;                 ///< dynamic: rebalance when |beta - target| > band
  int rebalance_every_days = 1;
  double initial_rate = 0.0;         ///< top_up restores an account's equity to initial_rate x its legs' notional
  double maintenance_rate = 0.0;     ///< an account is called when its equity < maintenance_rate x its legs' notional
  bool top_up = false;               ///< on a call: true = sell portfolio to top up, false = liquidate the account's legs
  int num_grid_ratios = 0;           ///< optimiser (one-leg books, legs[0]): static hedge ratios evaluated in one pass
  const double* grid_ratios = nullptr;  ///< [num_grid_ratios]
  int num_sweep_bands = 0;           ///< band sweep: dynamic-hedge (target, band) pairs evaluated in one pass
  const double* sweep_bands = nullptr;    ///< [num_sweep_bands]: pair b's band
  const double* sweep_targets = nullptr;  ///< [num_sweep_bands]: pair b's target beta
  /// [num_legs]: the ratio vector d whose static hedge the unit-legs program sizes collateral for
  /// (UnitLegColumns::shortfall); the host fills it (the book's own ratios unless it sets another).
  const double* direction = nullptr;
};

inline constexpr int kMaxGridRatios = 128;
inline constexpr int kMaxBandsPerPass = 8;

/// The intermediate horizons at which a path's outcome is recorded besides its end (risk.horizons_days
/// below the simulated horizon): block h of kNumOutcomeFields columns holds the path's outcome at
/// the end of day days[h], the same bits as a run of days[h] days would give.
struct HorizonView {
  int count = 0;
  const double* days = nullptr;  ///< [count]: ascending whole days, each below market.num_days
};

/// Whether simulate_path also records, for the Euler risk contributions, each asset's P&L on the
/// original holdings over the simulated horizon: column i (after the intermediate horizons'
/// blocks, asset_pnl_first_column) holds h_i S_i e^{x_i} - h_i S_i, the terms whose sum is
/// pnl_unhedged (0 for an asset not held). Programs that do not ask pay nothing for it.
struct AssetPnlView {
  bool record = false;
};

/// Whether simulate_path also records each leg's and each margin account's share of the hedge
/// over the simulated horizon (LegDetailColumns, after the per-asset P&L columns:
/// leg_detail_first_column). Programs that do not ask pay nothing for it but the leg totals.
struct LegDetailView {
  bool record = false;
};

struct SimulationView {
  MarketView market;
  PortfolioView portfolio;
  HedgeView hedge;
  HorizonView horizons;
  AssetPnlView asset_pnl;
  LegDetailView leg_detail;
  std::uint64_t seed = 0;
};

/// Value of the original holdings, sum_i holdings_i spot_i exp(log_price_i), and their
/// value-weighted beta sum_i holdings_i S_i beta_i / value.
struct PortfolioMark {
  double value;
  double beta;
};

/// What one path leaves behind for the statistics (base currency unless noted).
struct PathOutcome {
  double pnl_unhedged = 0.0;          ///< V_T - V_0 with the original holdings
  double pnl_hedged = 0.0;            ///< portfolio plus hedge account, every cost inside
  /// least starting collateral with no margin call on this path: of the one account under cross
  /// margin, of account 0 under isolated margin (each account's: LegDetailColumns)
  double collateral_shortfall = 0.0;
  double min_equity = 0.0;            ///< lowest equity of the hedge accounts together at any step
  double first_call_step = -1.0;      ///< step (1-based) of the first margin call on any account, -1 if none
  double liquidated = 0.0;            ///< 1 if the legs of an account were liquidated on a call
  double costs = 0.0;                 ///< fees, slippage and roll costs of every leg, and the top-ups' sale costs
  double rebalances = 0.0;            ///< dynamic-hedge trades after t0
  double beta_deviation = 0.0;        ///< mean |beta - target| over the daily checks, before trading
};

enum class OutcomeField : int {
  pnl_unhedged = 0,
  pnl_hedged,
  collateral_shortfall,
  min_equity,
  first_call_step,
  liquidated,
  costs,
  rebalances,
  beta_deviation,
};
inline constexpr int kNumOutcomeFields = 9;

/// Column layout of the ratio-grid outcomes for a grid of `count` ratios.
struct RatioGridColumns {
  static constexpr int pnl(int r) { return 2 * r; }
  static constexpr int called(int r) { return 2 * r + 1; }
  static constexpr int unhedged(int count) { return 2 * count; }
  static constexpr int unit_hedge_pnl(int count) { return 2 * count + 1; }
  static constexpr int unit_shortfall(int count) { return 2 * count + 2; }
  static constexpr int total(int count) { return 2 * count + 3; }
};

/// Column layout of the leg detail of a hedge of `legs` legs and `accounts` margin accounts,
/// from its first column (leg_detail_first_column):
///   per leg l: pnl(l) = its marks, funding and costs; costs(l) = its fees, slippage and roll costs;
///              funding(l) = the perpetual funding it paid (negative: received);
///   per account a: first_call_step(a) (1-based, -1: none) and collateral_shortfall(a) (its
///              shadow's: the least collateral with no call on the path, >= 0).
/// The legs' P&L and the top-ups' cash make the hedged P&L: pnl_hedged = holdings_scale x final
/// value - V0 + sum_l pnl(l) + the cash the top-ups moved (none without a call, so then
/// sum_l pnl(l) = pnl_hedged - pnl_unhedged).
struct LegDetailColumns {
  static constexpr int pnl(int l) { return 3 * l; }
  static constexpr int costs(int l) { return 3 * l + 1; }
  static constexpr int funding(int l) { return 3 * l + 2; }
  static constexpr int first_call_step(int legs, int a) { return 3 * legs + 2 * a; }
  static constexpr int collateral_shortfall(int legs, int a) { return 3 * legs + 2 * a + 1; }
  static constexpr int total(int legs, int accounts) { return 3 * legs + 2 * accounts; }
};

/// Column layout of the unit legs (PathProgram::outcomes_with_unit_legs) of a hedge of `legs` legs
/// and `accounts` margin accounts, from its first column (unit_legs_first_column):
///   per leg l, the leg alone held statically at ratio +1 with no margin action (unit_legs.hpp):
///     marks(l) = M_l, its marks and funding; costs(l) = K_l >= 0, its fees, slippage and roll costs;
///   per account a: shortfall(a) = the least collateral with which the static hedge at the
///     direction vector d (HedgeView::direction) meets no call on account a on the path, >= 0.
/// Without calls the static hedge at ratio vector r has hedged P&L u + sum_l (r_l M_l - |r_l| K_l),
/// u = pnl_unhedged.
struct UnitLegColumns {
  static constexpr int marks(int l) { return 2 * l; }
  static constexpr int costs(int l) { return 2 * l + 1; }
  static constexpr int shortfall(int legs, int a) { return 2 * legs + a; }
  static constexpr int total(int legs, int accounts) { return 2 * legs + accounts; }
};

/// What a pass computes for each path.
enum class PathProgram {
  /// simulate_path: the OutcomeField columns.
  outcomes,
  /// simulate_path_with_ratio_grid: the OutcomeField columns, then the static hedge at every
  /// grid ratio on the same path (RatioGridColumns, from column kNumOutcomeFields on).
  outcomes_with_ratio_grid,
  /// simulate_path_with_band_sweep: the OutcomeField columns, then the same for the book's
  /// hedge made dynamic at each of the tables' sweep bands (band b's from column
  /// kNumOutcomeFields x (1 + b)).
  outcomes_with_band_sweep,
  /// simulate_path_with_unit_legs: every column of `outcomes` (the same bits), then each leg
  /// alone at ratio +1 and each account's shortfall at the direction vector (UnitLegColumns,
  /// from outcome_program_columns(view) on).
  outcomes_with_unit_legs,
};

/// The columns the `outcomes` program writes per path for view v: its own, kNumOutcomeFields per
/// intermediate horizon, one per asset when v.asset_pnl.record, the leg detail when
/// v.leg_detail.record (path_backend.hpp's program_columns(PathProgram::outcomes, tables), the
/// path code's count of it).
inline constexpr int outcome_program_columns(const SimulationView& v) {
  return kNumOutcomeFields * (1 + v.horizons.count) + (v.asset_pnl.record ? v.market.num_assets : 0) +
         (v.leg_detail.record ? LegDetailColumns::total(v.hedge.num_legs, v.hedge.num_accounts) : 0);
}

/// Structure-of-arrays storage for PathOutcome: column f starts at base + f * stride.
struct OutcomeColumns {
  double* base = nullptr;
  std::uint64_t stride = 0;  ///< doubles from one column to the next, at least the number of paths
};

}  // namespace betahedge
