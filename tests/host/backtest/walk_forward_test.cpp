// run_backtest on price histories drawn from a known model (make_synthetic_model,
// simulate_return_history): a correctly specified walk forward keeps its exception count
// within the binomial bounds, a history whose test period has doubled vols is rejected, the
// realised P&Ls are the closed forms of the book and its static hedge, the output does not
// depend on threads or batch size, and a 5-day horizon samples every 5th date.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/walk_forward.hpp"
#include "betahedge/error.hpp"
#include "config/book_config.hpp"
#include "engine/return_history.hpp"
#include "engine/synthetic_model.hpp"
#include "report/backtest_files.hpp"
#include "synthetic_prices.hpp"

namespace betahedge {
namespace {

using test::synthetic_prices;

constexpr double kRatio = 0.8;

/// Long A1 and A2, a static perpetual short of 0.8 x V on the benchmark A0; no fees, no
/// funding, collateral far above any day's loss (no margin call); one risk level.
BookConfig test_book(const std::string& level = "0.99") {
  return parse_book(
      "model: unused.json\n"
      "portfolio:\n"
      "  holdings: {A1: 10, A2: 20}\n"
      "hedge:\n"
      "  instrument: perpetual\n"
      "  benchmark: A0\n"
      "  mode: static\n"
      "  ratio: 0.8\n"
      "margin:\n"
      "  collateral: 1000000\n"
      "simulation:\n"
      "  seed: 7\n"
      "  backend: cpu\n"
      "  drift: model\n"
      "risk:\n"
      "  levels: [" + level + "]\n",
      "book.yaml");
}

BacktestRun backtest(const PriceTable& prices, const BookConfig& book, const BacktestOptions& options) {
  return run_backtest(prices, book, options, [](const std::string&) {});
}

/// The exceptions of every date at level 0 (unhedged or hedged), in date order.
int exceptions(const BacktestRun& run, bool hedged) {
  int n = 0;
  for (std::size_t d = 0; d < run.dates.size(); ++d) n += run.exception(d, 0, hedged);
  return n;
}

/// Bin(1000, 1%)'s two-sided 99% bounds (scipy.stats.binom.ppf(0.005 and 0.995, 1000, 0.01)):
/// P(X < 3) = 0.27%, P(X > 19) = 0.33%.
constexpr int kLowest = 3, kHighest = 19;

void expect_correct_coverage(const BacktestRun& run) {
  ASSERT_EQ(run.dates.size(), 1000u);
  const BacktestEvaluation e = evaluate_backtest(run);
  ASSERT_EQ(e.sample.size(), 1000u);
  for (const bool hedged : {false, true}) {
    SCOPED_TRACE(hedged ? "hedged" : "unhedged");
    const CoverageTests& c = (hedged ? e.levels[0].hedged : e.levels[0].unhedged).coverage;
    EXPECT_EQ(c.exceptions, exceptions(run, hedged));
    EXPECT_GE(c.exceptions, kLowest);
    EXPECT_LE(c.exceptions, kHighest);
    EXPECT_GT(c.kupiec_p, 0.01);
  }
  EXPECT_EQ(e.margin_calls, 0);
}

// The forecasts of a correctly specified model: over 1,000 dates at 99%, Bin(1000, 1%)
// exceptions. One regime: the Gaussian the history is drawn from, which a 500-day window
// estimates to a few percent of its vols (20 of 20 seeds tried: 6..19 unhedged exceptions,
// mean 11.5; 5..14 hedged, mean 9.8).
TEST(WalkForward, OneRegimeModelsExceptionsAreBinomial) {
  const Model model = make_synthetic_model(3, 1);
  BacktestOptions o;
  o.num_regimes = 1;
  o.window_days = 500;
  o.refit_every = 50;
  o.paths = 20000;
  const BacktestRun run = backtest(synthetic_prices(model, 500 + 1000, 1001), test_book(), o);
  EXPECT_EQ(run.fits.size(), 20u);
  expect_correct_coverage(run);
}

// The same with two regimes (calm, stressed), whose probabilities the walk forward filters
// every date. Calibration recovers them reliably from 2,000-day windows (12 of 12 seeds tried:
// 6..14 unhedged exceptions, mean 10.0; 4..15 hedged, mean 8.9); from 730-day windows the
// stressed regime's parameters are too uncertain and the exceptions run ~45% above nominal.
TEST(WalkForward, TwoRegimeModelsExceptionsAreBinomial) {
  const Model model = make_synthetic_model(3, 2);
  BacktestOptions o;
  o.num_regimes = 2;
  o.window_days = 2000;
  o.refit_every = 200;
  o.paths = 20000;
  const BacktestRun run = backtest(synthetic_prices(model, 2000 + 1000, 1001), test_book(), o);
  EXPECT_EQ(run.fits.size(), 5u);
  // The regime probabilities move between refits: filtered every date.
  int moved = 0;
  for (std::size_t d = 1; d < run.dates.size(); ++d) {
    ASSERT_EQ(run.dates[d].regime_probabilities.size(), 2u);
    EXPECT_NEAR(run.dates[d].regime_probabilities[0] + run.dates[d].regime_probabilities[1], 1.0, 1e-12);
    moved += run.dates[d].regime_probabilities != run.dates[d - 1].regime_probabilities;
  }
  EXPECT_GT(moved, 900);
  expect_correct_coverage(run);
}

// A test period drawn with every vol doubled, forecast by one fit of the window before it:
// P(exception) = P(Z > 2.33 / 2) = 12% instead of 1%, about 30 of 250.
TEST(WalkForward, DoubledVolsInTheTestPeriodAreRejected) {
  const Model model = make_synthetic_model(3, 1);
  BacktestOptions o;
  o.num_regimes = 1;
  o.window_days = 500;
  o.refit_every = 250;
  o.paths = 20000;
  const BacktestRun run = backtest(synthetic_prices(model, 500 + 250, 1002, 250), test_book(), o);
  ASSERT_EQ(run.dates.size(), 250u);
  EXPECT_EQ(run.fits.size(), 1u);
  const BacktestEvaluation e = evaluate_backtest(run);
  for (const BacktestSideTests* t : {&e.levels[0].unhedged, &e.levels[0].hedged}) {
    EXPECT_LT(t->coverage.kupiec_p, 0.01) << t->coverage.exceptions << " exceptions";
    EXPECT_EQ(t->traffic_light.zone, "red") << t->coverage.exceptions << " exceptions";
    EXPECT_EQ(t->traffic_light.first, 0);
    EXPECT_EQ(t->traffic_light.last, 249);
    EXPECT_NE(t->es_test.zone, "accept");
  }
}

BacktestOptions short_run(int horizon_days) {
  BacktestOptions o;
  o.num_regimes = 2;
  o.window_days = 300;
  o.refit_every = 25;
  o.horizon_days = horizon_days;
  o.paths = 4000;
  o.calibration_starts = 3;
  return o;
}

// The realised P&L in closed form: unhedged holdings . (P_{t+h} - P_t); the static perpetual
// short of ratio x V_t on the benchmark, without fees or funding, adds
// -ratio x V_t x (B_{t+h} / B_t - 1) (replay.hpp: the short's notional is ratio x V at t0).
void expect_closed_form_pnl(const PriceTable& prices, const BacktestRun& run, int horizon_days) {
  ASSERT_EQ(run.dates.size(), static_cast<std::size_t>(prices.num_rows() - 300 - horizon_days));
  for (std::size_t i = 0; i < run.dates.size(); ++i) {
    const BacktestDate& d = run.dates[i];
    const int t = 300 + static_cast<int>(i), end = t + horizon_days;
    ASSERT_EQ(d.date, prices.dates[t]);
    ASSERT_EQ(d.end_date, prices.dates[end]);
    const auto close = [&](int row, int asset) { return prices.closes(row, asset); };
    const double v = 10.0 * close(t, 1) + 20.0 * close(t, 2);
    const double unhedged = 10.0 * (close(end, 1) - close(t, 1)) + 20.0 * (close(end, 2) - close(t, 2));
    const double hedged = unhedged - kRatio * v * (close(end, 0) / close(t, 0) - 1.0);
    EXPECT_NEAR(d.portfolio_value, v, 1e-12 * v) << d.date;
    // The hedge as opened at t: short ratio x V_t, never traded (static).
    EXPECT_NEAR(d.hedge_notional, -kRatio * v, 1e-12 * v) << d.date;
    EXPECT_EQ(d.rebalances, 0) << d.date;
    EXPECT_NEAR(d.realised_unhedged, unhedged, 1e-10 * v) << d.date;
    EXPECT_NEAR(d.realised_hedged, hedged, 1e-10 * v) << d.date;
    EXPECT_FALSE(d.margin_called) << d.date;
  }
}

TEST(WalkForward, RealisedPnlIsTheBookAndItsStaticHedgeInClosedForm) {
  const Model model = make_synthetic_model(3, 2);
  const PriceTable prices = synthetic_prices(model, 300 + 60, 1003);
  const BacktestRun run = backtest(prices, test_book(), short_run(1));
  expect_closed_form_pnl(prices, run, 1);
  // The fits: every 25 dates, each on the 300 returns before its date.
  ASSERT_EQ(run.fits.size(), 3u);
  for (int f = 0; f < 3; ++f) {
    EXPECT_EQ(run.fits[f].date, prices.dates[300 + 25 * f]);
    EXPECT_EQ(run.fits[f].window_start, prices.dates[25 * f]);
    EXPECT_EQ(run.fits[f].window_end, prices.dates[300 + 25 * f]);
  }
  for (std::size_t i = 0; i < run.dates.size(); ++i) EXPECT_EQ(run.dates[i].fit, static_cast<int>(i) / 25);
  // 60 dates (closes 300..359 of 361) at 99% expect 0.6 exceptions; they are every testable date,
  // so the warning says a longer history or a shorter window would add observations, not a wider
  // test period.
  ASSERT_EQ(prices.num_rows(), 361);
  EXPECT_EQ(run.testable_dates, 60);
  const BacktestEvaluation e = evaluate_backtest(run);
  ASSERT_FALSE(e.warnings.empty());  // (a refit at the EM cap would add its own warning after it)
  EXPECT_EQ(e.warnings[0], "backtest: 60 observations expect 0.6 exceptions at 0.99, too few for the coverage tests to "
                           "reject a wrong model (500 observations would expect 5). The test period " +
                               prices.dates[300] + " .. " + prices.dates[359] +
                               " is already every date of the prices with a 300-day window before it and the horizon "
                               "after it; more observations need a longer price history or a shorter --window-days");
  // A test period inside the testable dates: widen it.
  BacktestOptions part = short_run(1);
  part.to = prices.dates[320];
  part.names.config = "run.yaml";
  part.names.block_line = 12;
  const BacktestRun shorter = backtest(prices, test_book(), part);
  const BacktestEvaluation f = evaluate_backtest(shorter);
  ASSERT_FALSE(f.warnings.empty());
  EXPECT_NE(f.warnings[0].find(". The test period " + prices.dates[300] + " .. " + prices.dates[320] +
                               " is 21 of the 60 testable dates (" + prices.dates[300] + " .. " + prices.dates[359] +
                               "): widen backtest.from/backtest.to"),
            std::string::npos)
      << f.warnings[0];
}

TEST(WalkForward, OptionsAreNamedAsTheCommandLineOrRunYamlWritesThem) {
  const BacktestOptionNames cli;
  EXPECT_EQ(cli.where("window_days"), "--window-days");
  EXPECT_EQ(cli.field("horizon_days"), "--horizon-days");
  EXPECT_EQ(cli.where("regimes"), "--regimes");
  BacktestOptionNames run_yaml;
  run_yaml.config = "configs/run.yaml";
  run_yaml.block_line = 12;
  run_yaml.lines = {{"window_days", 14}, {"benchmark", 5}};
  EXPECT_EQ(run_yaml.where("window_days"), "configs/run.yaml:14: backtest.window_days");
  EXPECT_EQ(run_yaml.where("to"), "configs/run.yaml:12: backtest.to");  // not written: the block's line
  EXPECT_EQ(run_yaml.where("benchmark"), "configs/run.yaml:5: calibrate.benchmark");
  EXPECT_EQ(run_yaml.where("regimes"), "configs/run.yaml: calibrate.regimes");
  EXPECT_EQ(run_yaml.field("from"), "backtest.from");

  // An error of run_backtest names the field, not the flag.
  const Model model = make_synthetic_model(3, 1);
  const PriceTable prices = synthetic_prices(model, 320, 1006);
  BacktestOptions o = short_run(1);
  o.window_days = 400;
  o.names = run_yaml;
  try {
    check_backtest_inputs(prices, test_book(), o);
    ADD_FAILURE() << "a 400-day window on 320 closes ran";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("configs/run.yaml:14: backtest.window_days: 400 returns before a test date "
                                          "and 1 day after it (backtest.horizon_days) need at least 402 closes",
                                          0),
              0u)
        << e.what();
  }
}

TEST(WalkForward, SameCsvWhateverTheThreadsAndBatchSize) {
  const Model model = make_synthetic_model(3, 2);
  const PriceTable prices = synthetic_prices(model, 300 + 40, 1004);
  BookConfig one_thread = test_book("0.95, 0.99"), two_threads = one_thread;
  one_thread.simulation.threads = 1;
  two_threads.simulation.threads = 2;
  two_threads.simulation.batch_size = 1000;
  const BacktestRun a = backtest(prices, one_thread, short_run(1));
  const BacktestRun b = backtest(prices, two_threads, short_run(1));
  const std::string csv = backtest_csv(a, evaluate_backtest(a));
  EXPECT_EQ(csv, backtest_csv(b, evaluate_backtest(b)));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 41);  // the header and 40 dates
}

TEST(WalkForward, AFiveDayHorizonSamplesEveryFifthDate) {
  const Model model = make_synthetic_model(3, 2);
  const PriceTable prices = synthetic_prices(model, 300 + 46, 1005);  // closes 0..346: test dates 300..341
  const BacktestRun run = backtest(prices, test_book(), short_run(5));
  ASSERT_EQ(run.dates.size(), 42u);
  expect_closed_form_pnl(prices, run, 5);
  const BacktestEvaluation e = evaluate_backtest(run);
  EXPECT_EQ(e.sampling_step, 5);
  EXPECT_EQ(e.sample, (std::vector<int>{0, 5, 10, 15, 20, 25, 30, 35, 40}));
  EXPECT_EQ(e.levels[0].hedged.coverage.observations, 9);
  // backtest.csv keeps every date and marks the sampled ones.
  const std::string csv = backtest_csv(run, e);
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  int sampled_column = 0;
  for (std::size_t at = 0; at < line.find(",sampled,"); at = line.find(',', at + 1)) ++sampled_column;
  for (int i = 0; std::getline(lines, line); ++i) {
    std::istringstream fields(line);
    std::string field;
    for (int c = 0; c <= sampled_column; ++c) std::getline(fields, field, ',');
    EXPECT_EQ(field, i % 5 == 0 ? "1" : "0") << line;
  }
  // The tests read phase 0 (dates 0, 5, ...). Losses far beyond VaR on the phase-1 dates only: the
  // reported tests see nothing, and a warning says that one of the five samplings rejects.
  const auto phase_warnings = [](const BacktestEvaluation& evaluation) {
    std::vector<std::string> out;
    for (const std::string& w : evaluation.warnings)
      if (w.find("-day horizon: Kupiec rejects on") != std::string::npos) out.push_back(w);
    return out;
  };
  EXPECT_TRUE(phase_warnings(e).empty());
  BacktestRun shifted = run;
  for (std::size_t i = 1; i < shifted.dates.size(); i += 5) shifted.dates[i].realised_unhedged = -1e12;
  const BacktestEvaluation one_phase = evaluate_backtest(shifted);
  EXPECT_EQ(one_phase.levels[0].unhedged.coverage.exceptions, exceptions(run, false));
  std::vector<std::string> warned = phase_warnings(one_phase);
  ASSERT_EQ(warned.size(), 1u);
  EXPECT_EQ(warned[0].rfind("backtest: unhedged 99% at a 5-day horizon: Kupiec rejects on 1 of the 5 ways to take "
                            "one test date in 5 (p ", 0), 0u) << warned[0];
  EXPECT_NE(warned[0].find(" from " + run.dates[1].date + ", "), std::string::npos) << warned[0];
  EXPECT_NE(warned[0].find("the verdict turns on which dates are sampled: the tests read those from " +
                           run.dates[0].date + ". Every phase reads this run's forecasts; a run from another --from "
                           "refits on other dates"),
            std::string::npos)
      << warned[0];
  // Every date's loss beyond VaR: every sampling rejects, and the warning says they agree.
  for (BacktestDate& d : shifted.dates) d.realised_hedged = -1e12;
  warned = phase_warnings(evaluate_backtest(shifted));
  ASSERT_EQ(warned.size(), 2u);
  EXPECT_NE(warned[1].find("backtest: hedged 99% at a 5-day horizon: Kupiec rejects on 5 of the 5 ways"),
            std::string::npos) << warned[1];
  EXPECT_NE(warned[1].find("every sampling agrees"), std::string::npos) << warned[1];
}


// The check between batches (the Python package's Ctrl-C) runs before every date and after every
// batch of its passes without changing a figure, and what it throws stops the walk forward.
TEST(WalkForward, TheCheckBetweenBatchesRunsEveryDateAndWhatItThrowsStopsTheRun) {
  const Model model = make_synthetic_model(3, 2);
  const PriceTable prices = synthetic_prices(model, 300 + 40, 1004);
  BookConfig book = test_book("0.95, 0.99");
  book.simulation.batch_size = 1000;
  const BacktestOptions options = short_run(1);
  const BacktestRun unchecked = backtest(prices, book, options);
  int checks = 0;
  const BacktestRun checked = run_backtest(prices, book, options, [](const std::string&) {}, [&] { ++checks; });
  EXPECT_EQ(backtest_csv(checked, evaluate_backtest(checked)), backtest_csv(unchecked, evaluate_backtest(unchecked)));
  // 40 dates, each checked once before it and after each batch of its pass (at least one).
  EXPECT_GE(checks, 40 * 2);
  struct Interrupted {};
  int dates_started = 0;
  EXPECT_THROW(run_backtest(prices, book, options, [](const std::string&) {},
                            [&] {
                              if (++dates_started == 5) throw Interrupted{};
                            }),
               Interrupted);
}

}  // namespace
}  // namespace betahedge
