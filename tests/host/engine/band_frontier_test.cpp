// The bands frontier on hand-made rows: the frontier marking against an independent sort-based
// sweep, the band rule (recommend_band_pair) and its fallbacks with their warnings, and the
// shape summary.json and bands.csv give the pairs (SPEC 6 `bands`).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "engine/risk_job.hpp"
#include "report/summary_json.hpp"
#include "report/tables_csv.hpp"

namespace betahedge {
namespace {

/// A row with hedged ES `es` at the highest level (the book's second, 0.99) and `es_low` at the
/// lower (0.95), the flags set as sweep_bands sets them for tolerance 0.05 and call limit 0.01.
BandRow row(double target, double band, double es, double cost, double deviation = 0.01, double calls = 0.0,
            double es_low = 0.0) {
  BandRow r;
  r.target_beta = target;
  r.band = band;
  r.mean_costs = cost;
  r.mean_abs_deviation = deviation;
  r.call_probability = calls;
  r.mean_rebalances = 1.0 / (band + 0.01);
  r.hedged.tails = {TailRisk{{"0.95", 0.95}, 0.5 * es_low, 0.0, es_low, 0.0}, TailRisk{{"0.99", 0.99}, 0.8 * es, 0.0, es, 0.0}};
  r.within_tolerance = deviation <= 0.05;
  r.within_call_limit = calls <= 0.01;
  return r;
}

RiskConfig two_levels() {
  RiskConfig risk;
  risk.levels = {{"0.95", 0.95}, {"0.99", 0.99}};
  risk.tracking_tolerance = 0.05;
  risk.max_call_probability = 0.01;
  return risk;
}

int recommended_index(const std::vector<BandRow>& rows) {
  int found = -1;
  for (int i = 0; i < static_cast<int>(rows.size()); ++i)
    if (rows[i].recommended) {
      EXPECT_EQ(found, -1) << "two recommended rows";
      found = i;
    }
  return found;
}

/// The frontier by another route: sorted by cost, a row is dominated when a strictly cheaper row
/// has ES no higher, or a row no dearer has a strictly lower ES.
std::vector<bool> frontier_by_sweep(const std::vector<BandRow>& rows, int level) {
  std::vector<int> order(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return rows[a].mean_costs < rows[b].mean_costs; });
  std::vector<bool> on(rows.size());
  double cheaper_min = INFINITY;  // least ES of the rows strictly cheaper than the current group
  for (std::size_t g = 0; g < order.size();) {
    std::size_t end = g;
    double group_min = INFINITY;
    while (end < order.size() && rows[order[end]].mean_costs == rows[order[g]].mean_costs)
      group_min = std::min(group_min, rows[order[end++]].hedged.tails[level].es);
    const double no_dearer_min = std::min(cheaper_min, group_min);
    for (std::size_t k = g; k < end; ++k) {
      const double es = rows[order[k]].hedged.tails[level].es;
      on[order[k]] = !(cheaper_min <= es) && !(no_dearer_min < es);
    }
    cheaper_min = no_dearer_min;
    g = end;
  }
  return on;
}

TEST(BandFrontier, HandMadeRows) {
  // ES and cost: (100, 50) (90, 60) (95, 55) (95, 70) (80, 80) (80, 80) (100, 40) (110, 40)
  std::vector<BandRow> rows = {row(0, 0.01, 100, 50), row(0, 0.02, 90, 60), row(0, 0.05, 95, 55),
                               row(0, 0.1, 95, 70),   row(0.5, 0.01, 80, 80), row(0.5, 0.02, 80, 80),
                               row(0.5, 0.05, 100, 40), row(0.5, 0.1, 110, 40)};
  mark_band_frontier(rows, 1);
  const std::vector<bool> expected = {false, true, true, false, true, true, true, false};
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].on_frontier, expected[i]) << i;
}

TEST(BandFrontier, MatchesASortedSweepOnRandomRows) {
  std::mt19937_64 rng(12);
  std::uniform_int_distribution<int> size(1, 30), small(0, 6);
  int marked = 0, total = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<BandRow> rows;
    const int n = size(rng);
    // Few distinct values, so that ties in ES, in cost and in both are common.
    for (int i = 0; i < n; ++i) rows.push_back(row(0.1 * i, 0.01, 10.0 * small(rng), 3.0 * small(rng), 0.01, 0.0, 10.0 * small(rng)));
    for (int level : {0, 1}) {
      mark_band_frontier(rows, level);
      const std::vector<bool> expected = frontier_by_sweep(rows, level);
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(rows[i].on_frontier, expected[i]) << "trial " << trial << " level " << level << " row " << i;
        marked += rows[i].on_frontier ? 1 : 0;
      }
      total += n;
    }
  }
  // Both answers occur often: a marking that said all or none would fail.
  EXPECT_GT(marked, total / 10);
  EXPECT_LT(marked, total * 9 / 10);
}

TEST(BandFrontier, HighestLevelIsTheLargestWhereverItIsListed) {
  RiskConfig risk = two_levels();
  EXPECT_EQ(highest_level(risk), 1);
  risk.levels = {{"0.99", 0.99}, {"0.95", 0.95}, {"0.975", 0.975}};
  EXPECT_EQ(highest_level(risk), 0);
}

// Qualifying: within the tolerance and the call limit. E* is the least qualifying ES(0.99),
// 100; the ceiling 105. The cheapest qualifying pair under it wins, ties to the lower ES.
TEST(BandRule, TheCheapestQualifyingPairWithinFivePercentOfTheLeastEs) {
  std::vector<BandRow> rows = {
      row(0.0, 0.01, 100, 50, 0.01, 0.005, 200),   // qualifies, the least qualifying ES
      row(0.25, 0.05, 104, 30, 0.03, 0.008, 90),   // qualifies, within 5%: the answer
      row(0.5, 0.1, 106, 10, 0.04, 0.0, 80),       // qualifies, cheaper, but over the ceiling
      row(0.0, 0.2, 90, 5, 0.08, 0.0, 70),         // cheaper and lower ES, outside the tolerance
      row(0.25, 0.01, 95, 20, 0.02, 0.02, 60),     // within the ceiling and cheaper, called too often
      row(0.5, 0.02, 104.9, 30, 0.02, 0.0, 50),    // as cheap as the answer, higher ES
  };
  EXPECT_EQ(band_choice(rows), BandChoice::rule);
  EXPECT_EQ(recommend_band_pair(rows, 1), BandChoice::rule);
  EXPECT_EQ(recommended_index(rows), 1);
  // On the 0.95 column (qualifying ES 200, 90, 80, 50: ceiling 52.5) the rule picks the last
  // row: the level given is the one used.
  recommend_band_pair(rows, 0);
  EXPECT_EQ(recommended_index(rows), 5);
  // The ceiling is E* + 5% |E*|, inclusive.
  rows.push_back(row(0.5, 0.2, 105, 29, 0.04, 0.01));
  recommend_band_pair(rows, 1);
  EXPECT_EQ(recommended_index(rows), 6);
}

// A hedged ES below zero (a profit even in the tail): the ceiling is still 5% of |E*| above it.
TEST(BandRule, ANegativeLeastEsKeepsItsCeilingAboveIt) {
  std::vector<BandRow> rows = {row(0.0, 0.01, -100, 50), row(0.0, 0.05, -96, 10), row(0.0, 0.1, -94, 5)};
  recommend_band_pair(rows, 1);
  EXPECT_EQ(recommended_index(rows), 1);
}

// No pair qualifies. Some are within the tolerance but every one of them is called too often:
// the least called of them (ties to the lower ES), and a warning with the collateral.
TEST(BandRule, NoneWithinTheCallLimitGivesTheLeastCalledWithWarning) {
  std::vector<BandRow> rows = {row(0.0, 0.01, 100, 50, 0.01, 0.03), row(0.25, 0.02, 110, 40, 0.02, 0.02),
                               row(0.5, 0.05, 90, 30, 0.04, 0.02), row(0.5, 0.2, 80, 5, 0.09, 0.0)};
  EXPECT_EQ(recommend_band_pair(rows, 1), BandChoice::least_calls);
  EXPECT_EQ(recommended_index(rows), 2);  // calls 0.02 twice: the lower ES; the uncalled row tracks badly

  Model model;  // one regime that lasts: no regime warning
  model.assets = {"M"};
  model.benchmark = "M";
  model.regimes = {Regime{"only", {0.0}, {0.02}, {1.0}, std::nullopt}};
  model.transition = {{1.0}};
  model.initial_probabilities = {1.0};
  model.spot = {1.0};
  BookConfig book;
  book.risk = two_levels();
  book.risk.target_beta_grid = {0.0, 0.25, 0.5};
  book.margin.collateral = 1234567.0;
  RiskReport report;
  report.bands = rows;
  report.collateral = {1234567.0, "fixed"};
  const std::vector<std::string> warnings = job_warnings(report, book, model);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "no pair of risk.target_beta_grid x risk.band_grid within risk.tracking_tolerance 0.05 keeps the call "
            "probability <= risk.max_call_probability 0.01 (collateral 1,234,567.00); the recommended pair "
            "(target_beta 0.5, band 0.05) is the least called of them (0.02)");

  // No pair within the tolerance either: the one that tracks best.
  for (BandRow& r : report.bands) {
    r.mean_abs_deviation += 0.1;
    r.within_tolerance = false;
  }
  EXPECT_EQ(recommend_band_pair(report.bands, 1), BandChoice::least_deviation);
  EXPECT_EQ(recommended_index(report.bands), 0);
  const std::vector<std::string> again = job_warnings(report, book, model);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0],
            "no pair of risk.target_beta_grid x risk.band_grid keeps the mean |beta - target| within "
            "risk.tracking_tolerance 0.05; the recommended pair (target_beta 0, band 0.01) is the one that tracks best "
            "(0.11)");
  // A book without a target grid swept its bands at its own target, and says so.
  book.risk.target_beta_grid.clear();
  EXPECT_EQ(job_warnings(report, book, model)[0].rfind("no band of risk.band_grid keeps the mean |beta - target|", 0), 0u);

  // And a pair that qualifies silences the warning; band 0.2 is the widest of the default
  // band_grid, which the edge warning says instead.
  report.bands[3].mean_abs_deviation = 0.01;
  report.bands[3].within_tolerance = true;
  EXPECT_EQ(recommend_band_pair(report.bands, 1), BandChoice::rule);
  EXPECT_EQ(recommended_index(report.bands), 3);
  const std::vector<std::string> edge = job_warnings(report, book, model);
  ASSERT_EQ(edge.size(), 1u);
  EXPECT_EQ(edge[0], "the recommended band 0.2 is an edge of risk.band_grid; the best band may lie beyond it: widen the grid");
  book.risk.band_grid = {0.1, 0.2, 0.3};
  EXPECT_TRUE(job_warnings(report, book, model).empty());
}

TEST(BandRule, StatesTheBooksTolerancesAndLevel) {
  RiskConfig risk = two_levels();
  risk.tracking_tolerance = 0.03;
  risk.max_call_probability = 0.02;
  const std::string rule = band_rule(risk);
  EXPECT_NE(rule.find("mean |beta - target| <= risk.tracking_tolerance (0.03)"), std::string::npos) << rule;
  EXPECT_NE(rule.find("call probability <= risk.max_call_probability (0.02)"), std::string::npos) << rule;
  EXPECT_NE(rule.find("hedged ES(0.99) is within 5% of the least qualifying ES(0.99)"), std::string::npos) << rule;
  EXPECT_NE(rule.find("If none qualifies"), std::string::npos) << rule;
}

// SPEC 6: summary.json `bands` is {"recommended": {"target_beta", "band"}, "rule", "rows"}, and
// bands.csv starts with target_beta and flags on_frontier and recommended, one row per pair.
TEST(BandOutputs, SummaryAndCsvCarryThePairs) {
  RiskReport report;
  report.bands = {row(0.0, 0.01, 100, 50, 0.01, 0.005), row(0.0, 0.1, 104, 30, 0.03, 0.008),
                  row(0.5, 0.01, 120, 20, 0.02, 0.0), row(0.5, 0.1, 125, 25, 0.04, 0.0)};
  mark_band_frontier(report.bands, 1);
  recommend_band_pair(report.bands, 1);
  report.band_rule = band_rule(two_levels());
  const nlohmann::json bands = summary_to_json(report)["bands"];
  ASSERT_TRUE(bands.is_object()) << bands;
  EXPECT_EQ(bands.size(), 3u) << bands;
  EXPECT_EQ(bands["recommended"], (nlohmann::json{{"target_beta", 0.0}, {"band", 0.1}}));
  EXPECT_EQ(bands["rule"], report.band_rule);
  ASSERT_EQ(bands["rows"].size(), 4u);
  const nlohmann::json& last = bands["rows"][3];
  EXPECT_EQ(last["target_beta"], 0.5);
  EXPECT_EQ(last["band"], 0.1);
  EXPECT_EQ(last["on_frontier"], false);  // (125, 25) is dominated by (120, 20)
  EXPECT_EQ(bands["rows"][2]["on_frontier"], true);
  EXPECT_EQ(last["within_call_limit"], true);
  EXPECT_EQ(last["within_tolerance"], true);
  EXPECT_EQ(last["recommended"], false);
  EXPECT_EQ(last["hedged"]["es"]["0.99"], 125.0);

  const std::string csv = bands_csv(report, two_levels());
  std::istringstream lines(csv);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(header,
            "target_beta,band,mean_abs_deviation,mean_rebalances,mean_costs,var_0.95,es_0.95,var_0.99,es_0.99,"
            "call_probability,on_frontier,recommended");
  EXPECT_EQ(first, "0,0.01,0.01,50,50,0,0,80,100,0.005,1,0");
  EXPECT_EQ(second, "0,0.1,0.03,9.090909090909092,30,0,0,83.2,104,0.008,1,1");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
}

}  // namespace
}  // namespace betahedge
