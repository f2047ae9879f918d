// History replays (run_replay, HistoricalMarket) against hand computations on tiny prices
// tables: a static perpetual hedge with funding and fees, a dynamic hedge's rebalances, a margin
// call on a crash day, the regime sequence of a two-regime model, and the inputs refused.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "betahedge/error.hpp"
#include "engine/replay.hpp"
#include "engine/simulation_setup.hpp"
#include "market/prices_csv.hpp"
#include "model/model_json.hpp"
#include "hedged_test_book.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

/// Benchmark M (spot 100) and asset A (spot 50): the book's prices today, whatever the file's.
Model two_asset_model(int regimes = 1) {
  Model m;
  m.assets = {"M", "A"};
  m.benchmark = "M";
  if (regimes == 1) {
    m.regimes = {Regime{"only", {0.0, 0.0}, {0.03, 0.04}, {1.0, 0.5, 0.5, 1.0}, std::nullopt}};
    m.transition = {{1.0}};
    m.initial_probabilities = {1.0};
  } else {
    m.regimes = {Regime{"calm", {0.001, 0.0005}, {0.01, 0.015}, {1.0, 0.6, 0.6, 1.0}, std::nullopt},
                 Regime{"stressed", {-0.01, -0.02}, {0.05, 0.07}, {1.0, 0.8, 0.8, 1.0}, std::nullopt}};
    m.transition = {{0.95, 0.05}, {0.10, 0.90}};
    m.initial_probabilities = {0.7, 0.3};
  }
  m.spot = {100.0, 50.0};
  validate_model(m, "test");
  return m;
}

PriceTable table(const std::string& csv) {
  std::istringstream in(csv);
  return parse_prices_csv(in, "prices.csv");
}

BookConfig replay_book(std::vector<std::pair<std::string, double>> holdings, const std::string& from,
                       const std::string& to) {
  BookConfig b;
  b.source = "book.yaml";
  b.holdings = std::move(holdings);
  test::hedge_leg(b).instrument = HedgeInstrument::perpetual;
  b.margin.collateral = 1e9;
  StressScenario s;
  s.name = "window";
  s.replay = ReplayWindow{from, to};
  b.stress = {s};
  return b;
}

ReplayRun replay(const Model& model, const BookConfig& book, const PriceTable& prices) {
  return run_replay(model, make_portfolio(model, book), book, prepare_replay(model, book, 0, prices));
}

// The window starts at the second row, so the replay must use the window's first close as its
// base, not the file's.
const std::string kPrices =
    "date,M,A\n"
    "2024-01-01,200,10\n"
    "2024-01-02,210,10.5\n"
    "2024-01-03,190,9.8\n"
    "2024-01-04,205,10.2\n"
    "2024-01-05,220,11\n";

TEST(Replay, StaticPerpetualWithFundingIsTheHandComputation) {
  const Model model = two_asset_model();
  BookConfig book = replay_book({{"A", 100.0}}, "2024-01-02", "2024-01-05");
  const double ratio = 0.8, f = 0.0001, c = 5e-4;
  test::hedge_leg(book).ratio = ratio;
  test::hedge_leg(book).funding_rate_8h = {f};
  test::hedge_leg(book).fee_bps = 2;
  test::hedge_leg(book).slippage_bps = 3;
  const ReplayRun r = replay(model, book, table(kPrices));
  const std::vector<double> pm{210, 190, 205, 220}, pa{10.5, 9.8, 10.2, 11};
  ASSERT_EQ(r.days, 3);
  ASSERT_EQ(r.path.size(), 4u);
  const double v0 = 100.0 * 50.0, s0 = 100.0;
  // Hedged P&L to day d = holdings' P&L - ratio V0 (S_d/S_0 - 1) + funding (the short receives
  // f x |units| x S three times a day, at each day's close) - the opening cost c x ratio x V0.
  double funding = 0.0;
  for (int d = 0; d <= 3; ++d) {
    const double s = s0 * pm[d] / pm[0];
    if (d > 0) funding += 3.0 * f * (ratio * v0 / s0) * s;
    const double unhedged = v0 * (pa[d] / pa[0] - 1.0);
    const double hedged = unhedged - ratio * v0 * (s / s0 - 1.0) + funding - c * ratio * v0;
    EXPECT_EQ(r.path[d].day, d);
    EXPECT_NEAR(r.path[d].pnl_unhedged, unhedged, 1e-9 * v0) << "day " << d;
    EXPECT_NEAR(r.path[d].pnl_hedged, hedged, 1e-9 * v0) << "day " << d;
    EXPECT_NEAR(r.path[d].equity, 1e9 + hedged - unhedged, 1e-9 * v0) << "day " << d;
  }
  EXPECT_EQ(r.path.front().date, "2024-01-02");
  EXPECT_EQ(r.path.back().date, "2024-01-05");
  EXPECT_NEAR(r.outcome.pnl_hedged, r.path.back().pnl_hedged, 1e-12 * v0);
  EXPECT_NEAR(r.outcome.costs, c * ratio * v0, 1e-12 * v0);
  EXPECT_FALSE(r.called());
  EXPECT_EQ(r.first_call_day(), 0);

  // Intraday steps split each day's log return evenly: the same closes at every day's end.
  book.simulation.steps_per_day = 4;
  const ReplayRun split = replay(model, book, table(kPrices));
  for (int d = 0; d <= 3; ++d) EXPECT_NEAR(split.path[d].pnl_unhedged, r.path[d].pnl_unhedged, 1e-9 * v0);
  // A funding multiplier scales the funding, nothing else.
  book.simulation.steps_per_day = 1;
  book.stress[0].funding_multiplier = 3.0;
  const ReplayRun tripled = replay(model, book, table(kPrices));
  EXPECT_NEAR(tripled.outcome.pnl_hedged - r.outcome.pnl_hedged, 2.0 * funding, 1e-9 * v0);
}

TEST(Replay, DynamicHedgeRebalancesAsTheHandComputationDoes) {
  const Model model = two_asset_model();
  BookConfig book = replay_book({{"A", 100.0}}, "2024-01-01", "2024-01-06");
  book.hedge.mode = HedgeMode::dynamic;
  book.hedge.target_beta = 0.0;
  book.hedge.band = 0.05;
  book.hedge.beta_estimate = "1.5";
  book.hedge.beta_estimate_value = 1.5;
  test::hedge_leg(book).fee_bps = 5;
  // A and M move apart on days 2 and 5 only: beyond the band there, within it elsewhere.
  const std::string prices =
      "date,M,A\n"
      "2024-01-01,200,10\n"
      "2024-01-02,201,10.05\n"
      "2024-01-03,180,10.4\n"
      "2024-01-04,181,10.45\n"
      "2024-01-05,182,10.5\n"
      "2024-01-06,200,10.1\n";
  const ReplayRun r = replay(model, book, table(prices));
  const std::vector<double> pm{200, 201, 180, 181, 182, 200}, pa{10, 10.05, 10.4, 10.45, 10.5, 10.1};
  const double c = 5e-4, beta = 1.5, v0 = 5000.0;
  double s = 100.0, units = -beta * v0 / s, pnl = -c * std::abs(units) * s, deviation = 0.0;
  int rebalances = 0;
  std::vector<int> traded;
  for (int d = 1; d <= 5; ++d) {
    const double s_new = 100.0 * pm[d] / pm[0], v = v0 * pa[d] / pa[0];
    pnl += units * (s_new - s);
    s = s_new;
    const double before = beta + units * s / v;
    deviation += std::abs(before);
    if (std::abs(before) > 0.05) {
      const double target = -beta * v / s;
      pnl -= c * std::abs(target - units) * s;
      units = target;
      ++rebalances;
      traded.push_back(d);
    }
    EXPECT_NEAR(r.path[d].pnl_hedged, v - v0 + pnl, 1e-9 * v0) << "day " << d;
  }
  ASSERT_EQ(traded, (std::vector<int>{2, 5}));  // the prices were chosen for this: both branches run
  EXPECT_EQ(r.outcome.rebalances, rebalances);
  EXPECT_NEAR(r.outcome.beta_deviation, deviation / 5.0, 1e-9);
  EXPECT_NEAR(r.outcome.pnl_hedged, v0 * (pa[5] / pa[0] - 1.0) + pnl, 1e-9 * v0);
}

TEST(Replay, MarginCallOnACrashDayLiquidatesThere) {
  // A short book hedged with a long benchmark perpetual (ratio 1 of a negative value): the
  // benchmark's 20% crash on day 2 takes the hedge account below maintenance.
  const Model model = two_asset_model();
  BookConfig book = replay_book({{"A", -100.0}}, "2024-01-01", "2024-01-04");
  test::hedge_leg(book).ratio = 1.0;
  book.margin.collateral = 600.0;
  book.margin.maintenance_rate = 0.05;
  const std::string prices =
      "date,M,A\n"
      "2024-01-01,200,10\n"
      "2024-01-02,202,10.1\n"
      "2024-01-03,161.6,9\n"
      "2024-01-04,190,9.5\n";
  const ReplayRun r = replay(model, book, table(prices));
  // Long 50 units of M at 100: day 1 +50 (equity 650 >= 0.05 x 50 x 101); day 2 at 80.8
  // the hedge has lost 960, equity -360 < 0.05 x 50 x 80.8: called, liquidated at that mark.
  ASSERT_TRUE(r.called());
  EXPECT_EQ(r.first_call_day(), 2);
  EXPECT_EQ(r.path[r.first_call_day()].date, "2024-01-03");
  EXPECT_EQ(r.outcome.liquidated, 1.0);
  EXPECT_NEAR(r.path[1].equity, 650.0, 1e-9);
  for (int d = 2; d <= 3; ++d) EXPECT_NEAR(r.path[d].equity, 600.0 - 960.0, 1e-9) << "day " << d;
  const double unhedged = -5000.0 * (9.5 / 10.0 - 1.0);
  EXPECT_NEAR(r.outcome.pnl_unhedged, unhedged, 1e-9);
  EXPECT_NEAR(r.outcome.pnl_hedged, unhedged - 960.0, 1e-9);
  // The least collateral with no call: the largest requirement - hedge P&L, on day 2.
  EXPECT_NEAR(r.outcome.collateral_shortfall, 0.05 * 50.0 * 80.8 + 960.0, 1e-9);
}

/// log N(x; mean, cov) of a 2-vector, by hand.
double log_density(const double x[2], const Regime& r) {
  const double s0 = r.vol[0], s1 = r.vol[1], rho = r.corr[1];
  const double z0 = (x[0] - r.mean[0]) / s0, z1 = (x[1] - r.mean[1]) / s1;
  const double q = (z0 * z0 - 2.0 * rho * z0 * z1 + z1 * z1) / (1.0 - rho * rho);
  return -std::log(2.0 * M_PI * s0 * s1 * std::sqrt(1.0 - rho * rho)) - 0.5 * q;
}

TEST(Replay, RegimesAreTheForwardFilterArgmaxFromTheModelsInitialProbabilities) {
  const Model model = two_asset_model(2);
  Eigen::MatrixXd returns(7, 2);
  returns << 0.002, 0.001, -0.004, -0.006, 0.09, 0.12, -0.11, -0.14, 0.07, 0.05, 0.003, 0.002, -0.001, 0.004;
  const std::vector<int> regimes = replay_regimes(model, returns);
  // By hand: prior of day 1 = initial x transition; filtered = prior x density, normalised;
  // the next prior = filtered x transition.
  std::vector<int> expected{0};  // day 0: the most likely of initial_probabilities (0.7 calm)
  double prior[2] = {0.7 * 0.95 + 0.3 * 0.10, 0.7 * 0.05 + 0.3 * 0.90};
  for (int d = 0; d < returns.rows(); ++d) {
    const double x[2] = {returns(d, 0), returns(d, 1)};
    double post[2];
    for (int k = 0; k < 2; ++k) post[k] = prior[k] * std::exp(log_density(x, model.regimes[k]));
    const double total = post[0] + post[1];
    post[0] /= total;
    post[1] /= total;
    expected.push_back(post[1] > post[0] ? 1 : 0);
    prior[0] = post[0] * 0.95 + post[1] * 0.10;
    prior[1] = post[0] * 0.05 + post[1] * 0.90;
  }
  EXPECT_EQ(regimes, expected);
  // The window was chosen to cross: calm, then stressed on the large moves, then calm again.
  EXPECT_EQ(expected, (std::vector<int>{0, 0, 0, 1, 1, 1, 0, 0}));

  // run_replay reports them by name, and its funding follows them: stressed days pay the
  // stressed rate.
  const std::string prices =
      "date,M,A\n2024-01-01,100,50\n2024-01-02,101,50.5\n2024-01-03,120,61\n2024-01-04,100,50\n";
  BookConfig book = replay_book({{"A", 100.0}}, "2024-01-01", "2024-01-04");
  test::hedge_leg(book).ratio = 1.0;
  test::hedge_leg(book).funding_rate_8h = {0.0, 0.001};
  const ReplayInput in = prepare_replay(model, book, 0, table(prices));
  const ReplayRun r = run_replay(model, make_portfolio(model, book), book, in);
  ASSERT_EQ(r.regime_names.size(), 4u);
  double funding = 0.0;
  const std::vector<double> pm{100, 101, 120, 100};
  for (int d = 1; d <= 3; ++d) funding += in.regimes[d] == 1 ? 3.0 * 0.001 * 50.0 * pm[d] : 0.0;
  EXPECT_GT(funding, 0.0);  // at least one stressed day
  const double v0 = 5000.0;
  EXPECT_NEAR(r.outcome.pnl_hedged, v0 * (50.0 / 50.0 - 1.0) - v0 * (pm[3] / pm[0] - 1.0) + funding, 1e-9 * v0);
  for (int d = 0; d <= 3; ++d) EXPECT_EQ(r.regime_names[d], model.regimes[in.regimes[d]].name);
}

TEST(Replay, BadWindowsAndPricesNameTheFieldTheDateAndTheSymbol) {
  const Model model = two_asset_model();
  const PriceTable prices = table(kPrices);
  const auto error = [&](const BookConfig& book, const PriceTable& p) {
    return test::message_of<InputError>([&] { prepare_replay(model, book, 0, p); });
  };
  EXPECT_NE(error(replay_book({{"A", 1.0}}, "2023-12-01", "2024-01-03"), prices).find("stress[0].replay.from: 2023-12-01 "
                                                                                       "is outside the dates of prices.csv"),
            std::string::npos);
  EXPECT_NE(error(replay_book({{"A", 1.0}}, "2024-01-02", "2024-02-01"), prices).find("stress[0].replay.to: 2024-02-01"),
            std::string::npos);
  EXPECT_NE(error(replay_book({{"A", 1.0}}, "2024-01-02", "2024-01-02"), prices).find("stress[0].replay: "),
            std::string::npos);
  const PriceTable gap =
      table("date,M,A\n2024-01-01,200,10\n2024-01-03,190,\n2024-01-04,205,10.2\n2024-01-05,210,10.4\n");
  EXPECT_NE(error(replay_book({{"A", 1.0}}, "2024-01-01", "2024-01-04"), gap).find("prices.csv:3: A: no close on 2024-01-03"),
            std::string::npos);
  // The gap outside the window does not matter.
  EXPECT_EQ(error(replay_book({{"A", 1.0}}, "2024-01-04", "2024-01-05"), gap).find("no close"), std::string::npos);
  const PriceTable no_a = table("date,M,B\n2024-01-01,200,10\n2024-01-02,190,11\n");
  EXPECT_NE(error(replay_book({{"A", 1.0}}, "2024-01-01", "2024-01-02"), no_a).find("prices.csv: A: "),
            std::string::npos);
}

}  // namespace
}  // namespace betahedge
