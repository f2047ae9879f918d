// Hedges of several legs (issue 13) against hand computations and independent implementations:
// cross and isolated margin on replayed prices (a BTC short that gains while an ETH short
// loses), liquidation and top-up per account, a collar's premiums, payoffs and written-call
// requirement, the leg detail's identities, a leg of ratio 0, the dynamic trade's split by
// weight, the min_variance weights, one-leg books at every leg capacity, and the inputs refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "config/book_config.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "model/model_json.hpp"
#include "hedged_test_book.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// BTC (the benchmark, spot 100), ETH (spot 50) and SOL (spot 20), one regime.
Model three_asset_model(double vol = 0.01) {
  Model m;
  m.assets = {"BTC", "ETH", "SOL"};
  m.benchmark = "BTC";
  m.regimes = {Regime{"only", {0.0, 0.0, 0.0}, {vol, 1.5 * vol, 2.0 * vol},
                      {1.0, 0.6, 0.5, 0.6, 1.0, 0.7, 0.5, 0.7, 1.0}, std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {100.0, 50.0, 20.0};
  validate_model(m, "test");
  return m;
}

HedgeLegConfig leg(int i, HedgeInstrument instrument, const std::string& underlying, double ratio) {
  HedgeLegConfig l;
  l.field = "hedge.legs[" + std::to_string(i) + "]";
  l.instrument = instrument;
  l.benchmark = underlying;
  l.ratio = ratio;
  return l;
}

/// 500 SOL (V0 = 10,000) hedged, statically, by a BTC perpetual and an ETH perpetual, each short
/// half of V0: 50 BTC and 100 ETH. No fees, no funding; margin 10% initial, 5% maintenance.
BookConfig two_perpetuals(MarginMode mode, MarginAction on_call) {
  BookConfig b;
  b.source = "book.yaml";
  b.holdings = {{"SOL", 500.0}};
  b.hedge.legs = {leg(0, HedgeInstrument::perpetual, "BTC", 0.5), leg(1, HedgeInstrument::perpetual, "ETH", 0.5)};
  b.margin.mode = mode;
  b.margin.on_call = on_call;
  b.margin.initial_rate = 0.10;
  b.margin.maintenance_rate = 0.05;
  return b;
}

/// The book at the end of a replayed day, after its rolls and beta check.
struct DayState {
  double units[kMaxHedgeLegs];
  bool active[kMaxHedgeLegs];
  double leg_pnl[kMaxHedgeLegs];
  double account_pnl[kMaxHedgeLegs];
  double cash[kMaxHedgeLegs];
  double account_first_call[kMaxHedgeLegs];
  double holdings_scale;
};

struct DayRecorder {
  std::vector<DayState>* days;
  void on_day(int /*day*/, int /*regime*/) const {}
  void on_beta_check(int /*day*/, double /*before*/, double /*after*/) const {}
  template <class Book, int kCapacity>
  void on_day_end(int /*day*/, const Book& book, const double (&/*log_price*/)[kCapacity]) const {
    DayState d{};
    for (int l = 0; l < kMaxHedgeLegs; ++l) {
      d.units[l] = book.real[l].units;
      d.active[l] = book.real[l].active;
      d.leg_pnl[l] = book.real[l].pnl;
      d.account_pnl[l] = book.account[l].pnl;
      d.cash[l] = book.account[l].cash;
      d.account_first_call[l] = book.account_first_call[l];
    }
    d.holdings_scale = book.holdings_scale;
    days->push_back(d);
  }
};

struct Replayed {
  std::vector<DayState> days;  ///< [day - 1]
  PathOutcome outcome;
};

/// The book on one deterministic path: day d's log returns of BTC, ETH, SOL in prices[d] /
/// prices[d - 1] (prices[0] the model's spot).
Replayed replay(const Model& model, BookConfig book, const std::vector<std::vector<double>>& prices) {
  const int days = static_cast<int>(prices.size()) - 1;
  book.simulation.horizon_days = days;
  const SimulationTables tables = build_simulation_tables(model, make_portfolio(model, book), book);
  const SimulationView v = tables.view(tables.data.data());
  std::vector<int> regimes(days + 1, 0);
  std::vector<double> log_returns(static_cast<std::size_t>(days) * 4, 0.0);  // capacity 4
  for (int d = 1; d <= days; ++d)
    for (int i = 0; i < 3; ++i) log_returns[(d - 1) * 4 + i] = std::log(prices[d][i] / prices[d - 1][i]);
  HistoricalMarket market{regimes.data(), log_returns.data()};
  Replayed r;
  r.outcome = simulate_market_path<4>(v, market, DayRecorder{&r.days});
  return r;
}

// BTC 100 -> 90 -> 85, ETH 50 -> 60 -> 55, SOL 20 -> 20 -> 21. Day 1: the BTC short gains
// 50 x 10 = 500, the ETH short loses 100 x 10 = 1,000; requirements 5% of 50 x 90 = 225 and of
// 100 x 60 = 300. Day 2: BTC short 50 x 15 = 750, ETH short -100 x 5 = -500 in all.
const std::vector<std::vector<double>> kPrices = {{100, 50, 20}, {90, 60, 20}, {85, 55, 21}};
constexpr double kValue0 = 10000.0;
constexpr double kTolerance = 1e-9 * kValue0;

// Cross, collateral 1,200: equity 1,200 + 500 - 1,000 = 700 >= 525: no call, the gain covers.
// Isolated, 600 each: ETH's account 600 - 1,000 = -400 < 300 is called on day 1 and liquidated;
// BTC's (1,100 >= 225) runs on. The same total collateral.
TEST(Legs, CrossCoversTheLossThatCallsTheIsolatedAccount) {
  const Model m = three_asset_model();
  BookConfig cross = two_perpetuals(MarginMode::cross, MarginAction::liquidate);
  cross.margin.collateral = 1200.0;
  const Replayed c = replay(m, cross, kPrices);
  ASSERT_EQ(c.days.size(), 2u);
  EXPECT_EQ(c.outcome.first_call_step, -1.0);
  EXPECT_EQ(c.outcome.liquidated, 0.0);
  for (const DayState& d : c.days) {
    EXPECT_NEAR(d.units[0], -50.0, 1e-12);
    EXPECT_NEAR(d.units[1], -100.0, 1e-12);
  }
  EXPECT_NEAR(c.days[0].leg_pnl[0], 500.0, kTolerance);
  EXPECT_NEAR(c.days[0].leg_pnl[1], -1000.0, kTolerance);
  EXPECT_NEAR(c.days[0].account_pnl[0], -500.0, kTolerance);  // one account: both legs
  EXPECT_NEAR(c.days[1].leg_pnl[0], 750.0, kTolerance);
  EXPECT_NEAR(c.days[1].leg_pnl[1], -500.0, kTolerance);
  EXPECT_NEAR(c.outcome.pnl_unhedged, 500.0, kTolerance);
  EXPECT_NEAR(c.outcome.pnl_hedged, 500.0 + 750.0 - 500.0, kTolerance);
  EXPECT_NEAR(c.outcome.min_equity, 700.0, kTolerance);

  BookConfig isolated = two_perpetuals(MarginMode::isolated, MarginAction::liquidate);
  isolated.margin.leg_collateral = {600.0, 600.0};
  const Replayed i = replay(m, isolated, kPrices);
  EXPECT_EQ(i.outcome.first_call_step, 1.0);
  EXPECT_EQ(i.outcome.liquidated, 1.0);
  EXPECT_EQ(i.days[1].account_first_call[0], -1.0);
  EXPECT_EQ(i.days[1].account_first_call[1], 1.0);
  for (const DayState& d : i.days) {  // only the called account's leg closed
    EXPECT_TRUE(d.active[0]);
    EXPECT_NEAR(d.units[0], -50.0, 1e-12);
    EXPECT_FALSE(d.active[1]);
    EXPECT_EQ(d.units[1], 0.0);
  }
  EXPECT_NEAR(i.days[0].account_pnl[0], 500.0, kTolerance);
  EXPECT_NEAR(i.days[0].account_pnl[1], -1000.0, kTolerance);
  EXPECT_NEAR(i.days[1].account_pnl[0], 750.0, kTolerance);
  EXPECT_NEAR(i.days[1].account_pnl[1], -1000.0, kTolerance);  // closed at 60: ETH's fall to 55 is not its
  EXPECT_NEAR(i.outcome.pnl_hedged, 500.0 + 750.0 - 1000.0, kTolerance);
  // The accounts together: 600 + 500 + 600 - 1,000 at day 1's mark.
  EXPECT_NEAR(i.outcome.min_equity, 700.0, kTolerance);
}

// Isolated, top_up: ETH's account (equity -400) is restored to its initial margin, 10% of
// 100 x 60 = 600, by selling 1,000 of the 10,000 of SOL (no costs): holdings_scale 0.9. Its leg
// stays open and gains 500 on day 2. Hedged P&L = 0.9 x 10,500 - 10,000 + 750 - 500 + 1,000.
TEST(Legs, IsolatedTopUpRestoresTheCalledAccountOnly) {
  const Model m = three_asset_model();
  BookConfig book = two_perpetuals(MarginMode::isolated, MarginAction::top_up);
  book.margin.leg_collateral = {600.0, 600.0};
  const Replayed r = replay(m, book, kPrices);
  EXPECT_EQ(r.outcome.first_call_step, 1.0);
  EXPECT_EQ(r.outcome.liquidated, 0.0);
  const DayState& day1 = r.days[0];
  EXPECT_NEAR(day1.holdings_scale, 0.9, 1e-12);
  EXPECT_NEAR(day1.cash[1], 1000.0, kTolerance);
  EXPECT_NEAR(600.0 + day1.account_pnl[1], 600.0, kTolerance);
  EXPECT_EQ(day1.cash[0], 0.0);
  EXPECT_NEAR(day1.account_pnl[0], 500.0, kTolerance);
  for (const DayState& d : r.days) EXPECT_TRUE(d.active[0] && d.active[1]);
  const DayState& day2 = r.days[1];
  EXPECT_NEAR(day2.leg_pnl[1], -500.0, kTolerance);  // its marks only
  EXPECT_NEAR(day2.account_pnl[1], 500.0, kTolerance);
  EXPECT_NEAR(r.outcome.pnl_hedged, 0.9 * 10500.0 - kValue0 + 750.0 - 500.0 + 1000.0, kTolerance);
  EXPECT_EQ(r.outcome.costs, 0.0);
}

// Cross, collateral 800: 800 - 500 = 300 < 225 + 300: the one account is called on day 1.
// liquidate closes both legs there; top_up restores it to 10% of 50 x 90 + 100 x 60 = 1,050,
// selling 750 of SOL.
TEST(Legs, LiquidationUnderCrossClosesEveryLeg) {
  const Model m = three_asset_model();
  BookConfig book = two_perpetuals(MarginMode::cross, MarginAction::liquidate);
  book.margin.collateral = 800.0;
  const Replayed r = replay(m, book, kPrices);
  EXPECT_EQ(r.outcome.first_call_step, 1.0);
  EXPECT_EQ(r.outcome.liquidated, 1.0);
  for (const DayState& d : r.days)
    for (int l = 0; l < 2; ++l) {
      EXPECT_FALSE(d.active[l]);
      EXPECT_EQ(d.units[l], 0.0);
    }
  EXPECT_NEAR(r.outcome.pnl_hedged, 500.0 - 500.0, kTolerance);

  book.margin.on_call = MarginAction::top_up;
  const Replayed t = replay(m, book, kPrices);
  EXPECT_EQ(t.outcome.liquidated, 0.0);
  EXPECT_NEAR(t.days[0].holdings_scale, 1.0 - 750.0 / kValue0, 1e-12);
  EXPECT_NEAR(800.0 + t.days[0].account_pnl[0], 1050.0, kTolerance);
  EXPECT_NEAR(t.outcome.pnl_hedged, (1.0 - 750.0 / kValue0) * 10500.0 - kValue0 + 250.0 + 750.0, kTolerance);
}

/// Black-Scholes, written out here (not the engine's): the price of a call or put.
double bs_price(bool call, double s, double k, double tau, double vol, double rate) {
  if (tau <= 0.0) return call ? std::max(s - k, 0.0) : std::max(k - s, 0.0);
  const auto n = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double d1 = (std::log(s / k) + (rate + 0.5 * vol * vol) * tau) / (vol * std::sqrt(tau));
  const double d2 = d1 - vol * std::sqrt(tau);
  return call ? s * n(d1) - k * std::exp(-rate * tau) * n(d2) : k * std::exp(-rate * tau) * n(-d2) - s * n(-d1);
}

// A collar on 100 BTC: a bought 90% put and a written 110% call, 3-day tenor, one of each per
// BTC held. Premiums at BS, payoffs at expiry, and the written call margined on 5% of |units| x S
// (the put, bought, on nothing): the shadow's shortfall is max_t (0.05 x 100 x S_t - pnl_t).
TEST(Legs, CollarPremiumsPayoffsAndTheWrittenCallsRequirement) {
  const Model m = three_asset_model(0.02);
  const double vol = 0.02 * std::sqrt(365.0), rate = 0.02, tenor = 3.0, mm = 0.05;
  BookConfig book;
  book.source = "book.yaml";
  book.holdings = {{"BTC", 100.0}};
  HedgeLegConfig put = leg(0, HedgeInstrument::option, "BTC", 1.0);
  put.option = {false, 0.9, 3, 1.0, rate};
  HedgeLegConfig call = leg(1, HedgeInstrument::option, "BTC", -1.0);
  call.option = {true, 1.1, 3, 1.0, rate};
  book.hedge.legs = {put, call};
  book.margin.collateral = 1e6;
  book.margin.maintenance_rate = mm;
  const std::vector<std::vector<double>> prices = {{100, 50, 20}, {104, 50, 20}, {112, 50, 20}, {115, 50, 20}};

  // The open: 100 puts bought, 100 calls written, each marked at its BS premium.
  book.simulation.horizon_days = 3;
  const SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
  const SimulationView v = tables.view(tables.data.data());
  HedgeBook<true, kMaxHedgeLegs> opened;
  LegPrices<kMaxHedgeLegs> spot{};
  spot.s[0] = spot.s[1] = 100.0;
  opened.open(v.hedge, programme_of(v.hedge), spot, 0, {kValue0, 1.0});
  const double p0 = bs_price(false, 100.0, 90.0, tenor / 365.0, vol, rate);
  const double c0 = bs_price(true, 100.0, 110.0, tenor / 365.0, vol, rate);
  EXPECT_NEAR(opened.real[0].price, p0, 1e-12 * 100.0);
  EXPECT_NEAR(opened.real[1].price, c0, 1e-12 * 100.0);
  EXPECT_NEAR(opened.real[0].units, 100.0, 1e-12);
  EXPECT_NEAR(opened.real[1].units, -100.0, 1e-12);
  // The requirement: the written call's 5% x 100 x S, the bought put's none.
  EXPECT_NEAR(margin_requirement(v.hedge.legs[1], opened.real[1], 104.0, mm), mm * 100.0 * 104.0, 1e-9);
  EXPECT_EQ(margin_requirement(v.hedge.legs[0], opened.real[0], 104.0, mm), 0.0);

  // The path: at expiry (day 3, S = 115) the put pays max(90 - 115, 0) = 0, the written call
  // -max(115 - 110, 0) = -5 a unit; the legs' P&L = units x (payoff - premium) (no costs).
  const Replayed r = replay(m, book, prices);
  EXPECT_NEAR(r.days[2].leg_pnl[0], 100.0 * (0.0 - p0), 1e-9 * kValue0);
  EXPECT_NEAR(r.days[2].leg_pnl[1], -100.0 * (5.0 - c0), 1e-9 * kValue0);
  EXPECT_NEAR(r.outcome.pnl_hedged, r.outcome.pnl_unhedged + 100.0 * (0.0 - p0) - 100.0 * (5.0 - c0), 1e-9 * kValue0);

  double shortfall = -1e300;
  for (int t = 0; t <= 3; ++t) {
    const double s = prices[t][0], tau = (tenor - t) / 365.0;
    const double pnl = 100.0 * (bs_price(false, s, 90.0, tau, vol, rate) - p0) -
                       100.0 * (bs_price(true, s, 110.0, tau, vol, rate) - c0);
    shortfall = std::max(shortfall, mm * 100.0 * s - pnl);
  }
  EXPECT_NEAR(r.outcome.collateral_shortfall, shortfall, 1e-9 * kValue0);
  ASSERT_GT(shortfall, 500.0);  // the call's rise made the requirement bite
  // That requirement calls the account: just under the shortfall, a call; just over, none.
  book.margin.collateral = shortfall * (1.0 - 1e-6);
  EXPECT_GE(replay(m, book, prices).outcome.first_call_step, 1.0);
  book.margin.collateral = shortfall * (1.0 + 1e-6);
  EXPECT_EQ(replay(m, book, prices).outcome.first_call_step, -1.0);
}

/// Every column of the plain program with the leg detail, path by path, and each path's
/// holdings_scale and top-up cash at its end.
struct Detailed {
  std::uint64_t paths = 0;
  int legs = 0, accounts = 0, first_detail = 0;
  std::vector<double> columns;  ///< [column][path]
  std::vector<double> scale, cash;
  double at(int column, std::uint64_t p) const { return columns[column * paths + p]; }
  double field(OutcomeField f, std::uint64_t p) const { return at(static_cast<int>(f), p); }
  double detail(int column, std::uint64_t p) const { return at(first_detail + column, p); }
};

struct EndRecorder {
  double* scale;
  double* cash;
  int days;
  void on_day(int /*day*/, int /*regime*/) const {}
  void on_beta_check(int /*day*/, double /*before*/, double /*after*/) const {}
  template <class Book, int kCapacity>
  void on_day_end(int day, const Book& book, const double (&/*log_price*/)[kCapacity]) const {
    if (day != days) return;
    *scale = book.holdings_scale;
    *cash = 0.0;
    for (int a = 0; a < kMaxHedgeLegs; ++a) *cash += book.account[a].cash;
  }
};

Detailed run_detailed(const Model& model, const BookConfig& book, std::uint64_t paths) {
  SimulationTables tables = build_simulation_tables(model, make_portfolio(model, book), book);
  tables.scalars.leg_detail.record = true;
  const SimulationView v = tables.view(tables.data.data());
  Detailed r;
  r.paths = paths;
  r.legs = v.hedge.num_legs;
  r.accounts = v.hedge.num_accounts;
  r.first_detail = leg_detail_first_column(PathProgram::outcomes, tables);
  const int columns = program_columns(PathProgram::outcomes, tables);
  EXPECT_EQ(columns, r.first_detail + LegDetailColumns::total(r.legs, r.accounts));
  r.columns.assign(columns * paths, 0.0);
  r.scale.assign(paths, 0.0);
  r.cash.assign(paths, 0.0);
  with_path_capacity(v.market.num_assets, [&](auto capacity) {
    constexpr int kCapacity = decltype(capacity)::value;
    for (std::uint64_t p = 0; p < paths; ++p) {
      PhiloxStream gen(v.seed, p);
      const HorizonColumns horizons{{r.columns.data(), paths}, p, kNumOutcomeFields};
      const EndRecorder end{&r.scale[p], &r.cash[p], v.market.num_days};
      store_outcome({r.columns.data(), paths}, p, simulate_path<kCapacity>(v, gen, end, NoRider{}, &horizons));
    }
  });
  // The CPU backend writes the same columns, bit for bit.
  auto backend = make_cpu_backend(2);
  const std::vector<double> backend_columns = collect_outcomes(*backend, tables, PathProgram::outcomes, paths, 700);
  int differ = 0;
  for (std::size_t i = 0; i < r.columns.size(); ++i) differ += !same_bits(r.columns[i], backend_columns[i]);
  EXPECT_EQ(differ, 0);
  return r;
}

// pnl_hedged = holdings_scale x final value - V0 + the legs' P&L + the top-ups' cash, path by
// path; with no call on a path the legs' P&L is pnl_hedged - pnl_unhedged and their costs the
// path's. The accounts' first calls make the path's first call, account 0's shortfall its
// collateral shortfall. Three legs (a perpetual and a put on the benchmark, a future on a held
// asset), cross and isolated, liquidate and top_up, static and dynamic, with calls.
TEST(Legs, LegDetailMakesTheHedgedPnl) {
  const Model m = make_synthetic_model(4, 2);
  for (MarginMode margin : {MarginMode::cross, MarginMode::isolated})
    for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic})
      for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
        SCOPED_TRACE(std::string(margin == MarginMode::cross ? "cross" : "isolated") +
                     (mode == HedgeMode::dynamic ? ", dynamic" : ", static") +
                     (on_call == MarginAction::top_up ? ", top_up" : ", liquidate"));
        BookConfig book = test::legs_test_book(m, mode, margin, true);
        book.margin.on_call = on_call;
        const std::uint64_t paths = 1500;
        const Detailed r = run_detailed(m, book, paths);
        ASSERT_EQ(r.legs, 3);
        ASSERT_EQ(r.accounts, margin == MarginMode::cross ? 1 : 3);
        const double value0 = make_portfolio(m, book).value;
        int called = 0, partly_called = 0;
        for (std::uint64_t p = 0; p < paths; ++p) {
          double leg_pnl = 0.0, leg_costs = 0.0, scale = 0.0;
          for (int l = 0; l < r.legs; ++l) {
            leg_pnl += r.detail(LegDetailColumns::pnl(l), p);
            leg_costs += r.detail(LegDetailColumns::costs(l), p);
            scale += std::abs(r.detail(LegDetailColumns::pnl(l), p));
          }
          const double unhedged = r.field(OutcomeField::pnl_unhedged, p), hedged = r.field(OutcomeField::pnl_hedged, p);
          const double tolerance = 1e-12 * (value0 + scale + r.cash[p]) * 10.0;
          ASSERT_NEAR(hedged, r.scale[p] * (unhedged + value0) - value0 + leg_pnl + r.cash[p], tolerance) << p;
          double first = -1.0;
          int accounts_called = 0;
          for (int a = 0; a < r.accounts; ++a) {
            const double call = r.detail(LegDetailColumns::first_call_step(r.legs, a), p);
            if (call >= 0.0) ++accounts_called;
            if (call >= 0.0 && (first < 0.0 || call < first)) first = call;
            ASSERT_GE(r.detail(LegDetailColumns::collateral_shortfall(r.legs, a), p), 0.0);
          }
          ASSERT_EQ(first, r.field(OutcomeField::first_call_step, p)) << p;
          ASSERT_TRUE(same_bits(r.detail(LegDetailColumns::collateral_shortfall(r.legs, 0), p),
                                r.field(OutcomeField::collateral_shortfall, p)));
          const double costs = r.field(OutcomeField::costs, p);
          if (first < 0.0) {
            ASSERT_EQ(r.cash[p], 0.0);
            ASSERT_NEAR(leg_pnl, hedged - unhedged, tolerance) << p;
            ASSERT_NEAR(leg_costs, costs, 1e-12 * (1.0 + costs)) << p;
          } else {
            ++called;
            partly_called += accounts_called < r.accounts ? 1 : 0;
            // top_up: the sales' costs come on top of the legs'.
            ASSERT_GE(costs, leg_costs - 1e-12 * (1.0 + costs)) << p;
          }
        }
        EXPECT_GT(called, paths / 20);  // the calls happened
        EXPECT_LT(called, paths);
        if (margin == MarginMode::isolated) EXPECT_GT(partly_called, 0);  // an account called alone
      }
}

// A second leg of ratio 0 changes nothing: the one-leg book's hedged P&L and costs, path by path
// (same rounding order: its marks and trades add zeros), with calls under liquidate and top_up.
TEST(Legs, ASecondLegOfRatioZeroIsTheOneLegBook) {
  const Model m = make_synthetic_model(4, 2);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    BookConfig one = test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::static_ratio);
    one.margin.on_call = on_call;
    one.margin.collateral = 20.0;
    BookConfig two = one;
    two.hedge.legs.front().field = "hedge.legs[0]";
    two.hedge.legs.front().benchmark = m.assets[0];
    HedgeLegConfig idle = two.hedge.legs.front();
    idle.field = "hedge.legs[1]";
    idle.instrument = HedgeInstrument::future;
    idle.benchmark = m.assets[2];
    idle.ratio = 0.0;
    two.hedge.legs.push_back(idle);
    auto backend = make_cpu_backend(2);
    const std::uint64_t paths = 4000;
    const auto run = [&](const BookConfig& b) {
      const SimulationTables t = build_simulation_tables(m, make_portfolio(m, b), b);
      return collect_outcomes(*backend, t, PathProgram::outcomes, paths);
    };
    const std::vector<double> a = run(one), b = run(two);
    int calls = 0;
    for (std::uint64_t p = 0; p < paths; ++p) {
      for (OutcomeField f : {OutcomeField::pnl_hedged, OutcomeField::costs}) {
        const double x = a[static_cast<int>(f) * paths + p], y = b[static_cast<int>(f) * paths + p];
        ASSERT_NEAR(x, y, 1e-9 * std::max(1.0, std::abs(x))) << "field " << static_cast<int>(f) << " path " << p;
      }
      const int call = static_cast<int>(OutcomeField::first_call_step) * paths + p;
      ASSERT_EQ(a[call], b[call]) << p;
      calls += a[call] >= 0.0;
    }
    EXPECT_GT(calls, 0);
  }
}

/// At each rebalance, each leg's part of the book's beta, units x delta x S x beta_leg / V.
struct SplitRecorder {
  const SimulationView* v;
  std::vector<std::vector<double>>* shares;  ///< per rebalance: each leg's beta, then beta_p
  mutable int rebalances = 0;
  mutable int regime = 0;
  void on_day(int /*day*/, int r) const { regime = r; }
  void on_beta_check(int /*day*/, double /*before*/, double /*after*/) const {}
  template <class Book, int kCapacity>
  void on_day_end(int /*day*/, const Book& book, const double (&log_price)[kCapacity]) const {
    if (book.rebalances == rebalances) return;
    rebalances = book.rebalances;
    const PortfolioMark now = mark_portfolio<kCapacity>(*v, log_price);
    const double value = book.holdings_scale * now.value;
    std::vector<double> row;
    for (int l = 0; l < v->hedge.num_legs; ++l) {
      const LegView& leg = v->hedge.legs[l];
      const double s = v->market.spot[leg.benchmark] * std::exp(log_price[leg.benchmark]);
      // A future's delta, exp(basis tau), by hand; a perpetual's 1.
      const double delta = leg.kind == HedgeKind::future
                               ? std::exp(leg.annual_basis[regime] * book.real[l].days_to_expiry / 365.0)
                               : 1.0;
      row.push_back(book.real[l].units * delta * s * leg.beta / value);
    }
    row.push_back(now.beta);
    shares->push_back(row);
  }
};

// A dynamic trade sets each leg to its weight of the exposure the target needs: leg l's beta is
// weight_l x (target - beta_p) after every rebalance. weights {0.7, 0.3}: a perpetual on the
// benchmark and a future on a held asset (delta exp(basis tau), its beta the model's).
TEST(Legs, DynamicTradeSplitsTheExposureByWeight) {
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = test::legs_test_book(m, HedgeMode::dynamic, MarginMode::cross);
  book.hedge.allocation = HedgeAllocation::weights;
  book.hedge.legs[0].weight = 0.7;
  book.hedge.legs[1].weight = 0.3;
  book.margin.collateral = 1e9;  // no calls
  const PortfolioSetup portfolio = make_portfolio(m, book);
  const SimulationTables tables = build_simulation_tables(m, portfolio, book);
  const SimulationView v = tables.view(tables.data.data());
  // The legs' betas: exactly 1 for the benchmark, the model's for the other underlying.
  EXPECT_EQ(v.hedge.legs[0].beta, 1.0);
  const std::vector<double> model_betas = model_asset_betas(m, 0);
  EXPECT_NEAR(v.hedge.legs[1].beta, model_betas.back(), 1e-15);
  EXPECT_NE(v.hedge.legs[1].beta, 1.0);
  std::vector<std::vector<double>> shares;
  for (std::uint64_t p = 0; p < 200; ++p) {
    PhiloxStream gen(v.seed, p);
    simulate_path<4>(v, gen, SplitRecorder{&v, &shares});
  }
  ASSERT_GT(shares.size(), 400u);
  for (const std::vector<double>& row : shares) {
    const double needed = book.hedge.target_beta - row[2];
    ASSERT_NEAR(row[0], 0.7 * needed, 1e-12);
    ASSERT_NEAR(row[1], 0.3 * needed, 1e-12);
  }
}

/// The one-day covariance of the model mixed by today's probabilities, entry (i, j), by hand.
double mixed_cov(const Model& m, int i, int j) {
  const int n = m.num_assets();
  double c = 0.0;
  for (int k = 0; k < m.num_regimes(); ++k) {
    const Regime& r = m.regimes[k];
    c += m.initial_probabilities[k] * r.vol[i] * r.corr[i * n + j] * r.vol[j];
  }
  return c;
}

// min_variance for two legs, by hand: 2 x 2 inverse, Sigma_FP from the positions, betas
// Cov(i, ref) / Var(ref). The weights are where Var(P + x'F), x_l = w_l c / beta_l, is least
// among splits summing to 1; at c = 0 they are proportional to beta_l (Sigma_FF^-1 beta)_l.
TEST(Legs, ADynamicOptionLegsUnitsStopAtTheRatiosRange) {
  // A put far out of the money a day from expiry: delta ~ 1e-30, so the target would take ~1e32
  // puts. The leg holds at most kMaxDynamicOptionRatio x V of underlying notional.
  LegView put;
  put.kind = HedgeKind::option;
  put.strike_fraction = 0.5;
  const double vol[] = {0.5};
  put.implied_vol = vol;
  HedgeState st;
  st.days_to_expiry = 1.0;
  st.strike = 50.0;
  const double value = 1e6, s = 100.0;
  const double units = units_for_target_beta(put, 0.0, 1.0, value, s, 0, st);
  EXPECT_DOUBLE_EQ(units, kMaxDynamicOptionRatio * value / s);
  // Near the money the target is met exactly: units x delta x S = -(beta_p - target) V.
  st.strike = 100.0;
  const double near = units_for_target_beta(put, 0.0, 1.0, value, s, 0, st);
  const double delta = instrument_delta(put, s, 0, st.days_to_expiry, st.strike);
  EXPECT_NEAR(near * delta * s, -value, 1e-6 * value);
  EXPECT_LT(std::fabs(near), kMaxDynamicOptionRatio * value / s);
}

TEST(Legs, MinVarianceWeightsAreTheClosedFormAndMinimiseTheVariance) {
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic);
  HedgeLegConfig a = book.hedge.legs.front(), b = a;
  a.field = "hedge.legs[0]";
  a.benchmark = m.assets[0];
  b.field = "hedge.legs[1]";
  b.benchmark = m.assets[2];
  book.hedge.legs = {a, b};
  const PortfolioSetup portfolio = make_portfolio(m, book);
  const int u[2] = {0, 2};
  const double beta[2] = {1.0, mixed_cov(m, 2, 0) / mixed_cov(m, 0, 0)};
  const double f11 = mixed_cov(m, u[0], u[0]), f12 = mixed_cov(m, u[0], u[1]), f22 = mixed_cov(m, u[1], u[1]);
  const double det = f11 * f22 - f12 * f12;
  const auto inverse_times = [&](const double (&x)[2], double (&y)[2]) {
    y[0] = (f22 * x[0] - f12 * x[1]) / det;
    y[1] = (-f12 * x[0] + f11 * x[1]) / det;
  };
  double fp[2] = {0.0, 0.0}, value = 0.0, beta_value = 0.0;
  for (int i = 0; i < m.num_assets(); ++i) {
    const double position = portfolio.holdings[i] * m.spot[i];
    value += position;
    beta_value += position * mixed_cov(m, i, 0) / mixed_cov(m, 0, 0);
    for (int l = 0; l < 2; ++l) fp[l] += mixed_cov(m, u[l], i) * position;
  }
  double direction[2], hedge[2];
  inverse_times(beta, direction);
  inverse_times(fp, hedge);
  const double curvature = beta[0] * direction[0] + beta[1] * direction[1];
  const double c = (book.hedge.target_beta - beta_value / value) * value;
  const double lambda = (c + beta[0] * hedge[0] + beta[1] * hedge[1]) / curvature;
  const double expected[2] = {beta[0] * (lambda * direction[0] - hedge[0]) / c,
                              beta[1] * (lambda * direction[1] - hedge[1]) / c};
  const HedgeView h = build_simulation_tables(m, portfolio, book).scalars.hedge;
  for (int l = 0; l < 2; ++l) EXPECT_NEAR(h.legs[l].weight, expected[l], 1e-10) << l;
  EXPECT_NEAR(h.legs[0].weight + h.legs[1].weight, 1.0, 1e-12);
  EXPECT_GT(std::abs(expected[1]), 0.01);  // both legs take a share

  const auto variance = [&](double w0) {  // of the hedge's and the book's one-day P&L, less Var(P)
    const double x[2] = {w0 * c / beta[0], (1.0 - w0) * c / beta[1]};
    return x[0] * x[0] * f11 + 2.0 * x[0] * x[1] * f12 + x[1] * x[1] * f22 + 2.0 * (x[0] * fp[0] + x[1] * fp[1]);
  };
  for (double step : {-0.01, 0.01}) EXPECT_GT(variance(h.legs[0].weight + step), variance(h.legs[0].weight));

  // c = 0 (the target is the book's beta): the limit direction.
  book.hedge.target_beta = portfolio.beta;
  const HedgeView zero = build_simulation_tables(m, portfolio, book).scalars.hedge;
  for (int l = 0; l < 2; ++l) EXPECT_NEAR(zero.legs[l].weight, beta[l] * direction[l] / curvature, 1e-10) << l;
}

// A one-leg book runs at leg capacity 1 (the CPU's daily-perpetual copy, the one-leg GPU kernels)
// or kMaxHedgeLegs (every other CPU book): the same bits either way, every instrument and mode.
TEST(Legs, OneLegBookGivesTheSameBitsAtEveryLegCapacity) {
  const Model m = make_synthetic_model(4, 2);
  for (HedgeInstrument instrument : {HedgeInstrument::perpetual, HedgeInstrument::future, HedgeInstrument::option})
    for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic})
      for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
        BookConfig book = test::hedged_test_book(m, instrument, mode);
        book.margin.on_call = on_call;
        const SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
        const SimulationView v = tables.view(tables.data.data());
        int called = 0;
        for (std::uint64_t p = 0; p < 500; ++p) {
          PhiloxStream g1(v.seed, p), g4(v.seed, p);
          const PathOutcome one = simulate_path<4, 1>(v, g1), four = simulate_path<4, kMaxHedgeLegs>(v, g4);
          const double* x = &one.pnl_unhedged;
          const double* y = &four.pnl_unhedged;
          for (int f = 0; f < kNumOutcomeFields; ++f) ASSERT_TRUE(same_bits(x[f], y[f])) << "field " << f << " path " << p;
          called += one.first_call_step >= 0.0;
        }
        EXPECT_GT(called, 0);
      }
}

// Inputs refused, from the YAML a user writes: exit 2 and one line naming FILE:LINE: field.
class LegsCli : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::copy_file(test::source_dir() / "configs/demo/model.json", dir_ / "model.json"); }
  /// Runs `simulate` on `book` and returns stderr, expecting exit 2.
  std::string refused(const std::string& book) {
    test::write_text(dir_ / "book.yaml", book);
    const test::CliResult r = test::run_cli("simulate --backend cpu --quiet --config " + (dir_ / "book.yaml").string() +
                                            " --out " + (dir_ / "out").string());
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
    return r.stderr_text;
  }
  std::string where(int line, const std::string& field) const {
    return "error: " + (dir_ / "book.yaml").string() + ":" + std::to_string(line) + ": " + field + ": ";
  }
  test::TempDir dir_;
};

const std::string kLegsBook =
    "model: model.json\n"
    "portfolio:\n"
    "  holdings: {ETH: 400, SOL: 6000}\n"
    "hedge:\n"
    "  mode: dynamic\n"
    "  target_beta: 0.2\n"
    "  legs:\n"
    "    - {instrument: perpetual, benchmark: BTC}\n"
    "    - {instrument: LEG1}\n"
    "ALLOCATION"
    "margin:\n"
    "  collateral: 100000\n"
    "simulation: {paths: 1000, horizon_days: 5}\n";

std::string legs_book(const std::string& second_leg, const std::string& allocation) {
  std::string book = kLegsBook;
  book.replace(book.find("{instrument: LEG1}"), 18, second_leg);
  book.replace(book.find("ALLOCATION"), 10, allocation);
  return book;
}

TEST_F(LegsCli, AnUnknownLegUnderlyingNamesItsLegsBenchmark) {
  const std::string err = refused(legs_book("{instrument: future, benchmark: XRP}",
                                            "  allocation: weights\n  weights: [0.5, 0.5]\n"));
  EXPECT_EQ(err.find(where(9, "hedge.legs[1].benchmark") + "'XRP'"), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(LegsCli, MinVarianceRefusesTwoLegsOnOneUnderlying) {
  const std::string err = refused(legs_book("{instrument: future, benchmark: BTC}", "  allocation: min_variance\n"));
  EXPECT_EQ(err.find(where(10, "hedge.allocation")), 0u) << err;
  EXPECT_NE(err.find("allocation: weights"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  // The same legs split by weights run.
  test::write_text(dir_ / "book.yaml",
                   legs_book("{instrument: future, benchmark: BTC}", "  allocation: weights\n  weights: [0.6, 0.4]\n"));
  const test::CliResult ok = test::run_cli("simulate --backend cpu --quiet --config " + (dir_ / "book.yaml").string() +
                                           " --out " + (dir_ / "ok").string());
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;
}

}  // namespace
}  // namespace betahedge
