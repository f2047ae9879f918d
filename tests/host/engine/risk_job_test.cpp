// The optimiser and the band sweep against answers they did not produce: separate runs on the
// same random numbers, the two-GBM closed form, and reruns at the reported ratios.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "cpu_backend/cpu_backend.hpp"
#include "calibration/calibrate.hpp"
#include "engine/risk_job.hpp"
#include "engine/synthetic_model.hpp"
#include "model/model_json.hpp"
#include "report/summary_json.hpp"
#include "hedged_test_book.hpp"

namespace betahedge {
namespace {

Model two_gbm_model() {
  Model m;
  m.assets = {"M", "A"};
  m.benchmark = "M";
  m.regimes = {Regime{"only", {0.0002, 0.0001}, {0.03, 0.045}, {1.0, 0.7, 0.7, 1.0}, std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {100.0, 50.0};
  validate_model(m, "test");
  return m;
}

/// The optimiser on the model's base scenario (the grid rides along with its simulation).
Optimization optimize(PathBackend& backend, const Model& model, const BookConfig& book) {
  return *run_scenario(backend, base_scenario(model), make_portfolio(model, book), book, {true, false}).optimization;
}

/// Column `column` of every path of a collect_outcomes result.
std::vector<double> column(const std::vector<double>& all, const BookConfig& book, int column) {
  return column_of(all, book.simulation.paths, column);
}

BookConfig grid_book(double collateral) {
  BookConfig b;
  b.holdings = {{"A", 100.0}};
  test::hedge_leg(b).instrument = HedgeInstrument::perpetual;
  test::hedge_leg(b).fee_bps = 2;
  test::hedge_leg(b).funding_rate_8h = {0.0001};
  b.margin.collateral = collateral;
  b.risk.hedge_ratio_grid = {0.0, 1.5, 0.1};
  b.risk.max_call_probability = 0.02;
  b.simulation.paths = 40000;
  b.simulation.seed = 9;
  return b;
}

// One pass over the grid gives, at each ratio, exactly the paths a separate static run at
// that ratio gives (same random numbers, same operations): compared path by path.
TEST(RiskJob, GridEqualsSeparateRunsPathByPath) {
  const Model model = two_gbm_model();
  for (MarginAction action : {MarginAction::liquidate, MarginAction::top_up}) {
    BookConfig book = grid_book(400.0);
    book.margin.on_call = action;
    const PortfolioSetup portfolio = make_portfolio(model, book);
    auto backend = make_cpu_backend(0);
    const SimulationTables grid_tables = build_simulation_tables(model, portfolio, book);
    const std::vector<double> grid =
        collect_outcomes(*backend, grid_tables, PathProgram::outcomes_with_ratio_grid, book.simulation.paths);
    const int count = grid_tables.scalars.hedge.num_grid_ratios;
    ASSERT_EQ(count, 16);
    std::vector<std::vector<double>> grid_pnl, grid_called;
    for (int r = 0; r < count; ++r) {
      grid_pnl.push_back(column(grid, book, kNumOutcomeFields + RatioGridColumns::pnl(r)));
      grid_called.push_back(column(grid, book, kNumOutcomeFields + RatioGridColumns::called(r)));
    }
    int called_somewhere = 0;
    for (int r : {0, 3, 8, 15}) {
      BookConfig single = book;
      test::hedge_leg(single).ratio = hedge_ratio_grid(book.risk.hedge_ratio_grid)[r];
      const std::vector<double> all = collect_outcomes(*backend, build_simulation_tables(model, portfolio, single),
                                                       PathProgram::outcomes, book.simulation.paths);
      const std::vector<double> pnl = column(all, book, static_cast<int>(OutcomeField::pnl_hedged));
      const std::vector<double> first_call = column(all, book, static_cast<int>(OutcomeField::first_call_step));
      for (std::size_t i = 0; i < pnl.size(); ++i) {
        ASSERT_NEAR(grid_pnl[r][i], pnl[i], 1e-9 * std::max(1.0, std::abs(pnl[i]))) << "ratio " << r << " path " << i;
        ASSERT_EQ(grid_called[r][i], first_call[i] >= 0.0 ? 1.0 : 0.0) << "ratio " << r << " path " << i;
        called_somewhere += first_call[i] >= 0.0;
      }
    }
    EXPECT_GT(called_somewhere, 1000);  // the margin rule was exercised
  }
}

// Ratio r is called iff C < r D with D the ratio-1 shortfall: the grid's call flags agree.
TEST(RiskJob, GridCallsFollowTheUnitShortfall) {
  const Model model = two_gbm_model();
  const BookConfig book = grid_book(400.0);
  auto backend = make_cpu_backend(0);
  const SimulationTables tables = build_simulation_tables(model, make_portfolio(model, book), book);
  const std::vector<double> grid =
      collect_outcomes(*backend, tables, PathProgram::outcomes_with_ratio_grid, book.simulation.paths);
  const int count = tables.scalars.hedge.num_grid_ratios;
  const std::vector<double> d = column(grid, book, kNumOutcomeFields + RatioGridColumns::unit_shortfall(count));
  const std::vector<double> ratios = hedge_ratio_grid(book.risk.hedge_ratio_grid);
  for (int r = 0; r < count; ++r) {
    const std::vector<double> called = column(grid, book, kNumOutcomeFields + RatioGridColumns::called(r));
    int disagree = 0;
    for (std::size_t i = 0; i < d.size(); ++i)
      disagree += (called[i] == 1.0) != (400.0 < ratios[r] * d[i] * (1.0 - 1e-9));
    EXPECT_LE(disagree, 2) << "ratio " << ratios[r];  // only ties within rounding may differ
  }
}

// Ample collateral: no calls, so min_variance is the two-GBM closed form Cov(X,Y)/Var(Y) and
// the margin constraint does not bind.
TEST(RiskJob, MinVarianceIsTheClosedFormWithAmpleCollateral) {
  const Model model = two_gbm_model();
  BookConfig book = grid_book(1e12);
  test::hedge_leg(book).fee_bps = 0;
  test::hedge_leg(book).funding_rate_8h = {0.0};
  book.simulation.paths = 200000;
  book.simulation.drift = DriftRule::model;  // the closed form below has the model's log drifts
  const double t = 30, s_m = 0.03, s_a = 0.045, rho = 0.7;
  const double ex = std::exp((0.0001 + 0.5 * s_a * s_a) * t), ey = std::exp((0.0002 + 0.5 * s_m * s_m) * t);
  const double h_star = ex / ey * (std::exp(rho * s_a * s_m * t) - 1.0) / (std::exp(s_m * s_m * t) - 1.0);
  auto backend = make_cpu_backend(0);
  const Optimization opt = optimize(*backend, model, book);
  // se of the regression slope ~ sqrt((1 - R^2) Var(X) / (n Var(Y))); R^2 ~ 0.49 here.
  const double se = std::sqrt((1 - 0.49) * (std::exp(s_a * s_a * t) - 1) * ex * ex /
                              (book.simulation.paths * (std::exp(s_m * s_m * t) - 1) * ey * ey));
  EXPECT_NEAR(opt.optimal.min_variance, h_star, 4.0 * se);
  ASSERT_TRUE(opt.optimal.margin_constrained.has_value());
  EXPECT_DOUBLE_EQ(*opt.optimal.margin_constrained, opt.optimal.min_variance);
  for (const RatioCurvePoint& p : opt.curve) EXPECT_EQ(p.call_probability, 0.0);
}

// The refined min-ES ratio, re-run on its own, is no worse than the best grid ratio, and the
// margin-constrained ratio meets the call limit while 2% more does not.
TEST(RiskJob, RefinedOptimaHoldUpWhenRerun) {
  const Model model = make_synthetic_model(3, 2);
  BookConfig book;
  book.holdings = {{"A1", 40.0}, {"A2", 60.0}};
  test::hedge_leg(book).instrument = HedgeInstrument::perpetual;
  book.margin.collateral = 1500.0;
  book.risk.hedge_ratio_grid = {0.0, 1.5, 0.1};
  book.risk.max_call_probability = 0.02;
  book.simulation.paths = 40000;
  const PortfolioSetup portfolio = make_portfolio(model, book);
  auto backend = make_cpu_backend(0);
  const Optimization opt = optimize(*backend, model, book);

  auto rerun = [&](double ratio) {
    BookConfig single = book;
    test::hedge_leg(single).ratio = ratio;
    return evaluate_scenario("r", *backend, build_simulation_tables(model, portfolio, single), single);
  };
  for (std::size_t l = 0; l < book.risk.levels.size(); ++l) {
    double best_grid = 1e300;
    for (const RatioCurvePoint& p : opt.curve) best_grid = std::min(best_grid, p.hedged.tails[l].es);
    const ScenarioResult at_optimum = rerun(opt.optimal.min_es[l].second);
    EXPECT_LE(at_optimum.hedged.tails[l].es, best_grid + 0.5 * at_optimum.hedged.tails[l].es_se)
        << "level " << book.risk.levels[l].key;
  }
  ASSERT_TRUE(opt.optimal.margin_constrained.has_value());
  const double constrained = *opt.optimal.margin_constrained;
  ASSERT_LT(constrained, opt.optimal.min_variance);  // the constraint binds in this book
  EXPECT_LE(rerun(constrained).margin.call_probability, 0.02);
  EXPECT_GT(rerun(constrained * 1.02).margin.call_probability, 0.02);
}

// Bands on common random numbers: wider bands trade less and track worse; the recommended
// band follows the band rule (recommend_band_pair).
/// A book of A1 and A2 hedged with a perpetual on the synthetic model's benchmark towards beta 0.3.
BookConfig band_book(double collateral) {
  BookConfig book;
  book.holdings = {{"A1", 40.0}, {"A2", 60.0}};
  test::hedge_leg(book).instrument = HedgeInstrument::perpetual;
  book.hedge.mode = HedgeMode::dynamic;
  book.hedge.target_beta = 0.3;
  test::hedge_leg(book).fee_bps = 2;
  book.margin.collateral = collateral;
  return book;
}

TEST(RiskJob, BandSweepTradesOffCostAgainstTracking) {
  const Model model = make_synthetic_model(3, 2);
  BookConfig book = band_book(1e9);
  test::hedge_leg(book).slippage_bps = 5;
  book.risk.band_grid = {0.01, 0.05, 0.1, 0.2, 0.4};
  book.risk.tracking_tolerance = 0.025;
  book.simulation.paths = 20000;
  auto backend = make_cpu_backend(0);
  const std::vector<BandRow> rows = sweep_bands(*backend, model, make_portfolio(model, book), book);
  ASSERT_EQ(rows.size(), 5u);
  int recommended = -1;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].recommended) recommended = static_cast<int>(i);
    if (i == 0) continue;
    EXPECT_LE(rows[i].mean_rebalances, rows[i - 1].mean_rebalances);
    EXPECT_LT(rows[i].mean_costs, rows[i - 1].mean_costs);
    EXPECT_GT(rows[i].mean_abs_deviation, rows[i - 1].mean_abs_deviation);
  }
  ASSERT_GE(recommended, 0);
  EXPECT_LE(rows[recommended].mean_abs_deviation, 0.025);
  // The band rule: no band within the tolerance is cheaper with an ES(0.99) within 5% of the
  // least ES of those bands (collateral 1e9: no calls, every band within the call limit).
  double least_es = INFINITY;
  for (const BandRow& r : rows)
    if (r.mean_abs_deviation <= 0.025) least_es = std::min(least_es, r.hedged.tails.back().es);
  for (const BandRow& r : rows)
    if (r.mean_abs_deviation <= 0.025 && r.hedged.tails.back().es <= 1.05 * least_es)
      EXPECT_GE(r.mean_costs, rows[recommended].mean_costs);
  EXPECT_GT(rows.back().mean_abs_deviation, 0.025);  // the rule had something to exclude
}

// The band sweep's one pass (kMaxBandsPerPass pairs at a time) gives every (target, band) pair
// what a separate run of the book made dynamic at that target and band gives, bit for bit: 10
// bands at the book's own target (two passes), and 3 targets x 4 bands (12 pairs, the second
// pass starting inside the second target's bands).
TEST(RiskJob, BandSweepEqualsSeparateRunsAtEachPair) {
  const Model model = make_synthetic_model(3, 2);
  BookConfig book = band_book(300.0);  // calls on some paths
  book.simulation.paths = 6000;
  auto backend = make_cpu_backend(2);
  const PortfolioSetup portfolio = make_portfolio(model, book);
  for (const std::vector<double>& targets : {std::vector<double>{}, std::vector<double>{0.6, 0.0, 0.3}}) {
    book.risk.target_beta_grid = targets;
    book.risk.band_grid = targets.empty() ? std::vector<double>{0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.4}
                                          : std::vector<double>{0.0, 0.02, 0.1, 0.3};
    const std::vector<double> expected_targets = targets.empty() ? std::vector<double>{0.3} : targets;
    SCOPED_TRACE(std::to_string(expected_targets.size()) + " targets");
    const std::vector<BandRow> rows = sweep_bands(*backend, model, portfolio, book);
    ASSERT_EQ(rows.size(), expected_targets.size() * book.risk.band_grid.size());
    double calls = 0.0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const double target = expected_targets[i / book.risk.band_grid.size()];
      const double band = book.risk.band_grid[i % book.risk.band_grid.size()];
      BookConfig single = book;
      single.hedge.mode = HedgeMode::dynamic;
      single.hedge.target_beta = target;
      single.hedge.band = band;
      const ScenarioResult r =
          evaluate_scenario("band", *backend, build_simulation_tables(model, portfolio, single), single);
      EXPECT_EQ(rows[i].target_beta, target) << i;
      EXPECT_EQ(rows[i].band, band) << i;
      EXPECT_EQ(rows[i].mean_costs, r.beta.mean_costs) << i;
      EXPECT_EQ(rows[i].mean_abs_deviation, r.beta.mean_abs_deviation) << i;
      EXPECT_EQ(rows[i].mean_rebalances, r.beta.mean_rebalances) << i;
      EXPECT_EQ(rows[i].call_probability, r.margin.call_probability) << i;
      EXPECT_EQ(rows[i].hedged.mean, r.hedged.mean) << i;
      EXPECT_EQ(rows[i].hedged.stdev, r.hedged.stdev) << i;
      for (std::size_t l = 0; l < r.hedged.tails.size(); ++l) {
        EXPECT_EQ(rows[i].hedged.tails[l].var, r.hedged.tails[l].var) << i;
        EXPECT_EQ(rows[i].hedged.tails[l].es, r.hedged.tails[l].es) << i;
      }
      calls += r.margin.call_probability;
    }
    EXPECT_GT(calls, 0.0);  // the margin rule was exercised
    // The targets were each applied: band 0 at targets 0.6, 0.0 and 0.3 gives three outcomes.
    if (!targets.empty()) {
      EXPECT_NE(rows[0].hedged.mean, rows[4].hedged.mean);
      EXPECT_NE(rows[4].hedged.mean, rows[8].hedged.mean);
      EXPECT_NE(rows[0].mean_costs, rows[8].mean_costs);
    }
  }
}

// Without risk.target_beta_grid a static book's sweep keeps its own beta at t0, the target its
// scenarios are tracked against (a dynamic book's: hedge.target_beta); each pair still equals a
// run of the book made dynamic at that target.
TEST(RiskJob, AStaticBooksBandSweepKeepsItsStartBeta) {
  const Model model = make_synthetic_model(3, 2);
  BookConfig book = band_book(1e9);
  book.hedge.mode = HedgeMode::static_ratio;
  test::hedge_leg(book).ratio = 0.2;
  book.risk.band_grid = {0.02, 0.1};
  book.simulation.paths = 4000;
  auto backend = make_cpu_backend(1);
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const double start = start_beta(build_simulation_tables(model, portfolio, book));
  ASSERT_GT(std::abs(start - book.hedge.target_beta), 0.1);  // hedge.target_beta (0.3) would differ
  EXPECT_EQ(band_targets(model, portfolio, book), std::vector<double>{start});
  const std::vector<BandRow> rows = sweep_bands(*backend, model, portfolio, book);
  ASSERT_EQ(rows.size(), 2u);
  BookConfig single = book;
  single.hedge.mode = HedgeMode::dynamic;
  single.hedge.target_beta = start;
  single.hedge.band = 0.1;
  const ScenarioResult r = evaluate_scenario("band", *backend, build_simulation_tables(model, portfolio, single), single);
  EXPECT_EQ(rows[1].target_beta, start);
  EXPECT_EQ(rows[1].mean_abs_deviation, r.beta.mean_abs_deviation);
  EXPECT_EQ(rows[1].hedged.tails.back().es, r.hedged.tails.back().es);
  book.hedge.mode = HedgeMode::dynamic;
  EXPECT_EQ(band_targets(model, portfolio, book), std::vector<double>{0.3});
}

// margin.collateral: auto. The job sizes the collateral on a pass over the base scenario (the
// run's own paths), so the base meets risk.max_call_probability: exactly floor(p n) of n paths are
// called where the shortfalls are continuous (a path is called iff its shadow shortfall exceeds
// the collateral, and the collateral is the (n - floor(p n))-th smallest shortfall). Every stress
// posts the same amount, and a book that gives that amount as a number gets the same figures.
RiskReport cpu_job(const Model& model, BookConfig book, const JobStages& stages) {
  book.simulation.backend = BackendChoice::cpu;
  return run_risk_job(model, book, stages, [](const std::string&) {});
}

/// summary.json without what may differ between equal runs (the run block) or is the subject of
/// a comparison (the collateral rule).
nlohmann::json figures_of(const RiskReport& report) {
  nlohmann::json s = summary_to_json(report);
  s.erase("run");
  for (nlohmann::json& scenario : s["scenarios"]) scenario["margin"].erase("collateral_rule");
  return s;
}

// A static book is tracked against its own beta at t0, the target summary.json reports; the
// unused hedge.target_beta (0 by default) changes nothing. Measured against 0, a static half
// hedge of a beta-1.05 book showed a tracking error of its start beta, about 0.55.
TEST(RiskJob, AStaticBookIsTrackedAgainstItsStartBeta) {
  const Model model = two_gbm_model();
  BookConfig book = grid_book(1e6);
  test::hedge_leg(book).ratio = 0.5;
  book.simulation.horizon_days = 5;
  book.simulation.paths = 4096;
  const RiskReport report = cpu_job(model, book, JobStages{});
  const BetaResult& beta = report.scenarios[0].result.beta;
  EXPECT_GT(beta.start, 0.4);
  EXPECT_EQ(beta.target, beta.start);
  EXPECT_LT(beta.mean_abs_deviation, 0.05) << "start " << beta.start;
  EXPECT_GT(beta.mean_abs_deviation, 0.0);

  book.hedge.target_beta = 3.0;
  EXPECT_EQ(figures_of(cpu_job(model, book, JobStages{})), figures_of(report));
}

TEST(RiskJob, AutoCollateralMeetsTheCallProbabilityOnTheRunsOwnPaths) {
  const Model model = two_gbm_model();
  StressScenario vol_up;
  vol_up.name = "vol-up";
  vol_up.vol_multiplier = 1.5;
  for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
    for (MarginAction action : {MarginAction::liquidate, MarginAction::top_up}) {
      SCOPED_TRACE(std::string(mode == HedgeMode::dynamic ? "dynamic" : "static") +
                   (action == MarginAction::top_up ? ", top_up" : ", liquidate"));
      BookConfig book = grid_book(0.0);
      book.margin.collateral.reset();  // auto
      book.margin.on_call = action;
      book.hedge.mode = mode;
      book.hedge.target_beta = 0.2;
      book.hedge.band = 0.05;
      book.stress = {vol_up};
      const JobStages stages{.stresses = true, .optimize = true};
      const RiskReport report = cpu_job(model, book, stages);
      const MarginResult& base = report.scenarios.front().result.margin;
      const double n = static_cast<double>(book.simulation.paths);
      EXPECT_EQ(report.collateral.rule, "auto: the least collateral with call probability <= 0.02 on the base scenario");
      EXPECT_GT(report.collateral.amount, 0.0);
      EXPECT_EQ(base.collateral, report.collateral.amount);
      EXPECT_EQ(base.collateral, base.collateral_for_call_probability.front().second);  // the same paths
      EXPECT_EQ(base.call_probability, std::floor(0.02 * n) / n);
      for (const ScenarioRun& run : report.scenarios) EXPECT_EQ(run.result.margin.collateral, report.collateral.amount);
      EXPECT_GT(report.scenarios.back().result.margin.call_probability, base.call_probability);  // the stress tests it

      BookConfig fixed = book;
      fixed.margin.collateral = report.collateral.amount;
      const RiskReport again = cpu_job(model, fixed, stages);
      EXPECT_EQ(again.collateral.rule, "fixed");
      EXPECT_EQ(figures_of(again).dump(), figures_of(report).dump());
    }
  }
}

// A bought put carries no maintenance margin: its account is called only when the cash spent
// (premium, costs, the premia of rolls) exceeds the collateral, and auto sizes for that.
TEST(RiskJob, AutoCollateralForABoughtPutCoversItsPremia) {
  const Model model = two_gbm_model();
  BookConfig book = grid_book(0.0);
  book.margin.collateral.reset();
  test::hedge_leg(book).instrument = HedgeInstrument::option;
  test::hedge_leg(book).option = {false, 0.95, 7, 1.1, 0.0};  // rolled every 7 days: premia vary by path
  const RiskReport report = cpu_job(model, book, {});
  const MarginResult& base = report.scenarios.front().result.margin;
  const double n = static_cast<double>(book.simulation.paths);
  EXPECT_GT(base.collateral, 0.0);
  EXPECT_LE(base.call_probability, 0.02);
  EXPECT_EQ(base.call_probability, std::floor(0.02 * n) / n);
}

TEST(RiskJob, AFixedCollateralStaysExactAndNoHedgeNeedsNone) {
  const Model model = two_gbm_model();
  const RiskReport fixed = cpu_job(model, grid_book(400.0), {});
  EXPECT_EQ(fixed.collateral.amount, 400.0);
  EXPECT_EQ(fixed.collateral.rule, "fixed");
  EXPECT_EQ(fixed.scenarios.front().result.margin.collateral, 400.0);

  BookConfig unhedged = grid_book(0.0);
  unhedged.margin.collateral.reset();
  unhedged.hedge.legs.clear();
  const RiskReport none = cpu_job(model, unhedged, {});
  EXPECT_EQ(none.collateral.amount, 0.0);
  EXPECT_EQ(none.collateral.rule, "auto: no hedge instrument, no collateral");
  EXPECT_EQ(none.scenarios.front().result.margin.call_probability, 0.0);
}

/// The warnings that contain `text`.
int warnings_with_text(const std::vector<std::string>& warnings, const std::string& text) {
  int count = 0;
  for (const std::string& w : warnings) count += w.find(text) != std::string::npos;
  return count;
}

/// The warnings of `report` that contain `text`.
int warnings_with(const RiskReport& report, const std::string& text) { return warnings_with_text(report.warnings, text); }

std::string all_warnings(const RiskReport& report) {
  std::string text;
  for (const std::string& w : report.warnings) text += w + "\n";
  return text;
}

// Each warning fires where its figure is dominated by an edge case, and only there.
TEST(RiskJob, WarnsOfCallsAboveTenPercent) {
  const Model model = two_gbm_model();
  // Auto collateral: 2% of paths called, no warning.
  BookConfig book = grid_book(0.0);
  book.margin.collateral.reset();
  RiskReport report = cpu_job(model, book, {});
  EXPECT_TRUE(report.warnings.empty()) << all_warnings(report);
  // 10 of collateral against a 250 maintenance requirement: nearly every path is called.
  report = cpu_job(model, grid_book(10.0), {});
  const double calls = report.scenarios.front().result.margin.call_probability;
  EXPECT_GT(calls, 0.9);
  // And 10 is below the 500 of initial margin that opening the hedge (ratio 1 of 5,000) takes.
  ASSERT_EQ(report.warnings.size(), 2u) << all_warnings(report);
  EXPECT_EQ(report.warnings[0], "margin.collateral 10.00 is below what opening the t0 hedge takes (500.00: the initial "
                                "margin); an exchange would not open it, and the figures assume it did");
  char expected[200];
  std::snprintf(expected, sizeof expected,
                "scenario base: %.1f%% of paths met a margin call (collateral 10.00, on_call: liquidate); the hedged "
                "figures are dominated by liquidations",
                100.0 * calls);
  EXPECT_EQ(report.warnings[1], expected);
  // A call at the horizon's last step closes at the mark the P&L is read at: at a one-step
  // horizon every path may be called and no figure is dominated by it; at two steps it is.
  BookConfig one_day = grid_book(10.0);
  one_day.simulation.horizon_days = 1;
  report = cpu_job(model, one_day, {});
  EXPECT_GT(report.scenarios.front().result.margin.call_probability, 0.5);
  EXPECT_EQ(report.scenarios.front().result.margin.early_call_probability, 0.0);
  EXPECT_EQ(warnings_with(report, "met a margin call"), 0) << all_warnings(report);
  one_day.simulation.steps_per_day = 2;
  report = cpu_job(model, one_day, {});
  EXPECT_GT(report.scenarios.front().result.margin.early_call_probability, 0.1);
  EXPECT_LE(report.scenarios.front().result.margin.early_call_probability,
            report.scenarios.front().result.margin.call_probability);
  EXPECT_EQ(warnings_with(report, "met a margin call"), 1) << all_warnings(report);
  // top_up says top-ups.
  BookConfig top_up = grid_book(10.0);
  top_up.margin.on_call = MarginAction::top_up;
  report = cpu_job(model, top_up, {});
  EXPECT_EQ(warnings_with(report, "on_call: top_up); the hedged figures are dominated by top-ups"), 1)
      << all_warnings(report);
}

// Hedge effectiveness measures variance: a shock against the hedge leaves it high while the
// hedge adds a constant loss to every path. es_reduction shows it, and a warning names it.
TEST(RiskJob, WarnsWhenTheHedgeRaisesTheTailLoss) {
  const Model model = two_gbm_model();
  BookConfig book = grid_book(1e6);
  book.simulation.paths = 8192;
  book.simulation.horizon_days = 5;
  StressScenario squeeze;
  squeeze.name = "squeeze";
  squeeze.shock = {{"M", 0.30}};  // the benchmark jumps 30% at t = 0+: the short hedge loses 1,500
  book.stress = {squeeze};
  const RiskReport report = cpu_job(model, book, {.stresses = true});
  EXPECT_EQ(warnings_with(report, "scenario base: the hedge raises"), 0) << all_warnings(report);
  ASSERT_EQ(warnings_with(report, "scenario squeeze: the hedge raises the 0.99 ES (hedged "), 1) << all_warnings(report);
  const nlohmann::json s = summary_to_json(report);
  const double squeezed = s["scenarios"][1]["es_reduction"]["0.99"].get<double>();
  const ScenarioResult& r = report.scenarios[1].result;
  EXPECT_DOUBLE_EQ(squeezed, 1.0 - r.hedged.tails[1].es / r.unhedged.tails[1].es);
  EXPECT_LT(squeezed, 0.0);
  EXPECT_GT(s["scenarios"][0]["es_reduction"]["0.99"].get<double>(), 0.2);  // about 1 - sqrt(1 - 0.7^2)
  EXPECT_GT(r.hedge_effectiveness, 0.3);  // what the warning is about
}

// collateral: auto posts at least what opening the hedge takes: here the shortfalls of a
// one-day horizon at a 50% call probability need less than the 500 of initial margin.
TEST(RiskJob, AutoCollateralPostsAtLeastTheOpeningMargin) {
  const Model model = two_gbm_model();
  BookConfig book = grid_book(0.0);
  book.margin.collateral.reset();
  book.simulation.horizon_days = 1;
  book.simulation.paths = 4096;
  book.risk.max_call_probability = 0.5;
  const RiskReport report = cpu_job(model, book, {});
  EXPECT_DOUBLE_EQ(report.collateral.amount, 500.0);  // 10% of the 5,000 short notional
  EXPECT_EQ(report.collateral.rule.rfind("auto: the initial margin of the t0 hedge, above the ", 0), 0u)
      << report.collateral.rule;
  const MarginResult& m = report.scenarios[0].result.margin;
  EXPECT_LT(m.collateral_for_call_probability.front().second, 500.0);
  EXPECT_LE(m.call_probability, 0.5);
  EXPECT_EQ(warnings_with(report, "below what opening"), 0) << all_warnings(report);
}

TEST(RiskJob, WarnsOfOptimaOnTheGridsEdge) {
  const Model model = two_gbm_model();  // A's beta to M is about 1.05
  BookConfig book = grid_book(1e6);
  RiskReport report = cpu_job(model, book, {.optimize = true});
  EXPECT_TRUE(report.warnings.empty()) << all_warnings(report);
  book.risk.hedge_ratio_grid = {0.0, 0.6, 0.1};  // stops short of every optimum
  report = cpu_job(model, book, {.optimize = true});
  EXPECT_EQ(report.warnings.size(), 4u) << all_warnings(report);
  EXPECT_EQ(warnings_with(report, "is the upper edge of risk.hedge_ratio_grid (0 to 0.6)"), 4) << all_warnings(report);
  EXPECT_EQ(warnings_with(report, "scenario base: the min-variance ratio 0.6 is the upper edge"), 1);
  EXPECT_EQ(warnings_with(report, "the min-ES(0.99) ratio 0.6"), 1);
  EXPECT_EQ(warnings_with(report, "the min-ES(0.95) ratio 0.6"), 1);
  EXPECT_EQ(warnings_with(report, "the margin-constrained ratio 0.6"), 1);
  // No ratio of a grid from 1.0 meets the call limit with 10 of collateral: no margin-constrained ratio.
  book = grid_book(10.0);
  book.risk.hedge_ratio_grid = {1.0, 1.2, 0.1};
  report = cpu_job(model, book, {.optimize = true});
  EXPECT_EQ(warnings_with(report, "scenario base: no ratio of risk.hedge_ratio_grid (from 1) keeps the call "
                                  "probability <= 0.02; margin_constrained is null"),
            1)
      << all_warnings(report);
}

TEST(RiskJob, WarnsWhenNoBandTracksWithinTolerance) {
  const Model model = make_synthetic_model(3, 2);
  BookConfig book = band_book(1e9);
  book.risk.band_grid = {0.01, 0.05, 0.1};
  book.simulation.paths = 4000;
  RiskReport report = cpu_job(model, book, {.bands = true});
  EXPECT_TRUE(report.bands.front().within_tolerance);
  EXPECT_EQ(warnings_with(report, "no band"), 0) << all_warnings(report);
  // The cheapest band within tolerance is the widest swept: past it may be cheaper still.
  ASSERT_TRUE(report.bands.back().recommended);
  EXPECT_EQ(warnings_with(report, "the recommended band 0.1 is an edge of risk.band_grid; the best band may lie "
                                  "beyond it: widen the grid"),
            1)
      << all_warnings(report);
  EXPECT_EQ(warnings_with(report, "target beta"), 0) << all_warnings(report);  // one target: no grid to leave
  book.risk.target_beta_grid = {0.1, 0.3, 0.5};
  report = cpu_job(model, book, {.bands = true});
  const auto chosen = std::find_if(report.bands.begin(), report.bands.end(), [](const BandRow& b) { return b.recommended; });
  EXPECT_EQ(warnings_with(report, "is an edge of risk.target_beta_grid"), chosen->target_beta != 0.3 ? 1 : 0)
      << all_warnings(report);
  book.risk.target_beta_grid.clear();
  book.risk.tracking_tolerance = 1e-6;
  report = cpu_job(model, book, {.bands = true});
  for (const BandRow& b : report.bands) EXPECT_FALSE(b.within_tolerance);
  EXPECT_TRUE(report.bands.front().recommended);  // the band that tracks best
  EXPECT_EQ(warnings_with(report, "is an edge of"), 0) << all_warnings(report);  // the fallback's warning says it
  ASSERT_EQ(warnings_with(report, "no band of risk.band_grid keeps the mean |beta - target| within "
                                  "risk.tracking_tolerance 1e-06; the recommended pair (target_beta 0.3, band 0.01) is "
                                  "the one that tracks best"),
            1)
      << all_warnings(report);
}

// A Student-t regime at its dof floor is named; and a tail loss beyond twice the book's gross
// value (what such a regime produces) is flagged where it is read.
TEST(RiskJob, WarnsOfHeavyTailsAndOfTailLossesBeyondTheBook) {
  Model model = two_gbm_model();
  EXPECT_TRUE(heavy_tail_warnings(model).empty());
  model.distribution = Distribution::student_t;
  model.regimes[0].dof = 5.0;
  EXPECT_TRUE(heavy_tail_warnings(model).empty());
  model.regimes[0].dof = 2.05;
  ASSERT_EQ(heavy_tail_warnings(model).size(), 1u);
  EXPECT_EQ(heavy_tail_warnings(model)[0].rfind("regime only: Student-t dof 2.05 (the fitter's floor is 2.05)", 0), 0u)
      << heavy_tail_warnings(model)[0];

  const BookConfig book = grid_book(1e6);
  RiskReport report;
  report.collateral = {1e6, "fixed"};
  report.portfolio.holdings = {{"A", 100.0, 50.0, 5000.0, 1.25, 1.05}, {"M", -10.0, 100.0, -1000.0, -0.25, 1.0}};
  ScenarioRun run;
  run.result.name = "base";
  run.result.unhedged.tails = {{{"0.99", 0.99}, 900.0, 0.0, 1000.0, 0.0}};
  run.result.hedged.tails = {{{"0.99", 0.99}, 500.0, 0.0, 800.0, 0.0}};
  report.scenarios.push_back(run);
  EXPECT_EQ(warnings_with_text(job_warnings(report, book, two_gbm_model()), "gross value"), 0);
  report.scenarios[0].result.hedged.tails[0].es = 12001.0;  // gross value 6,000
  const std::vector<std::string> warnings = job_warnings(report, book, two_gbm_model());
  EXPECT_EQ(warnings_with_text(warnings, "scenario base: the hedged 0.99 ES 12,001.00 is more than twice the book's "
                                         "gross value 6,000.00"),
            1);
}

TEST(RiskJob, WarnsOfRegimesLastingUnderThreeDays) {
  Model model = make_synthetic_model(2, 2);  // calm -> stressed 3% a day, back 10%: 33 and 10 days
  BookConfig book = band_book(1e9);
  book.holdings = {{"A1", 40.0}};
  book.simulation.paths = 4000;
  EXPECT_EQ(warnings_with(cpu_job(model, book, {}), "regime"), 0);
  model.transition[1] = {0.6, 0.4};  // the second regime lasts 1 / 0.6 days on average
  const RiskReport report = cpu_job(model, book, {});
  ASSERT_EQ(warnings_with(report, "regime"), 1) << all_warnings(report);
  EXPECT_EQ(report.warnings.back().rfind("regime " + model.regimes[1].name + " lasts 1.67 days on average", 0), 0u)
      << report.warnings.back();
}

/// A scenario's figures at one horizon as summary.json writes them under `horizons`.
nlohmann::json horizon_figures(const RiskReport& report, std::size_t scenario, int days) {
  return summary_to_json(report)["scenarios"][scenario]["horizons"][std::to_string(days)];
}

// SPEC 6 `horizons`: one simulation to the longest horizon records every shorter one on the way,
// and each is what a run of that many days gives at the same seed, bit for bit: the static and
// the dynamic hedge, liquidations and top-ups, a stress with a shock, with and without the
// ratio grid riding the same pass.
TEST(RiskJob, EachHorizonEqualsARunOfThatManyDays) {
  const Model model = two_gbm_model();
  StressScenario crash;
  crash.name = "crash";
  crash.shock = {{"M", -0.2}, {"A", -0.3}};
  for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
    for (MarginAction action : {MarginAction::liquidate, MarginAction::top_up}) {
      for (bool optimize : {false, true}) {
        SCOPED_TRACE(std::string(mode == HedgeMode::dynamic ? "dynamic" : "static") +
                     (action == MarginAction::top_up ? ", top_up" : ", liquidate") +
                     (optimize ? ", optimising" : ""));
        BookConfig book = grid_book(600.0);  // calls on a few percent of paths within days
        book.hedge.mode = mode;
        book.hedge.band = 0.05;
        book.margin.on_call = action;
        book.simulation.paths = 8192;
        book.stress = {crash};
        book.simulation.horizon_days = 30;
        book.risk.horizons_days = {1, 10, 30};
        const JobStages stages{.stresses = true, .optimize = optimize};
        const RiskReport long_run = cpu_job(model, book, stages);
        ASSERT_EQ(long_run.scenarios[0].horizons.size(), 3u);
        for (int days : {1, 10}) {
          BookConfig short_book = book;
          short_book.simulation.horizon_days = days;
          short_book.risk.horizons_days.clear();
          const RiskReport short_run = cpu_job(model, short_book, stages);
          for (std::size_t s = 0; s < 2; ++s) {
            const nlohmann::json at = horizon_figures(long_run, s, days);
            EXPECT_EQ(at.dump(), horizon_figures(short_run, s, days).dump()) << "scenario " << s << ", day " << days;
            EXPECT_GT(at["hedged"]["stdev"].get<double>(), 0.0);
          }
        }
        // The longest horizon's entry is the scenario's own figures.
        const nlohmann::json summary = summary_to_json(long_run);
        const nlohmann::json& base = summary["scenarios"][0];
        EXPECT_EQ(base["horizons"]["30"]["hedged"].dump(), base["hedged"].dump());
        EXPECT_EQ(base["horizons"]["30"]["margin"]["call_probability"], base["margin"]["call_probability"]);
        // Calls accumulate over the horizon: some, and more by day 30 than by day 1.
        EXPECT_GT(base["horizons"]["30"]["margin"]["call_probability"].get<double>(),
                  base["horizons"]["1"]["margin"]["call_probability"].get<double>());
      }
    }
  }
}

// Without risk.horizons_days the simulated horizon is the only one reported; a --horizon-days
// shorter than a listed horizon drops it (report_horizons).
TEST(RiskJob, HorizonsDefaultToTheSimulatedOne) {
  BookConfig book = grid_book(1e6);
  book.simulation.horizon_days = 7;
  EXPECT_EQ(report_horizons(book), (std::vector<int>{7}));
  book.risk.horizons_days = {1, 5, 7};
  EXPECT_EQ(report_horizons(book), (std::vector<int>{1, 5, 7}));
  book.simulation.horizon_days = 3;
  EXPECT_EQ(report_horizons(book), (std::vector<int>{1, 3}));
  book.simulation.paths = 4096;
  const RiskReport report = cpu_job(two_gbm_model(), book, JobStages{});
  const nlohmann::json horizons = summary_to_json(report)["scenarios"][0]["horizons"];
  EXPECT_EQ(horizons.size(), 2u);
  EXPECT_TRUE(horizons.contains("1"));
  EXPECT_TRUE(horizons.contains("3"));
  // The dropped horizons are named, not silently lost.
  EXPECT_EQ(warnings_with(report, "risk.horizons_days: the 5-day horizon is beyond the 3 days simulated "
                                  "(--horizon-days) and is not reported"),
            1)
      << all_warnings(report);
  EXPECT_EQ(warnings_with(report, "the 7-day horizon is beyond"), 1) << all_warnings(report);
}

// summary.json describes the book it measured: each holding's units, spot, value, weight and the
// beta the hedge believes, and the hedge's terms; a dynamic hedge shows its target and band.
TEST(RiskJob, TheSummaryDescribesTheBookAndTheHedge) {
  const Model model = two_gbm_model();
  BookConfig book = grid_book(1e6);
  book.holdings = {{"A", 100.0}, {"M", -10.0}};
  test::hedge_leg(book).ratio = 0.75;
  book.simulation.paths = 4096;
  nlohmann::json s = summary_to_json(cpu_job(model, book, JobStages{}));
  const nlohmann::json& holdings = s["portfolio"]["holdings"];
  ASSERT_EQ(holdings.size(), 2u);
  EXPECT_EQ(holdings[0]["asset"], "A");
  EXPECT_EQ(holdings[0]["units"], 100.0);
  EXPECT_EQ(holdings[0]["spot"], 50.0);
  EXPECT_EQ(holdings[0]["value"], 5000.0);
  EXPECT_EQ(holdings[1]["value"], -1000.0);
  EXPECT_DOUBLE_EQ(holdings[0]["weight"].get<double>(), 1.25);  // of a net value of 4,000
  EXPECT_DOUBLE_EQ(holdings[1]["weight"].get<double>(), -0.25);
  // A's model beta: rho sigma_A / sigma_M = 0.7 x 0.045 / 0.03.
  EXPECT_NEAR(holdings[0]["beta"].get<double>(), 1.05, 1e-12);
  EXPECT_NEAR(holdings[1]["beta"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(s["portfolio"]["beta_estimate"], "model");
  const nlohmann::json& hedge = s["hedge"];
  EXPECT_EQ(hedge["instrument"], "perpetual");
  EXPECT_EQ(hedge["benchmark"], "M");
  EXPECT_EQ(hedge["mode"], "static");
  EXPECT_EQ(hedge["ratio"], 0.75);
  EXPECT_FALSE(hedge.contains("band"));
  EXPECT_EQ(hedge["fee_bps"], 2.0);
  EXPECT_EQ(hedge["funding_rate_8h"], nlohmann::json({{"only", 0.0001}}));
  EXPECT_EQ(hedge["margin"]["on_call"], "liquidate");

  book.hedge.mode = HedgeMode::dynamic;
  book.hedge.target_beta = 0.2;
  s = summary_to_json(cpu_job(model, book, JobStages{}));
  EXPECT_EQ(s["hedge"]["mode"], "dynamic");
  EXPECT_EQ(s["hedge"]["target_beta"], 0.2);
  EXPECT_EQ(s["hedge"]["band"], book.hedge.band);
  EXPECT_FALSE(s["hedge"].contains("ratio"));
}

}  // namespace
}  // namespace betahedge
