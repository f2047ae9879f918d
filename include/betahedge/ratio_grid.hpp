#pragma once
/// The static hedge at every ratio of a grid, riding along on the market path of simulate_path
/// (common random numbers): derived from one unit account and a few per-ratio events rather than
/// carried as one hedge account per ratio through every step.
///
/// Unit accounts. U+ holds the static hedge at ratio 1 and meets no margin action: its pnl is
/// X+ = M - K, M its marks and funding, K its costs. U-, the static hedge at ratio -1 (the same
/// contract, opposite units), would have X- = -M - K = -X+ - 2K: it needs no account of its own.
/// Req(t) is the maintenance requirement of the side's unit account (a linear leg's is the same
/// on both sides; an option's is 0 bought, U+, and maintenance_rate x |units| x S written, U-),
/// N(t) = |units x price|. A
/// static hedge at ratio r != 0 holds a = |r| times the units of U+ (r > 0) or of U- (r < 0, a
/// long hedge). Marks, funding, the t0 trade, future rolls and option rolls at
/// static_units(r, V) are linear in the units and every cost is a rate times |units|, so until
/// its first margin call ratio r's pnl is a X (X = X+ or X-), its requirement a Req and its
/// |units x price| a N.
///
/// First call. With C >= 0 the collateral, margin_call_due (equity C + pnl) reads
///   C + a X < a Req - f (|C| + a N)  <=>  a D > C',  D = Req - X - f N,  C' = C + f |C|,
/// f = kMarginForgiveness. As C' >= 0, the larger |r| is called first: the ratios of a side not
/// yet called are those of smallest |r| (a prefix by |r|), and a step tests only the largest of
/// them (and the next while calls happen): amortised O(1). Ratio 0 is never called; its P&L is
/// the unhedged one.
///
/// liquidate: the account closes at the call (trade_to 0 at cost_rate a |units| x notional per
/// unit) and its pnl is frozen.
///
/// top_up (HedgeBook's margin rule): the book is sold pro rata, gross = (a IM - equity) / (1 - cost_rate)
/// with IM the side's unit requirement at initial_rate, holdings_scale *= 1 - gross / (scale V), and equity
/// becomes a IM(t1). From then on, equity = a (X(t) - kappa) with kappa = X(t1) - IM(t1), the same
/// for every ratio called at step t1, and the next call is
///   a (X - kappa) < a Req - f (|C| + a N)  <=>  a (D + kappa) > f |C|,
/// in which only the forgiveness depends on the ratio: the ratios topped up at one step form a
/// chain called again at the same steps. A chain tests its largest open member; on a call each
/// member is an event: its scale, or, when gross reaches its book scale V, the sale of the whole
/// book, which closes the hedge (apply_margin_rule) and freezes its pnl. Were the smaller members
/// spared by f |C| / a, the chain splits: the called part gets the new kappa. A future roll keeps
/// a (its cost is a times U's). An option roll buys static_units(r, scale V) = |r| scale times
/// U's new units: a member's multiple becomes a' = |r| scale, and its equity a (X - kappa) - a' k
/// (k U's roll cost) is a' (X' - kappa') with X' = X - k, kappa' = X - (a / a') (X - kappa), so a
/// chain parts into chains of one there.
///
/// Per-ratio state lives in arrays of kMaxGridRatios and is touched only at a ratio's events and
/// at the end. The rider rolls its own contracts statically, whatever the book's own hedge does.
///
/// One leg: the grid varies the ratio of a one-leg book's leg (legs[0], account 0); the host never
/// runs it for a hedge of several legs.
#include <cmath>
#include <cstdint>

#include "betahedge/bh_hd.hpp"
#include "betahedge/hedge_book.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

/// The simulate_path rider (see NoRider) for h.grid_ratios: writes, at `index` of `out`, in the
/// columns kNumOutcomeFields + RatioGridColumns(...):
///   pnl(r) = hedged P&L of the static hedge with the book's instrument at ratio r;
///   called(r) = 1 if ratio r met a margin call; unhedged P&L; unit_hedge_pnl = the ratio-1 hedge
///   P&L with no margin action (hedged(r) = unhedged + r unit_hedge_pnl for a ratio r >= 0 never
///   called); unit_shortfall = max over the path of the ratio-1 (requirement - pnl), at least 0
///   (ratio r > 0 is called iff C < r x it, up to the forgiveness).
/// Preconditions: h.num_legs == 1, grid_ratios ascending, num_grid_ratios <= kMaxGridRatios.
class RatioGridRider {
 public:
  BH_HD RatioGridRider(const SimulationView& v, const OutcomeColumns& out, std::uint64_t index)
      : v_(v), column_(out.base + index + kNumOutcomeFields * out.stride), stride_(out.stride) {
    const HedgeView& h = v.hedge;
    const int count = h.num_grid_ratios;
    int zero_begin = 0;
    while (zero_begin < count && h.grid_ratios[zero_begin] < 0.0) ++zero_begin;
    int zero_end = zero_begin;
    while (zero_end < count && h.grid_ratios[zero_end] == 0.0) ++zero_end;
    sides_[0] = {zero_end, 1, count - zero_end, count - zero_end, kNone};
    sides_[1] = {zero_begin - 1, -1, zero_begin, zero_begin, kNone};
  }

  /// After the hedge opens at t0: the leg's underlying price s, the regime of day 0.
  BH_HD void on_open(double s, int regime) {
    const LegView& leg = v_.hedge.legs[0];
    start_contract(leg, unit_, s, regime);
    trade_to<false>(leg, unit_, unit_account_, static_units(leg, 1.0, v_.portfolio.initial_value, s, unit_), s);
    unit_shortfall_ = side_requirement(0, s, v_.hedge.maintenance_rate) - unit_account_.pnl;
  }

  /// After a step's market move: the leg's underlying price s; `portfolio_value()` gives the
  /// original holdings' value, asked for only when a top-up needs it.
  template <class PortfolioValue>
  BH_HD void on_step(double s, int regime, int global_step, const PortfolioValue& portfolio_value) {
    const HedgeView& h = v_.hedge;
    const LegView& leg = h.legs[0];
    const int steps_per_day = v_.market.steps_per_day;
    advance_contract_clock(leg, unit_, 1.0 / steps_per_day);
    const double price = instrument_price(leg, s, regime, unit_.days_to_expiry, unit_.strike);
    mark_to_price<false>(leg, unit_, unit_account_, price, s, regime, global_step, steps_per_day);
    const double requirement[2] = {side_requirement(0, s, h.maintenance_rate),
                                   side_requirement(1, s, h.maintenance_rate)};
    unit_shortfall_ = larger(unit_shortfall_, requirement[0] - unit_account_.pnl);
    // D = Req - X - f N of each side.
    const double forgiveness = kMarginForgiveness * fabs(unit_.units * unit_.price);
    const double shortfall[2] = {requirement[0] - side_pnl(0) - forgiveness,
                                 requirement[1] - side_pnl(1) - forgiveness};
    if (!call_due(0, shortfall[0]) && !call_due(1, shortfall[1])) return;
    const double value = h.top_up ? portfolio_value() : 0.0;
    for (int side = 0; side < 2; ++side) meet_calls(side, shortfall[side], s, value);
  }

  /// The hooks as simulate_path calls them: the leg's underlying price, the original holdings' mark.
  template <int kLegs>
  BH_HD void on_open(const LegPrices<kLegs>& s, int regime, const PortfolioMark& /*start*/) {
    on_open(s.s[0], regime);
  }
  template <int kLegs, class PortfolioValue>
  BH_HD void on_step(const LegPrices<kLegs>& s, int regime, int global_step, const PortfolioValue& portfolio_value) {
    on_step(s.s[0], regime, global_step, portfolio_value);
  }
  template <int kLegs>
  BH_HD void on_day_end(const LegPrices<kLegs>& s, int regime, const PortfolioMark& now) {
    on_day_end(s.s[0], regime, now.value);
  }

  /// At the end of a day, after the book's rolls: the leg's underlying price s, the original
  /// holdings' value.
  BH_HD void on_day_end(double s, int regime, double portfolio_value) {
    const LegView& leg = v_.hedge.legs[0];
    const double days = unit_.days_to_expiry;
    const bool option_roll = leg.kind == HedgeKind::option && days <= kExpiryEpsilonDays;
    const bool future_roll = leg.kind == HedgeKind::future && days <= leg.roll_days_before + kExpiryEpsilonDays;
    if (!option_roll && !future_roll) return;
    const double pnl_before[2] = {side_pnl(0), side_pnl(1)};
    // The grid holds static hedges whatever the book's own programme.
    roll_if_due<false>(leg, HedgeProgramme{false, 0.0}, unit_, unit_account_, s, regime, portfolio_value, 0.0, 1.0);
    if (option_roll && v_.hedge.top_up)
      for (int side = 0; side < 2; ++side) part_chains(side, pnl_before[side]);
  }

  /// At the end of the path: the original holdings' final value.
  BH_HD void on_end(double final_value) {
    const HedgeView& h = v_.hedge;
    const int count = h.num_grid_ratios;
    const double value0 = v_.portfolio.initial_value;
    const double unhedged = final_value - value0;
    for (int i = 0; i < count; ++i) {
      if (h.grid_ratios[i] == 0.0) {
        column_[RatioGridColumns::pnl(i) * stride_] = unhedged;
        column_[RatioGridColumns::called(i) * stride_] = 0.0;
      }
    }
    for (int side = 0; side < 2; ++side) {
      const Side& d = sides_[side];
      const double x = side_pnl(side);
      for (int rank = 0; rank < d.size; ++rank) {
        const int i = at(d, rank);
        const bool called = rank >= d.uncalled;
        double pnl;
        if (!called)
          pnl = final_value - value0 + fabs(h.grid_ratios[i]) * x;
        else if (open_[i])
          pnl = scale_[i] * final_value - value0 + (multiple_[i] * (x - kappa_[i]) - collateral());
        else
          pnl = scale_[i] * final_value - value0 + pnl_[i];
        column_[RatioGridColumns::pnl(i) * stride_] = pnl;
        column_[RatioGridColumns::called(i) * stride_] = called ? 1.0 : 0.0;
      }
    }
    column_[RatioGridColumns::unhedged(count) * stride_] = unhedged;
    column_[RatioGridColumns::unit_hedge_pnl(count) * stride_] = unit_account_.pnl;
    column_[RatioGridColumns::unit_shortfall(count) * stride_] = fmax(unit_shortfall_, 0.0);
  }

 private:
  static constexpr int kNone = -1;

  /// The ratios of one sign by rank, |r| ascending: rank k is grid index origin + direction k.
  /// Ranks [0, uncalled) have met no call; the called ones that are still open form chains,
  /// each a range of ranks from its head (the lowest) to below its top, one past its largest
  /// open member, linked from first_chain through next_ (by head rank).
  struct Side {
    int origin;
    int direction;
    int size;
    int uncalled;
    int first_chain;
  };

  BH_HD static int at(const Side& side, int rank) { return side.origin + side.direction * rank; }

  /// X+ (side 0) or X- = -X+ - 2K (side 1).
  BH_HD double side_pnl(int side_index) const {
    return side_index == 0 ? unit_account_.pnl : -unit_account_.pnl - 2.0 * unit_account_.costs;
  }

  /// The requirement at `rate` of U+ (side 0) or U- (side 1), s the underlying's price.
  BH_HD double side_requirement(int side_index, double s, double rate) const {
    HedgeState side = unit_;
    side.units = side_index == 0 ? unit_.units : -unit_.units;
    return margin_requirement(v_.hedge.legs[0], side, s, rate);
  }

  BH_HD double collateral() const { return v_.hedge.collateral[0]; }

  BH_HD double collateral_forgiven() const { return collateral() + kMarginForgiveness * fabs(collateral()); }

  /// Whether any ratio of the side meets a call at unit shortfall D: the largest uncalled one, or
  /// the largest open member of a chain.
  BH_HD bool call_due(int side_index, double shortfall) const {
    const Side& side = sides_[side_index];
    const double* ratios = v_.hedge.grid_ratios;
    if (side.uncalled > 0 && fabs(ratios[at(side, side.uncalled - 1)]) * shortfall > collateral_forgiven()) return true;
    const double forgiven = kMarginForgiveness * fabs(collateral());
    for (int c = side.first_chain; c != kNone; c = next_[at(side, c)]) {
      const int top = at(side, top_[at(side, c)] - 1);
      if (multiple_[top] * (shortfall + kappa_[top]) > forgiven) return true;
    }
    return false;
  }

  /// Makes `chain` the successor of `previous` (kNone: the side's first chain).
  BH_HD void link(Side& side, int previous, int chain) {
    if (previous == kNone)
      side.first_chain = chain;
    else
      next_[at(side, previous)] = chain;
  }

  /// The calls of a step on one side: chains first, then first calls (a chain they form is not
  /// tested again this step). `value` is the original holdings' value (top_up only).
  BH_HD void meet_calls(int side_index, double shortfall, double s, double value) {
    const HedgeView& h = v_.hedge;
    Side& side = sides_[side_index];
    const double x = side_pnl(side_index);
    const double kappa_now = x - side_requirement(side_index, s, h.initial_rate);  // kappa of a ratio topped up now
    const double forgiven = kMarginForgiveness * fabs(collateral());

    int previous = kNone;
    for (int c = side.first_chain; c != kNone;) {
      const int head = at(side, c);
      const int next = next_[head];
      int rank = top_[head] - 1;
      const double kappa = kappa_[at(side, rank)];
      int called_top = kNone;  // one past the largest member this call left open
      for (; rank >= c; --rank) {
        const int i = at(side, rank);
        if (!open_[i]) continue;
        if (!(multiple_[i] * (shortfall + kappa) > forgiven)) break;
        const double equity = multiple_[i] * (x - kappa);
        if (meet_call(side_index, i, s, equity - collateral(), equity, value)) {
          kappa_[i] = kappa_now;
          if (called_top == kNone) called_top = rank + 1;
        }
      }
      if (rank >= c) {  // members [c, rank] were spared: they stay chain c, the called ones split off
        top_[head] = rank + 1;
        if (called_top != kNone) {
          top_[at(side, rank + 1)] = called_top;
          next_[at(side, rank + 1)] = c;
          link(side, previous, rank + 1);
        }
        previous = c;
      } else if (called_top != kNone) {
        top_[head] = called_top;
        previous = c;
      } else {  // every member closed
        link(side, previous, next);
      }
      c = next;
    }

    int called_top = kNone;
    while (side.uncalled > 0) {
      const int rank = side.uncalled - 1;
      const int i = at(side, rank);
      const double a = fabs(h.grid_ratios[i]);
      if (!(a * shortfall > collateral_forgiven())) break;
      multiple_[i] = a;
      scale_[i] = 1.0;
      const double pnl = a * x;
      if (meet_call(side_index, i, s, pnl, collateral() + pnl, value)) {
        kappa_[i] = kappa_now;
        if (called_top == kNone) called_top = rank + 1;
      }
      side.uncalled = rank;
    }
    if (called_top != kNone) {
      const int head = at(side, side.uncalled);
      top_[head] = called_top;
      next_[head] = side.first_chain;
      side.first_chain = side.uncalled;
    }
  }

  /// The margin rule for ratio i of side `side_index`, whose hedge account has `pnl` and `equity`
  /// (= collateral + pnl) and holds multiple_[i] x the side's unit units. True when a top-up
  /// leaves it open (its equity then multiple_[i] x the unit's initial margin); otherwise its pnl
  /// is frozen in pnl_.
  BH_HD bool meet_call(int side_index, int i, double s, double pnl, double equity, double value) {
    const HedgeView& h = v_.hedge;
    const LegView& leg = h.legs[0];
    const double a = multiple_[i];
    const double book = scale_[i] * value;
    if (h.top_up && book > 0.0) {
      const double gross = (a * side_requirement(side_index, s, h.initial_rate) - equity) / (1.0 - leg.cost_rate);
      if (gross < book) {
        scale_[i] = scale_[i] * (1.0 - gross / book);
        open_[i] = true;
        return true;
      }
      pnl += book * (1.0 - leg.cost_rate);  // the whole book sold: the hedge closes too
      scale_[i] = 0.0;
    }
    pnl_[i] = pnl - leg.cost_rate * fabs(a * unit_.units) * notional_per_unit(leg, unit_, s);
    open_[i] = false;
    return false;
  }

  /// At an option roll (top_up): every open member becomes a chain of its own, with multiple
  /// a' = |r| scale and kappa' = X - (a / a') (X - kappa), X the unit's pnl before the roll.
  BH_HD void part_chains(int side_index, double x) {
    const double* ratios = v_.hedge.grid_ratios;
    Side& side = sides_[side_index];
    int previous = kNone;
    for (int c = side.first_chain; c != kNone;) {
      const int head = at(side, c);
      const int next = next_[head], top = top_[head];
      for (int rank = c; rank < top; ++rank) {
        const int i = at(side, rank);
        if (!open_[i]) continue;
        const double multiple = fabs(ratios[i]) * scale_[i];
        kappa_[i] = x - multiple_[i] / multiple * (x - kappa_[i]);
        multiple_[i] = multiple;
        top_[i] = rank + 1;
        link(side, previous, rank);
        previous = rank;
      }
      c = next;
    }
    link(side, previous, kNone);
  }

  const SimulationView& v_;
  double* column_;  ///< the path's first grid column
  std::uint64_t stride_;
  HedgeState unit_;  ///< U+: ratio 1, no margin action (its position)
  AccountTotals unit_account_;  ///< U+'s account: its pnl and costs are X+ and K
  double unit_shortfall_ = 0.0;
  Side sides_[2];  ///< positive ratios, negative ratios

  // Per grid index, set at the ratio's first call.
  double multiple_[kMaxGridRatios];  ///< |units| / |unit's units|
  double scale_[kMaxGridRatios];     ///< holdings_scale of the ratio's book
  double kappa_[kMaxGridRatios];     ///< open: equity = multiple (X - kappa)
  double pnl_[kMaxGridRatios];       ///< closed: the hedge account's pnl, frozen at the close
  bool open_[kMaxGridRatios];        ///< topped up and open, rather than closed
  // Per chain, at its head's grid index (ranks).
  int top_[kMaxGridRatios];
  int next_[kMaxGridRatios];
};

}  // namespace betahedge
