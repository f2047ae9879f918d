// Hedges and the margin account against answers the code did not produce: closed forms for
// GBMs, hand computations of funding and roll P&L, and the first-passage probability.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "betahedge/black_scholes.hpp"
#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/risk_engine.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "model/model_json.hpp"
#include "hedged_test_book.hpp"

namespace betahedge {
namespace {

double normal_cdf_ref(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

/// Benchmark M (spot 100) and asset A (spot 50), one regime.
Model two_gbm_model(double mu_m, double vol_m, double mu_a, double vol_a, double rho) {
  Model m;
  m.assets = {"M", "A"};
  m.benchmark = "M";
  m.regimes = {Regime{"only", {mu_m, mu_a}, {vol_m, vol_a}, {1.0, rho, rho, 1.0}, std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {100.0, 50.0};
  validate_model(m, "test");
  return m;
}

BookConfig static_perpetual_book(std::vector<std::pair<std::string, double>> holdings, double ratio) {
  BookConfig b;
  b.holdings = std::move(holdings);
  test::hedge_leg(b).instrument = HedgeInstrument::perpetual;
  test::hedge_leg(b).ratio = ratio;
  b.margin.collateral = 1e12;  // no calls unless a test wants them
  b.simulation.paths = 200000;
  b.simulation.horizon_days = 30;
  b.simulation.seed = 11;
  // The closed forms below are of GBMs with the log drifts each test gives its model.
  b.simulation.drift = DriftRule::model;
  return b;
}

struct HedgeRun {
  ScenarioResult result;
  std::vector<double> unhedged, hedged, costs;
};

HedgeRun run(const Model& model, const BookConfig& book) {
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book);
  auto backend = make_cpu_backend(0);
  HedgeRun r{evaluate_scenario("base", *backend, tables, book), {}, {}, {}};
  const std::uint64_t n = book.simulation.paths;
  const std::vector<double> all = collect_outcomes(*backend, tables, PathProgram::outcomes, n);
  r.unhedged = column_of(all, n, static_cast<int>(OutcomeField::pnl_unhedged));
  r.hedged = column_of(all, n, static_cast<int>(OutcomeField::pnl_hedged));
  r.costs = column_of(all, n, static_cast<int>(OutcomeField::costs));
  return r;
}

// X = A_T/A_0, Y = M_T/M_0 lognormal: Cov(X, Y) = E[X]E[Y](exp(rho s_a s_m T) - 1),
// Var(Y) = E[Y]^2 (exp(s_m^2 T) - 1). Min-variance ratio h* = Cov(X,Y)/Var(Y) x E... in notional
// terms h* = Cov(X, Y) / Var(Y) (both legs scaled by V0), effectiveness = Corr(X, Y)^2.
TEST(Hedging, StaticHedgeOfTwoCorrelatedGbmsMatchesClosedForms) {
  const double mu_m = 0.0002, s_m = 0.03, mu_a = 0.0001, s_a = 0.045, rho = 0.7, t = 30;
  const Model model = two_gbm_model(mu_m, s_m, mu_a, s_a, rho);
  const double ex = std::exp((mu_a + 0.5 * s_a * s_a) * t), ey = std::exp((mu_m + 0.5 * s_m * s_m) * t);
  const double cov = ex * ey * (std::exp(rho * s_a * s_m * t) - 1.0);
  const double var_y = ey * ey * (std::exp(s_m * s_m * t) - 1.0);
  const double var_x = ex * ex * (std::exp(s_a * s_a * t) - 1.0);
  const double h_star = cov / var_y;
  const double effectiveness = cov * cov / (var_x * var_y);

  // Ratio 1 gives the per-unit hedge leg g = hedged - unhedged; regress to estimate h*.
  const HedgeRun unit = run(model, static_perpetual_book({{"A", 100.0}}, 1.0));
  const std::size_t n = unit.unhedged.size();
  double mu = 0, mg = 0;
  std::vector<double> g(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = unit.hedged[i] - unit.unhedged[i];
    mu += unit.unhedged[i] / n;
    mg += g[i] / n;
  }
  double cov_ug = 0, var_g = 0;
  for (std::size_t i = 0; i < n; ++i) {
    cov_ug += (unit.unhedged[i] - mu) * (g[i] - mg) / n;
    var_g += (g[i] - mg) * (g[i] - mg) / n;
  }
  const double h_hat = -cov_ug / var_g;
  double resid = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = (unit.unhedged[i] - mu) + h_hat * (g[i] - mg);
    resid += e * e / n;
  }
  const double se_h = std::sqrt(resid / (n * var_g));
  EXPECT_NEAR(h_hat, h_star, 4.0 * se_h);

  const HedgeRun best = run(model, static_perpetual_book({{"A", 100.0}}, h_star));
  EXPECT_NEAR(best.result.hedge_effectiveness, effectiveness, 4.0 * best.result.hedge_effectiveness_se);
  EXPECT_GT(best.result.hedge_effectiveness_se, 0.0);
  EXPECT_LT(best.result.hedge_effectiveness_se, 0.01);
}

// Price frozen (vol 1e-9, drift 0): a short perpetual of notional N receives r N per 8 hours,
// 3 r N T over T days, whatever the number of steps per day.
TEST(Hedging, FundingMatchesHandComputation) {
  Model model = two_gbm_model(0.0, 1e-9, 0.0, 1e-9, 0.0);
  for (int steps_per_day : {1, 2, 4, 5}) {
    for (double rate : {0.0001, -0.0003}) {
      BookConfig book = static_perpetual_book({{"M", 10.0}}, 1.0);
      test::hedge_leg(book).funding_rate_8h = {rate};
      book.simulation.paths = 200;
      book.simulation.steps_per_day = steps_per_day;
      const HedgeRun r = run(model, book);
      const double expected = 3.0 * rate * 1000.0 * 30;
      for (std::size_t i = 0; i < r.hedged.size(); ++i)
        ASSERT_NEAR(r.hedged[i] - r.unhedged[i], expected, 1e-4) << "steps/day " << steps_per_day << " rate " << rate;
    }
  }
}

// Per-regime funding: forced into regime k, the rate is rate[k] and the funding multiplier scales it.
TEST(Hedging, FundingFollowsTheRegimeAndItsMultiplier) {
  Model model = two_gbm_model(0.0, 1e-9, 0.0, 1e-9, 0.0);
  Regime second = model.regimes[0];
  second.name = "second";
  model.regimes.push_back(second);
  model.transition = {{0.0, 1.0}, {0.0, 1.0}};  // always regime 1 from day 1 on
  model.initial_probabilities = {1.0, 0.0};
  validate_model(model, "test");
  BookConfig book = static_perpetual_book({{"M", 10.0}}, 1.0);
  test::hedge_leg(book).funding_rate_8h = {0.0005, 0.0002};
  book.simulation.paths = 50;
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book, ScenarioShocks{{}, 3.0});
  auto backend = make_cpu_backend(1);
  const auto hedged =
      column_of(collect_outcomes(*backend, tables, PathProgram::outcomes, 50), 50, static_cast<int>(OutcomeField::pnl_hedged));
  EXPECT_NEAR(hedged[0], 3.0 * 0.0002 * 3.0 * 1000.0 * 30, 1e-4);
}

// A short perpetual of notional N on GBM M with collateral C is called the first time
// C - N (S/S0 - 1) < m N S/S0, i.e. S/S0 > B = (C + N) / (N (1 + m)). With daily monitoring,
// P(call) ~ the continuous first-passage probability through log B + 0.5826 sigma sqrt(1 day)
// (Broadie, Glasserman and Kou 1997):
// P = Phi((nu T - b)/(s sqrt T)) + exp(2 nu b / s^2) Phi((-b - nu T)/(s sqrt T)).
// The correction is itself an approximation, good to O(1/m) for m monitoring dates: at these
// parameters (90 dates) an independent numpy simulation of 2e6 discretely monitored paths
// gives 0.40733 +- 0.00035 against the formula's 0.40653, well inside 4 standard errors of
// 10^6 paths (0.0020). At 30 dates and sigma 0.04 the formula's own error (0.0024) is not.
TEST(Hedging, MarginCallProbabilityMatchesFirstPassageWithDailyCorrection) {
  const double nu = 0.0005, sigma = 0.02, t = 90, collateral = 250.0, maintenance = 0.05, notional = 1000.0;
  Model model = two_gbm_model(nu, sigma, 0.0, 0.02, 0.0);
  BookConfig book = static_perpetual_book({{"M", 10.0}}, 1.0);
  book.margin.collateral = collateral;
  book.margin.maintenance_rate = maintenance;
  book.margin.initial_rate = 0.1;
  book.simulation.paths = 1000000;
  book.simulation.horizon_days = static_cast<int>(t);
  const HedgeRun r = run(model, book);
  const double barrier = std::log((collateral + notional) / (notional * (1.0 + maintenance))) + 0.5826 * sigma;
  const double st = sigma * std::sqrt(t);
  const double expected = normal_cdf_ref((nu * t - barrier) / st) +
                          std::exp(2.0 * nu * barrier / (sigma * sigma)) * normal_cdf_ref((-barrier - nu * t) / st);
  const MarginResult& m = r.result.margin;
  EXPECT_NEAR(m.call_probability, expected, 4.0 * m.call_probability_se) << "expected " << expected;
  EXPECT_EQ(m.liquidation_probability, m.call_probability);  // on_call: liquidate
  ASSERT_TRUE(m.mean_first_call_day.has_value());
  EXPECT_GT(*m.mean_first_call_day, 1.0);
  EXPECT_LE(*m.mean_first_call_day, t);
}

// collateral_for_call_probability comes from per-path shortfalls in one run; re-running with
// that collateral must meet the target, and with a hair less must miss it.
TEST(Hedging, CollateralForCallProbabilityAgreesWithReruns) {
  Model model = two_gbm_model(0.0005, 0.04, 0.0, 0.05, 0.6);
  for (MarginAction action : {MarginAction::liquidate, MarginAction::top_up}) {
    BookConfig book = static_perpetual_book({{"A", 40.0}, {"M", 5.0}}, 0.9);
    test::hedge_leg(book).fee_bps = 3;
    test::hedge_leg(book).funding_rate_8h = {0.0002};
    book.margin.collateral = 100.0;
    book.margin.on_call = action;
    book.risk.max_call_probability = 0.02;
    book.simulation.paths = 50000;
    const double needed = run(model, book).result.margin.collateral_for_call_probability[0].second;
    EXPECT_GT(needed, 100.0);
    book.margin.collateral = needed;
    EXPECT_LE(run(model, book).result.margin.call_probability, 0.02);
    book.margin.collateral = needed * (1.0 - 1e-9);
    EXPECT_GT(run(model, book).result.margin.call_probability, 0.02);
  }
}

struct BetaRecorder {
  std::vector<double>* after;
  std::vector<double>* before;
  void on_day(int, int) const {}
  void on_beta_check(int, double b, double a) const {
    before->push_back(b);
    after->push_back(a);
  }
};

// Band 0, no costs: after every daily check the portfolio-plus-hedge beta is the target.
TEST(Hedging, DynamicHedgeWithZeroBandHoldsTargetBetaEveryStep) {
  const Model model = make_synthetic_model(3, 2);
  for (HedgeInstrument instrument : {HedgeInstrument::perpetual, HedgeInstrument::future, HedgeInstrument::option}) {
    BookConfig book;
    book.holdings = {{"A1", 40.0}, {"A2", 60.0}};
    test::hedge_leg(book).instrument = instrument;
    book.hedge.mode = HedgeMode::dynamic;
    book.hedge.target_beta = 0.5;
    book.hedge.band = 0.0;
    test::hedge_leg(book).future = {10, {0.08}, 2, 0.0};
    test::hedge_leg(book).option = {false, 1.0, 7, 1.2, 0.0};
    book.hedge.target_beta = instrument == HedgeInstrument::option ? 0.6 : 0.5;  // puts only lower beta
    book.margin.collateral = 1e12;
    const PortfolioSetup portfolio = make_portfolio(model, book);
    const SimulationTables tables = build_simulation_tables(model, portfolio, book);
    const SimulationView view = tables.view(tables.data.data());
    std::vector<double> before, after;
    for (int p = 0; p < 200; ++p) {
      PhiloxStream gen(3, p);
      const PathOutcome o = simulate_path<4>(view, gen, BetaRecorder{&after, &before});
      EXPECT_EQ(o.costs, 0.0);
    }
    ASSERT_EQ(after.size(), 200u * 30u);
    // A put far out of the money near expiry can take at most kMaxDynamicOptionRatio x V of
    // notional (Legs.ADynamicOptionLegsUnitsStopAtTheRatiosRange): there the beta stays off target.
    std::size_t capped = 0;
    for (std::size_t i = 0; i < after.size(); ++i) {
      if (std::fabs(after[i] - book.hedge.target_beta) <= 1e-10) continue;
      ASSERT_EQ(instrument, HedgeInstrument::option) << "check " << i << ": beta " << after[i];
      ++capped;
    }
    EXPECT_LT(capped, after.size() / 20) << "instrument " << static_cast<int>(instrument);
  }
}

// Decisions do not depend on costs (collateral is ample), so every path's costs double when
// fee_bps doubles, and the hedged P&L falls by exactly the extra cost.
TEST(Hedging, CostsScaleLinearlyWithFee) {
  const Model model = make_synthetic_model(3, 2);
  BookConfig book;
  book.holdings = {{"A1", 40.0}, {"A2", 60.0}};
  test::hedge_leg(book).instrument = HedgeInstrument::perpetual;
  book.hedge.mode = HedgeMode::dynamic;
  book.hedge.band = 0.02;
  book.margin.collateral = 1e12;
  book.simulation.paths = 5000;
  test::hedge_leg(book).fee_bps = 2;
  const HedgeRun two = run(model, book);
  test::hedge_leg(book).fee_bps = 4;
  const HedgeRun four = run(model, book);
  double total = 0;
  for (std::size_t i = 0; i < two.costs.size(); ++i) {
    ASSERT_NEAR(four.costs[i], 2.0 * two.costs[i], 1e-12 * four.costs[i]);
    ASSERT_NEAR(two.hedged[i] - four.hedged[i], two.costs[i], 1e-9 * std::abs(two.hedged[i]) + 1e-9);
    total += two.costs[i];
  }
  EXPECT_GT(total, 0.0);
  EXPECT_GT(two.result.beta.mean_rebalances, 0.0);
}

// Price frozen: a short future of notional V0 rolled every 8 days (expiry 10, roll 2 before)
// earns the basis decay of each contract, q = exp(-8 b / 365) per full segment, and pays the
// roll cost on the notional at each of the 3 rolls (days 8, 16, 24).
TEST(Hedging, FutureBasisDecayAndRollCostsMatchHandComputation) {
  Model model = two_gbm_model(0.0, 1e-9, 0.0, 1e-9, 0.0);
  BookConfig book = static_perpetual_book({{"M", 10.0}}, 1.0);
  test::hedge_leg(book).instrument = HedgeInstrument::future;
  const double b = 0.12, cost = 3e-4, v0 = 1000.0;
  test::hedge_leg(book).future = {10, {b}, 2, 3.0};
  book.simulation.paths = 100;
  const HedgeRun r = run(model, book);
  const double q = std::exp(-8.0 * b / 365.0), q_last = std::exp(-6.0 * b / 365.0);
  const double basis_pnl = v0 * ((1 - q) + q * (1 - q) + q * q * (1 - q) + q * q * q * (1 - q_last));
  const double roll_costs = cost * v0 * (q + q * q + q * q * q);
  for (std::size_t i = 0; i < r.hedged.size(); ++i) {
    ASSERT_NEAR(r.hedged[i] - r.unhedged[i], basis_pnl - roll_costs, 1e-4);  // 10 sigma of the 1e-9-vol noise
    ASSERT_NEAR(r.costs[i], roll_costs, 1e-7);  // the frozen price still moves by ~1e-9
  }
}

// With the benchmark a martingale (drift -sigma^2/2 per day), rate 0 and implied vol equal
// to the model's, each bought put is fairly priced: its mean P&L is 0. Held to expiry, one
// put's P&L is units x (payoff - premium), checked path by path.
TEST(Hedging, PutHedgeIsFairlyPricedAndSettlesAtPayoff) {
  const double sigma = 0.03;
  Model model = two_gbm_model(-0.5 * sigma * sigma, sigma, 0.0, 0.04, 0.5);
  BookConfig book = static_perpetual_book({{"M", 10.0}}, 1.0);
  test::hedge_leg(book).instrument = HedgeInstrument::option;
  test::hedge_leg(book).option = {false, 0.95, 30, 1.0, 0.0};
  book.simulation.paths = 200000;
  const HedgeRun held = run(model, book);
  const double premium = black_scholes_price(
      OptionKind::put, {100.0, 95.0, 30.0 / 365.0, sigma * std::sqrt(365.0), 0.0, 0.0});
  const double units = 1000.0 / 100.0;
  double mean = 0, mean_sq = 0;
  const std::size_t n = held.hedged.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double s_t = 100.0 * (1.0 + held.unhedged[i] / 1000.0);  // the portfolio is 10 M
    const double option_pnl = held.hedged[i] - held.unhedged[i];
    ASSERT_NEAR(option_pnl, units * (std::max(95.0 - s_t, 0.0) - premium), 1e-8);
    mean += option_pnl / n;
    mean_sq += option_pnl * option_pnl / n;
  }
  EXPECT_NEAR(mean, 0.0, 4.0 * std::sqrt((mean_sq - mean * mean) / n));

  test::hedge_leg(book).option.tenor_days = 7;  // rolled 4 times within the horizon, still fair
  const HedgeRun rolled = run(model, book);
  EXPECT_NEAR(rolled.result.hedged.mean - rolled.result.unhedged.mean, 0.0,
              4.0 * std::hypot(rolled.result.hedged.mean_se, rolled.result.unhedged.mean_se) * 3);
}

// top_up sells the portfolio on a call and liquidates only once the portfolio is sold out;
// up to the first call both modes follow the same path, so their call probabilities agree.
TEST(Hedging, TopUpSellsPortfolioInsteadOfLiquidating) {
  Model model = two_gbm_model(0.001, 0.04, 0.0, 0.05, 0.6);
  BookConfig book = static_perpetual_book({{"A", 40.0}, {"M", 5.0}}, 1.0);
  book.margin.collateral = 60.0;
  book.margin.on_call = MarginAction::top_up;
  book.simulation.paths = 20000;
  const HedgeRun topped = run(model, book);
  EXPECT_GT(topped.result.margin.call_probability, 0.05);
  EXPECT_LT(topped.result.margin.liquidation_probability, 0.1 * topped.result.margin.call_probability);
  book.margin.on_call = MarginAction::liquidate;
  const HedgeRun liquidated = run(model, book);
  EXPECT_EQ(liquidated.result.margin.call_probability, topped.result.margin.call_probability);
  EXPECT_EQ(liquidated.result.margin.liquidation_probability, liquidated.result.margin.call_probability);
}

}  // namespace
}  // namespace betahedge
