// The statistics reduced batch by batch against a sort of every path: the same order
// statistics, the same figures for any batch size, thread count or split of the path ids
// (ranks), and memory that grows with the tails only.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "simulated_ranks.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/path_pass.hpp"
#include "engine/risk_engine.hpp"
#include "engine/risk_job.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "hedged_test_book.hpp"
#include "stats/exact_sum.hpp"
#include "stats/outcome_reduction.hpp"
#include "stats/risk_statistics.hpp"
#include "test_support.hpp"
#include "betahedge/error.hpp"

namespace betahedge {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Values math.fsum gives (Python 3): the correctly rounded exact sums.
TEST(ExactSum, RoundsTheExactSumOnceLikeFsum) {
  const auto sum = [](std::initializer_list<double> xs) {
    ExactSum s;
    for (double x : xs) s.add(x);
    return s.value();
  };
  EXPECT_EQ(sum({1e100, 1.0, -1e100}), 1.0);
  EXPECT_EQ(sum({0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}), 1.0);
  EXPECT_EQ(sum({1.0, 1e-16, 1e-16}), 1.0000000000000002);
  EXPECT_EQ(sum({1.0, std::ldexp(1.0, -53)}), 1.0);                               // a tie, to even
  EXPECT_EQ(sum({1.0, std::ldexp(1.0, -53), std::ldexp(1.0, -106)}), 1.0000000000000002);  // not a tie
  EXPECT_TRUE(std::isnan(sum({1.0, NAN})));
  EXPECT_TRUE(std::isinf(sum({1.0, INFINITY})));
  EXPECT_EQ(sum({}), 0.0);
}

TEST(ExactSum, DoesNotDependOnOrderOrGrouping) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> magnitude(0.0, 6.0);
  std::vector<double> x(20000);
  for (double& v : x) v = (rng() % 2 ? 1.0 : -1.0) * magnitude(rng);
  ExactSum in_order;
  for (double v : x) in_order.add(v);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(x.begin(), x.end(), rng);
    ExactSum a, b;  // two "ranks", merged, and written to bytes and back on the way
    for (std::size_t i = 0; i < x.size(); ++i) (i < x.size() / 3 ? a : b).add(x[i]);
    std::string bytes;
    b.write(bytes);
    std::size_t cursor = 0;
    a.add(ExactSum::read(bytes, cursor));
    EXPECT_TRUE(same_bits(a.value(), in_order.value()));
    EXPECT_EQ(a.extended_value(), in_order.extended_value());
  }
  // Against long double on values where it is exact (integers below 2^64).
  ExactSum ints;
  long double exact = 0.0L;
  for (int i = 0; i < 1000; ++i) {
    const double v = static_cast<double>(rng() % (1u << 30)) * (i % 2 ? 1 : -1);
    ints.add(v);
    exact += v;
  }
  EXPECT_EQ(ints.value(), static_cast<double>(exact));
}

TEST(TailKeeper, KeepsExactlyTheLargestValuesTiesIncluded) {
  std::mt19937_64 rng(3);
  std::vector<double> x(200000);
  for (double& v : x) v = static_cast<double>(rng() % 5000);  // many ties
  for (std::uint64_t keep : {1ull, 17ull, 5000ull, 60000ull, 200000ull}) {
    TailKeeper whole(keep), first(keep), second(keep);
    whole.add(x.data(), x.size(), true);
    first.add(x.data(), 70001, true);
    second.add(x.data() + 70001, x.size() - 70001, true);
    first.add(second);
    std::vector<double> sorted(x.size());
    std::transform(x.begin(), x.end(), sorted.begin(), [](double v) { return -v + 0.0; });
    std::sort(sorted.begin(), sorted.end());
    const std::vector<double> expected(sorted.end() - static_cast<std::ptrdiff_t>(keep), sorted.end());
    EXPECT_EQ(whole.sorted_values(), expected) << keep;
    EXPECT_EQ(first.sorted_values(), expected) << keep;
    EXPECT_LE(whole.peak_values(), keep + std::max<std::uint64_t>(keep / 2, 4096)) << keep;
  }
}

// NaN is never kept and -0.0 is kept as +0.0, wherever they fall in the runs of 8 values the
// keeper turns away together, and whatever the lengths of the pieces offered.
TEST(TailKeeper, TurnsAwayNaNAndKeepsZeroAsPlusZero) {
  std::mt19937_64 rng(5);
  std::vector<double> x(50000);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::uint64_t r = rng() % 100;
    x[i] = r < 3 ? std::nan("") : r < 6 ? -0.0 : static_cast<double>(rng() % 2000) - 1000.0;
  }
  std::vector<double> finite;
  for (double v : x)
    if (!std::isnan(v)) finite.push_back(v + 0.0);
  std::sort(finite.begin(), finite.end());
  for (std::uint64_t keep : {5ull, 3000ull, 20000ull}) {
    const std::vector<double> expected(finite.end() - static_cast<std::ptrdiff_t>(keep), finite.end());
    for (std::uint64_t piece : {1ull, 7ull, 13ull, 4096ull, 50000ull}) {
      TailKeeper k(keep);
      for (std::uint64_t at = 0; at < x.size(); at += piece) k.add(x.data() + at, std::min<std::uint64_t>(piece, x.size() - at), false);
      const std::vector<double> kept = k.sorted_values();
      ASSERT_EQ(kept, expected) << keep << " " << piece;
      for (double v : kept) ASSERT_FALSE(std::signbit(v) && v == 0.0) << keep << " " << piece;
    }
  }
}

TEST(TailSample, RefusesAnOrderStatisticItDidNotKeep) {
  const TailSample t(10, {7.0, 8.0, 9.0});
  EXPECT_EQ(t.first_kept(), 7u);
  EXPECT_EQ(t.at(8), 8.0);
  EXPECT_EQ(t.sum(7, 10), 24.0);
  EXPECT_THROW(t.at(6), std::logic_error);
}

// Values left out as NaN make the order statistics below the kept ones a numerical failure
// naming the values, not a bug report: a P&L that overflowed reads as what it is.
TEST(TailSample, OrderStatisticsAmongNaNAreANumericalError) {
  std::vector<double> x(100, std::nan(""));
  x[10] = 3.0, x[20] = 1.0, x[30] = 2.0;
  TailKeeper k(5);
  k.add(x.data(), x.size(), false);
  const TailSample t = k.sample(x.size(), "the hedged P&L");
  EXPECT_EQ(t.first_kept(), 97u);
  EXPECT_EQ(t.at(99), 3.0);
  EXPECT_EQ(t.at(97), 1.0);
  const std::string e = test::message_of<NumericalError>([&] { t.at(96); });
  EXPECT_EQ(e.rfind("the hedged P&L is NaN on 97 of 100 paths (the simulation overflowed", 0), 0u) << e;
  // With keep values or more that are numbers, every order statistic kept is read as before, and
  // reading below them is still a bug.
  TailKeeper full(2);
  full.add(x.data(), x.size(), false);
  const TailSample f = full.sample(x.size(), "the hedged P&L");
  EXPECT_EQ(f.at(98), 2.0);
  EXPECT_THROW(f.at(97), std::logic_error);
  EXPECT_THROW(TailSample(100, {1.0, 2.0}, 99), std::logic_error);
}

struct Case {
  Model model;
  BookConfig book;
  SimulationTables tables;
};

Case margin_case(std::uint64_t paths) {
  Model m = make_synthetic_model(3, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic);
  book.simulation.paths = paths;
  book.risk.levels = {{"0.9", 0.9}, {"0.99", 0.99}};
  book.risk.max_call_probability = 0.05;
  const SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
  return {std::move(m), std::move(book), tables};
}

// VaR and ES read the same order statistics, summed the same way, as a sort of every path:
// the same bits. Means and standard deviations come from exact sums instead of a blocked sum
// of the sorted sample: the same to 1e-13.
TEST(StreamingStatistics, QuantilesEqualASortOfEveryPath) {
  const Case c = margin_case(30011);
  auto backend = make_cpu_backend(2);
  const ScenarioResult r = evaluate_scenario("base", *backend, c.tables, c.book);
  const std::uint64_t n = c.book.simulation.paths;
  const std::vector<double> all = collect_outcomes(*backend, c.tables, PathProgram::outcomes, n);
  for (OutcomeField f : {OutcomeField::pnl_unhedged, OutcomeField::pnl_hedged}) {
    std::vector<double> losses = column_of(all, n, static_cast<int>(f));
    for (double& x : losses) x = -x;
    const PnlStatistics sorted = estimate_pnl_statistics(losses, c.book.risk.levels);
    const PnlStatistics& got = f == OutcomeField::pnl_unhedged ? r.unhedged : r.hedged;
    for (std::size_t l = 0; l < sorted.tails.size(); ++l) {
      EXPECT_TRUE(same_bits(got.tails[l].var, sorted.tails[l].var));
      EXPECT_TRUE(same_bits(got.tails[l].es, sorted.tails[l].es));
      EXPECT_TRUE(same_bits(got.tails[l].var_se, sorted.tails[l].var_se));
      EXPECT_TRUE(same_bits(got.tails[l].es_se, sorted.tails[l].es_se));
    }
    EXPECT_NEAR(got.mean, sorted.mean, 1e-13 * sorted.stdev);
    EXPECT_NEAR(got.stdev, sorted.stdev, 1e-13 * sorted.stdev);
  }
  std::vector<double> shortfall = column_of(all, n, static_cast<int>(OutcomeField::collateral_shortfall));
  std::sort(shortfall.begin(), shortfall.end());
  const std::uint64_t allowed = static_cast<std::uint64_t>(std::floor(0.05 * n + 1e-9));
  EXPECT_EQ(r.margin.collateral_for_call_probability.at(0).second, shortfall[n - allowed - 1]);
  EXPECT_GT(r.margin.call_probability, 0.05);  // the quantile is one the run needed
  // The committee's ladder beside it (0.05 is max_call_probability here, listed once), each the
  // order statistic a sort of every path gives.
  const std::vector<std::pair<std::string, double>> ladder{{"0.05", 0.05}, {"0.01", 0.01}, {"0.005", 0.005},
                                                           {"0.001", 0.001}};
  ASSERT_EQ(r.margin.collateral_for_call_probability.size(), ladder.size());
  for (std::size_t i = 0; i < ladder.size(); ++i) {
    const auto& [key, p] = r.margin.collateral_for_call_probability[i];
    EXPECT_EQ(key, ladder[i].first);
    const std::uint64_t calls = static_cast<std::uint64_t>(std::floor(ladder[i].second * n + 1e-9));
    EXPECT_EQ(p, shortfall[n - calls - 1]) << key;
  }

  // Calls before the horizon's last step, counted path by path.
  const std::vector<double> first_call = column_of(all, n, static_cast<int>(OutcomeField::first_call_step));
  const double last_step = c.book.simulation.horizon_days * c.book.simulation.steps_per_day;
  double early = 0.0, at_last = 0.0;
  for (double f : first_call) early += f >= 0.0 && f < last_step, at_last += f == last_step;
  EXPECT_EQ(r.margin.early_call_probability, early / static_cast<double>(n));
  EXPECT_GT(at_last, 0.0);  // some paths are first called at the last step: the count leaves them out

  const auto [he, he_se] = hedge_effectiveness(column_of(all, n, 0), column_of(all, n, 1));
  EXPECT_NEAR(r.hedge_effectiveness, he, 1e-12);
  EXPECT_NEAR(r.hedge_effectiveness_se, he_se, 1e-9 * he_se);
}

/// Every figure of a ScenarioResult, as bits.
std::vector<double> figures(const ScenarioResult& r) {
  std::vector<double> x{r.hedge_effectiveness, r.hedge_effectiveness_se, r.margin.call_probability,
                        r.margin.liquidation_probability, r.margin.collateral_for_call_probability.at(0).second,
                        r.margin.mean_first_call_day.value_or(-1.0), r.beta.mean_abs_deviation, r.beta.mean_costs,
                        r.beta.mean_rebalances};
  for (const PnlStatistics* s : {&r.unhedged, &r.hedged}) {
    x.insert(x.end(), {s->mean, s->mean_se, s->stdev});
    for (const TailRisk& t : s->tails) x.insert(x.end(), {t.var, t.var_se, t.es, t.es_se});
  }
  return x;
}

void expect_same_bits(const std::vector<double>& a, const std::vector<double>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i], b[i])) << what << ": figure " << i << ": " << a[i] << " vs " << b[i];
}

TEST(StreamingStatistics, TheSameBitsForAnyBatchSizeThreadCountOrRankSplit) {
  Case c = margin_case(50001);
  auto two_threads = make_cpu_backend(2);
  const std::vector<double> reference = figures(evaluate_scenario("base", *two_threads, c.tables, c.book));
  auto one_thread = make_cpu_backend(1);
  for (std::uint64_t batch : {1ull, 4096ull, 5000ull, 65536ull, 100000ull}) {
    c.book.simulation.batch_size = batch;
    expect_same_bits(figures(evaluate_scenario("base", *one_thread, c.tables, c.book)), reference,
                     std::to_string(batch) + "-path batches");
  }
  // Ranks: each share reduced on its own, sent as bytes, merged in rank order (what
  // run_path_pass does under MPI).
  const ReductionPlan plan = scenario_plan(c.book);
  for (int ranks : {2, 3, 7}) {
    const OutcomeReduction merged = test::reduce_over_simulated_ranks(*two_threads, c.tables, plan, ranks, 8192);
    expect_same_bits(figures(scenario_result("base", merged, c.tables, c.book)), reference,
                     std::to_string(ranks) + " ranks");
  }
}

TEST(StreamingStatistics, RankSharesCoverThePathsOnBlockBoundaries) {
  for (std::uint64_t n : {1ull, 4095ull, 4096ull, 50001ull, 1000000ull})
    for (int ranks : {1, 2, 3, 16}) {
      std::uint64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const PathIdRange share = rank_share(n, r, ranks);
        EXPECT_EQ(share.first, next);
        EXPECT_EQ(share.first % kReductionBlock, 0u);
        EXPECT_LE(share.first, share.last);
        next = share.last;
      }
      EXPECT_EQ(next, n);
    }
}

// The statistics' memory is the tails the quantiles read (n (1 - a) + sqrt(n) values per loss
// column, floor(p n) + 1 shortfalls for the largest p of the collateral ladder, 0.05), each with half
// as much again (at least 4096 values) of room to spare: 16x the paths, 16x the tails; never
// anything per path.
TEST(StreamingStatistics, MemoryGrowsWithTheTailsNotWithThePaths) {
  auto backend = make_cpu_backend(2);
  for (std::uint64_t n : {1ull << 16, 1ull << 20}) {
    Case c = margin_case(n);
    c.book.risk.levels = {{"0.999", 0.999}};
    c.book.risk.max_call_probability = 0.001;
    const ScenarioResult r = evaluate_scenario("base", *backend, c.tables, c.book);
    const std::uint64_t losses = loss_tail_needed(n, c.book.risk.levels);
    const std::uint64_t shortfalls = shortfall_tail_needed(n, kCollateralLadder[0]);
    const auto room = [](std::uint64_t keep) { return keep + std::max<std::uint64_t>(keep / 2, 4096); };
    EXPECT_LE(r.peak_tail_values, 2 * room(losses) + room(shortfalls)) << n;
    EXPECT_LT(r.peak_tail_values, n / 10 + 3 * 4096 * 2) << n;  // vs 9 n values kept before
  }
}

// The optimiser's curve from the grid riding along: each ratio's VaR and ES equal a sort of
// that ratio's P&L on every path.
TEST(StreamingStatistics, RatioCurveEqualsASortOfEveryPath) {
  const Model m = make_synthetic_model(3, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic);
  book.simulation.paths = 20000;
  book.risk.hedge_ratio_grid = {0.0, 1.0, 0.25};
  auto backend = make_cpu_backend(2);
  const ScenarioRun run = run_scenario(*backend, base_scenario(m), make_portfolio(m, book), book, {true, false});
  ASSERT_TRUE(run.optimization.has_value());
  ASSERT_EQ(run.optimization->curve.size(), 5u);
  BookConfig dense = book;
  dense.risk.hedge_ratio_grid.step /= 2.0;
  const SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), dense);
  ASSERT_EQ(tables.scalars.hedge.num_grid_ratios, 9);
  const std::uint64_t n = book.simulation.paths;
  const std::vector<double> all = collect_outcomes(*backend, tables, PathProgram::outcomes_with_ratio_grid, n);
  for (int point = 0; point < 5; ++point) {
    std::vector<double> losses = column_of(all, n, kNumOutcomeFields + RatioGridColumns::pnl(2 * point));
    for (double& x : losses) x = -x;
    const PnlStatistics sorted = estimate_pnl_statistics(losses, book.risk.levels);
    const PnlStatistics& got = run.optimization->curve[point].hedged;
    for (std::size_t l = 0; l < sorted.tails.size(); ++l) {
      EXPECT_TRUE(same_bits(got.tails[l].var, sorted.tails[l].var)) << point;
      EXPECT_TRUE(same_bits(got.tails[l].es, sorted.tails[l].es)) << point;
    }
    EXPECT_NEAR(got.stdev, sorted.stdev, 1e-13 * sorted.stdev);
  }
}

}  // namespace
}  // namespace betahedge
