// The ratio-grid rider (simulate_path_with_ratio_grid) against the brute-force reference that
// carries one full hedge account per ratio through every step (tests/reference_ratio_grid.hpp),
// path by path: every grid ratio's P&L within 1e-9 |V0|, the same called flags, the same bits
// for the unhedged and unit columns; and simulate_path's outcomes, bit for bit, in columns 0-8.
//
// A called flag (and the P&L that goes with it) may differ only where the reference itself is
// within 1e-9 of the call boundary: there the reference run with the collateral 1e-9 (|C| + |V0|)
// lower and the one with it as much higher disagree on that ratio's flag. Each test also checks
// that the calls it is about happened (or, with ample collateral, that none did).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "mismatches.hpp"
#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "hedged_test_book.hpp"
#include "reference_ratio_grid.hpp"

namespace betahedge {
namespace {

constexpr std::uint64_t kPaths = 3000;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// Every program's columns for the paths of one book, column-major ([column][path]).
struct Runs {
  std::uint64_t paths = 0;
  int count = 0;                  ///< grid ratios
  double value0 = 0.0;            ///< V0
  std::vector<double> ratios;     ///< the grid
  std::vector<double> rider;      ///< simulate_path_with_ratio_grid: outcomes, then the grid columns
  std::vector<double> outcomes;   ///< simulate_path
  std::vector<double> reference;  ///< reference_ratio_grid_path on the static view
  std::vector<double> below, above;  ///< the same with the collateral 1e-9 (|C| + |V0|) lower, higher

  double rider_grid(int column, std::uint64_t p) const { return rider[(kNumOutcomeFields + column) * paths + p]; }
  double ref(const std::vector<double>& v, int column, std::uint64_t p) const { return v[column * paths + p]; }
  /// The reference is within 1e-9 of ratio r's call boundary on path p.
  bool near_boundary(int r, std::uint64_t p) const {
    return ref(below, RatioGridColumns::called(r), p) != ref(above, RatioGridColumns::called(r), p);
  }
  double called_fraction(int r) const {
    double n = 0;
    for (std::uint64_t p = 0; p < paths; ++p) n += rider_grid(RatioGridColumns::called(r), p);
    return n / paths;
  }
  int index_of(double ratio) const {
    const auto it = std::find(ratios.begin(), ratios.end(), ratio);
    return it == ratios.end() ? -1 : static_cast<int>(it - ratios.begin());
  }
};

Runs run_programs(const Model& model, const BookConfig& book, std::uint64_t paths) {
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book);
  const SimulationView view = tables.view(tables.data.data());
  Runs r;
  r.paths = paths;
  r.count = view.hedge.num_grid_ratios;
  r.value0 = view.portfolio.initial_value;
  r.ratios.assign(view.hedge.grid_ratios, view.hedge.grid_ratios + r.count);
  const int grid_columns = RatioGridColumns::total(r.count);
  r.rider.assign((kNumOutcomeFields + grid_columns) * paths, 0.0);
  r.outcomes.assign(kNumOutcomeFields * paths, 0.0);
  for (auto* v : {&r.reference, &r.below, &r.above}) v->assign(grid_columns * paths, 0.0);

  SimulationView static_view = view;  // the grid holds static hedges whatever the book's mode
  static_view.hedge.dynamic = false;
  const double nudge = 1e-9 * (std::abs(view.hedge.collateral[0]) + std::abs(r.value0));
  SimulationView below = static_view, above = static_view;
  below.hedge.collateral[0] -= nudge;
  above.hedge.collateral[0] += nudge;
  with_path_capacity(view.market.num_assets, [&](auto capacity) {
    constexpr int kCapacity = decltype(capacity)::value;
    for (std::uint64_t p = 0; p < paths; ++p) {
      PhiloxStream rider_gen(view.seed, p);
      simulate_path_with_ratio_grid<kCapacity>(view, rider_gen, {r.rider.data(), paths}, p);
      PhiloxStream path_gen(view.seed, p);
      store_outcome({r.outcomes.data(), paths}, p, simulate_path<kCapacity>(view, path_gen));
      const std::pair<const SimulationView*, std::vector<double>*> references[] = {
          {&static_view, &r.reference}, {&below, &r.below}, {&above, &r.above}};
      for (const auto& [v, columns] : references) {
        PhiloxStream gen(view.seed, p);
        test::reference_ratio_grid_path<kCapacity>(*v, gen, {columns->data(), paths}, p);
      }
    }
  });
  return r;
}

using test::Mismatches;

/// The comparisons of the file's header; returns the number of excused (path, ratio) pairs.
int expect_rider_matches_reference(const Runs& r) {
  const double tolerance = 1e-9 * std::abs(r.value0);
  {
    Mismatches m("simulate_path's outcomes");
    for (int f = 0; f < kNumOutcomeFields; ++f)
      for (std::uint64_t p = 0; p < r.paths; ++p)
        m.check(same_bits(r.rider[f * r.paths + p], r.outcomes[f * r.paths + p]),
                "field " + std::to_string(f) + " path " + std::to_string(p));
  }
  {
    Mismatches m("unhedged and unit columns");
    for (int column : {RatioGridColumns::unhedged(r.count), RatioGridColumns::unit_hedge_pnl(r.count),
                       RatioGridColumns::unit_shortfall(r.count)})
      for (std::uint64_t p = 0; p < r.paths; ++p)
        m.check(same_bits(r.rider_grid(column, p), r.ref(r.reference, column, p)),
                "column " + std::to_string(column) + " path " + std::to_string(p));
  }
  int excused = 0;
  Mismatches flags("called flags"), pnl("grid P&L");
  for (int i = 0; i < r.count; ++i)
    for (std::uint64_t p = 0; p < r.paths; ++p) {
      if (r.near_boundary(i, p)) {
        ++excused;
        continue;
      }
      const std::string where = "ratio " + std::to_string(r.ratios[i]) + " path " + std::to_string(p);
      const double got = r.rider_grid(RatioGridColumns::pnl(i), p);
      const double want = r.ref(r.reference, RatioGridColumns::pnl(i), p);
      flags.check(r.rider_grid(RatioGridColumns::called(i), p) == r.ref(r.reference, RatioGridColumns::called(i), p),
                  where);
      pnl.check(std::abs(got - want) <= tolerance, where + ": " + std::to_string(got) + " vs " + std::to_string(want));
    }
  // The boundary is a set of measure zero: a handful of excused pairs at most.
  EXPECT_LE(excused, 3) << "pairs excused as within 1e-9 of the call boundary";
  return excused;
}

/// With a static book whose ratio is on the grid, simulate_path's own hedge is that ratio's
/// account: its hedged P&L and whether it was called are a third opinion on the column.
void expect_book_hedge_matches_its_column(const Runs& r, double ratio) {
  const int i = r.index_of(ratio);
  ASSERT_GE(i, 0) << ratio << " is not on the grid";
  const double tolerance = 1e-9 * std::abs(r.value0);
  Mismatches m("the book's own static hedge at ratio " + std::to_string(ratio));
  for (std::uint64_t p = 0; p < r.paths; ++p) {
    if (r.near_boundary(i, p)) continue;
    const double hedged = r.outcomes[static_cast<int>(OutcomeField::pnl_hedged) * r.paths + p];
    const bool called = r.outcomes[static_cast<int>(OutcomeField::first_call_step) * r.paths + p] >= 0.0;
    m.check(std::abs(hedged - r.rider_grid(RatioGridColumns::pnl(i), p)) <= tolerance &&
                called == (r.rider_grid(RatioGridColumns::called(i), p) == 1.0),
            "path " + std::to_string(p));
  }
}

/// The collateral at which a fraction `fraction` of the paths call the static hedge at `ratio`
/// (> 0): ratio x the (1 - fraction) quantile of the ratio-1 shortfall.
double collateral_calling(const Model& model, BookConfig book, double ratio, double fraction) {
  book.margin.collateral = 1e9;
  const Runs r = run_programs(model, book, 1000);
  std::vector<double> shortfall(r.paths);
  for (std::uint64_t p = 0; p < r.paths; ++p) shortfall[p] = r.rider_grid(RatioGridColumns::unit_shortfall(r.count), p);
  std::sort(shortfall.begin(), shortfall.end());
  return ratio * shortfall[static_cast<std::size_t>((1.0 - fraction) * r.paths)];
}

BookConfig static_book(const Model& model, HedgeInstrument instrument, MarginAction on_call, HedgeRatioGrid grid) {
  BookConfig book = test::hedged_test_book(model, instrument, HedgeMode::static_ratio);
  book.margin.on_call = on_call;
  book.risk.hedge_ratio_grid = grid;
  test::hedge_leg(book).ratio = grid.to;
  return book;
}

/// The book at a collateral that calls about half the paths at the grid's largest ratio: the
/// rider against the reference, and the calls that were meant to happen. Then the same book at
/// ample collateral: no call, and every ratio linear, unhedged + r x unit hedge P&L.
void expect_grid_matches_reference_with_and_without_calls(const Model& model, BookConfig book,
                                                          bool negative_ratios_called = true) {
  const double top = book.risk.hedge_ratio_grid.to;
  book.margin.collateral = collateral_calling(model, book, top, 0.5);
  {
    SCOPED_TRACE("collateral " + std::to_string(*book.margin.collateral) + ", calls");
    const Runs r = run_programs(model, book, kPaths);
    expect_rider_matches_reference(r);
    const double called = r.called_fraction(r.count - 1);
    EXPECT_GT(called, 0.3);
    EXPECT_LT(called, 0.7);
    if (r.ratios.front() < 0.0 && negative_ratios_called) {
      EXPECT_GT(r.called_fraction(0), 0.01);
    }
    const int zero = r.index_of(0.0);
    if (zero >= 0) {
      EXPECT_EQ(r.called_fraction(zero), 0.0);
      for (std::uint64_t p = 0; p < r.paths; ++p)
        ASSERT_TRUE(same_bits(r.rider_grid(RatioGridColumns::pnl(zero), p),
                              r.rider_grid(RatioGridColumns::unhedged(r.count), p)))
            << "path " << p;
    }
    if (book.hedge.mode == HedgeMode::static_ratio) expect_book_hedge_matches_its_column(r, test::hedge_leg(book).ratio);
  }
  book.margin.collateral = 1e9;
  {
    SCOPED_TRACE("ample collateral, no calls");
    const Runs r = run_programs(model, book, kPaths);
    expect_rider_matches_reference(r);
    for (int i = 0; i < r.count; ++i) EXPECT_EQ(r.called_fraction(i), 0.0) << r.ratios[i];
    const double tolerance = 1e-9 * std::abs(r.value0);
    for (int i = 0; i < r.count; ++i) {
      if (r.ratios[i] < 0.0) continue;  // hedged(r) = U + r G holds for r >= 0 (costs are |r| G's)
      for (std::uint64_t p = 0; p < r.paths; p += 7)
        ASSERT_NEAR(r.rider_grid(RatioGridColumns::pnl(i), p),
                    r.rider_grid(RatioGridColumns::unhedged(r.count), p) +
                        r.ratios[i] * r.rider_grid(RatioGridColumns::unit_hedge_pnl(r.count), p),
                    tolerance)
            << "ratio " << r.ratios[i] << " path " << p;
    }
  }
}

constexpr HedgeRatioGrid kSignedGrid{-1.0, 2.0, 0.1};  // 31 ratios, 0 among them

TEST(RatioGridRider, PerpetualLiquidate) {
  const Model m = make_synthetic_model(3, 2);
  expect_grid_matches_reference_with_and_without_calls(
      m, static_book(m, HedgeInstrument::perpetual, MarginAction::liquidate, kSignedGrid));
}

TEST(RatioGridRider, PerpetualTopUp) {
  const Model m = make_synthetic_model(3, 2);
  expect_grid_matches_reference_with_and_without_calls(
      m, static_book(m, HedgeInstrument::perpetual, MarginAction::top_up, kSignedGrid));
}

// Expiry 10 days, rolled 2 before: rolls on days 8, 16 and 24 of the 30.
TEST(RatioGridRider, FutureWithRollsLiquidate) {
  const Model m = make_synthetic_model(3, 2);
  expect_grid_matches_reference_with_and_without_calls(
      m, static_book(m, HedgeInstrument::future, MarginAction::liquidate, kSignedGrid));
}

TEST(RatioGridRider, FutureWithRollsTopUp) {
  const Model m = make_synthetic_model(3, 2);
  expect_grid_matches_reference_with_and_without_calls(
      m, static_book(m, HedgeInstrument::future, MarginAction::top_up, kSignedGrid));
}

// 7-day options, rolled 4 times; negative ratios sell them. With top-up, each roll buys
// static_units(r, scale V) and parts the chains.
TEST(RatioGridRider, PutLiquidateAndTopUp) {
  const Model m = make_synthetic_model(3, 2);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    SCOPED_TRACE(on_call == MarginAction::top_up ? "top_up" : "liquidate");
    expect_grid_matches_reference_with_and_without_calls(
        m, static_book(m, HedgeInstrument::option, on_call, {-1.0, 3.0, 0.25}));
  }
}

TEST(RatioGridRider, CallLiquidateAndTopUp) {
  const Model m = make_synthetic_model(3, 2);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    SCOPED_TRACE(on_call == MarginAction::top_up ? "top_up" : "liquidate");
    BookConfig book = static_book(m, HedgeInstrument::option, on_call, {-1.0, 3.0, 0.25});
    test::hedge_leg(book).option.is_call = true;
    expect_grid_matches_reference_with_and_without_calls(m, book);
  }
}

// kMaxGridRatios ratios, from -0.5 to 2.04 by 0.02.
TEST(RatioGridRider, FullGridTopUp) {
  const Model m = make_synthetic_model(3, 2);
  const BookConfig book = static_book(m, HedgeInstrument::perpetual, MarginAction::top_up, {-0.5, 2.04, 0.02});
  ASSERT_EQ(static_cast<int>(hedge_ratio_grid(book.risk.hedge_ratio_grid).size()), kMaxGridRatios);
  expect_grid_matches_reference_with_and_without_calls(m, book, false);
}

// Four steps a day (funding at 8-hour marks between steps) and a roll on day 8 of 12.
TEST(RatioGridRider, IntradayStepsFutureTopUp) {
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = static_book(m, HedgeInstrument::future, MarginAction::top_up, kSignedGrid);
  book.simulation.steps_per_day = 4;
  book.simulation.horizon_days = 12;
  expect_grid_matches_reference_with_and_without_calls(m, book);
}

TEST(RatioGridRider, StudentTLiquidateAndTopUp) {
  const Model m = make_synthetic_model(5, 3, Distribution::student_t);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    SCOPED_TRACE(on_call == MarginAction::top_up ? "top_up" : "liquidate");
    expect_grid_matches_reference_with_and_without_calls(
        m, static_book(m, HedgeInstrument::perpetual, on_call, kSignedGrid));
  }
}

// Initial margin at maintenance: a top-up leaves equity on the call boundary, so every adverse
// step after the first call is another call of the whole chain.
TEST(RatioGridRider, TopUpToMaintenanceCallsChainsAgainAndAgain) {
  const Model m = make_synthetic_model(3, 2);
  BookConfig book = static_book(m, HedgeInstrument::perpetual, MarginAction::top_up, kSignedGrid);
  book.margin.initial_rate = book.margin.maintenance_rate = 0.05;
  expect_grid_matches_reference_with_and_without_calls(m, book);
}

// Initial margin of half the notional: at ratio 10 a top-up must sell more than the book, which
// sells it all and liquidates the hedge (every call does); at ratio 1 the calls top up.
TEST(RatioGridRider, TopUpThatSellsTheWholeBook) {
  const Model m = make_synthetic_model(3, 2);
  BookConfig book = static_book(m, HedgeInstrument::perpetual, MarginAction::top_up, {0.0, 10.0, 0.5});
  book.margin.initial_rate = 0.5;
  book.margin.collateral = collateral_calling(m, book, 2.0, 0.5);
  for (double ratio : {10.0, 1.0}) {
    SCOPED_TRACE("the book's ratio " + std::to_string(ratio));
    test::hedge_leg(book).ratio = ratio;
    const Runs r = run_programs(m, book, kPaths);
    expect_rider_matches_reference(r);
    expect_book_hedge_matches_its_column(r, ratio);
    double liquidated = 0.0, called = 0.0;
    for (std::uint64_t p = 0; p < r.paths; ++p) {
      liquidated += r.outcomes[static_cast<int>(OutcomeField::liquidated) * r.paths + p];
      called += r.outcomes[static_cast<int>(OutcomeField::first_call_step) * r.paths + p] >= 0.0 ? 1.0 : 0.0;
    }
    if (ratio == 10.0) {
      EXPECT_GT(called, 0.3 * r.paths);
      EXPECT_EQ(liquidated, called);
    } else {
      EXPECT_GT(called, 0.05 * r.paths);
      EXPECT_LT(liquidated, 0.5 * called);
    }
  }
}

// The book's own hedge dynamic: columns 0-8 are its outcomes, the grid stays static.
TEST(RatioGridRider, DynamicBookKeepsItsOutcomesAndAStaticGrid) {
  const Model m = make_synthetic_model(8, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic);
  book.risk.hedge_ratio_grid = kSignedGrid;
  expect_grid_matches_reference_with_and_without_calls(m, book);
}

// A chain splits only where the forgiveness 1e-12 |C| / a spares its smaller members, a window
// no simulated path finds. Here the rider is fed prices by hand: a short perpetual on a book of
// the benchmark, ratios 1 and 2 topped up together at step 0 (a chain), then a price at which
// a (D + kappa) = 1.5e-12 C for ratio 2 and 0.75e-12 C for ratio 1: only ratio 2 is called; at
// step 2 both are. Against each ratio's own account under the margin rule (apply_one_leg_margin_rule).
TEST(RatioGridRider, ChainSplitsWhereOnlyTheForgivenessSparesItsSmallerMembers) {
  const double funding[1] = {0.0};
  const double ratios[] = {-1.0, 0.0, 1.0, 2.0};
  const int count = 4;
  const double holdings = 1e5, s0 = 100.0, collateral = 1e6, im = 0.1, mm = 0.05;
  SimulationView v;
  v.market.num_assets = 1;
  v.market.num_regimes = 1;
  v.market.num_days = 4;
  v.market.steps_per_day = 1;
  v.portfolio.initial_value = holdings * s0;
  HedgeView& h = v.hedge;
  h.num_legs = 1;
  LegView& leg = h.legs[0];
  leg.kind = HedgeKind::perpetual;
  leg.funding_rate = funding;
  leg.cost_rate = 7e-4;
  h.collateral[0] = collateral;
  h.initial_rate = im;
  h.maintenance_rate = mm;
  h.top_up = true;
  h.num_grid_ratios = count;
  h.grid_ratios = ratios;
  // After the top-up at s1, D + kappa = mm n s - im n s1 + n (s - s1) - f n s for the unit's
  // n = V0 / s0 units short: s2 puts it at 0.75 f C.
  const double n = v.portfolio.initial_value / s0, s1 = 120.0, f = kMarginForgiveness;
  const double s2 = (0.75 * f * collateral / n + (1.0 + im) * s1) / (1.0 + mm - f);
  const double prices[] = {s1, s2, 135.0, 110.0};

  std::vector<double> columns(kNumOutcomeFields + RatioGridColumns::total(count));
  RatioGridRider rider(v, {columns.data(), 1}, 0);
  rider.on_open(s0, 0);
  for (int step = 0; step < 4; ++step) {
    rider.on_step(prices[step], 0, step, MarkedPortfolioValue{holdings * prices[step]});
    rider.on_day_end(prices[step], 0, holdings * prices[step]);
  }
  rider.on_end(holdings * prices[3]);

  for (int r = 0; r < count; ++r) {
    HedgeState account;
    AccountTotals totals;
    start_contract(leg, account, s0, 0);
    trade_to(leg, account, totals, static_units(leg, ratios[r], v.portfolio.initial_value, s0, account), s0);
    double scale = 1.0;
    std::vector<int> calls;
    for (int step = 0; step < 4; ++step) {
      mark_hedge(leg, account, totals, prices[step], 0, 1.0, step, 1);
      if (test::apply_one_leg_margin_rule(h, leg, account, totals, collateral, prices[step],
                                          scale * holdings * prices[step], scale))
        calls.push_back(step);
      ASSERT_TRUE(account.active);  // topped up, never closed
    }
    const std::vector<int> expected_calls = ratios[r] == 2.0 ? std::vector<int>{0, 1, 2}
                                            : ratios[r] == 1.0 ? std::vector<int>{0, 2}
                                                               : std::vector<int>{};
    ASSERT_EQ(calls, expected_calls) << "ratio " << ratios[r] << ": the prices do not make the case";
    const double pnl = scale * holdings * prices[3] - v.portfolio.initial_value + totals.pnl;
    EXPECT_NEAR(columns[kNumOutcomeFields + RatioGridColumns::pnl(r)], pnl, 1e-9 * v.portfolio.initial_value)
        << "ratio " << ratios[r];
    EXPECT_EQ(columns[kNumOutcomeFields + RatioGridColumns::called(r)], calls.empty() ? 0.0 : 1.0) << ratios[r];
  }
}

}  // namespace
}  // namespace betahedge
