// The band-sweep rider (simulate_path_with_band_sweep) against simulate_path run once per
// (target, band) pair, path by path on the same draws: pair b's columns are, bit for bit,
// simulate_path's outcome with hedge.dynamic = true, hedge.target_beta = sweep_targets[b] and
// hedge.band = sweep_bands[b], and columns 0-8 are simulate_path's outcome of the book itself. Each test also checks that what it is about happened: margin
// calls (liquidations, top-ups), and bands that trade differently, so that a rider that mixed up
// its bands, or skipped a call, could not pass.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "hedged_test_book.hpp"

namespace betahedge {
namespace {

constexpr std::uint64_t kPaths = 3000;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

double field(const std::vector<double>& columns, std::uint64_t paths, int block, OutcomeField f, std::uint64_t p) {
  return columns[(kNumOutcomeFields * block + static_cast<int>(f)) * paths + p];
}

/// The rider's columns and the reference runs of one book, column-major ([column][path]).
struct Sweep {
  std::uint64_t paths = 0;
  std::vector<double> bands;
  std::vector<double> targets;  ///< pair b's target beta
  std::vector<double> rider;      ///< simulate_path_with_band_sweep: the book, then each band
  std::vector<double> reference;  ///< simulate_path of the book, then of each band's dynamic view

  double rider_field(int block, OutcomeField f, std::uint64_t p) const { return field(rider, paths, block, f, p); }
  /// Paths on which band b met a margin call / was liquidated.
  int band_count(int b, OutcomeField f) const {
    int n = 0;
    for (std::uint64_t p = 0; p < paths; ++p) {
      const double x = rider_field(1 + b, f, p);
      n += f == OutcomeField::first_call_step ? (x >= 0.0 ? 1 : 0) : (x == 1.0 ? 1 : 0);
    }
    return n;
  }
  double mean(int block, OutcomeField f) const {
    double sum = 0.0;
    for (std::uint64_t p = 0; p < paths; ++p) sum += rider_field(block, f, p);
    return sum / paths;
  }
};

/// The rider over `bands`, pair b at targets[b] (no targets: every pair at the book's own).
Sweep run_sweep(const Model& model, const BookConfig& book, const std::vector<double>& bands,
                const std::vector<double>& targets = {}, std::uint64_t paths = kPaths) {
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book);
  SimulationView view = tables.view(tables.data.data());
  Sweep r;
  r.paths = paths;
  r.bands = bands;
  r.targets = targets.empty() ? std::vector<double>(bands.size(), view.hedge.target_beta) : targets;
  view.hedge.num_sweep_bands = static_cast<int>(r.bands.size());
  view.hedge.sweep_bands = r.bands.data();
  view.hedge.sweep_targets = r.targets.data();
  const int blocks = 1 + view.hedge.num_sweep_bands;
  r.rider.assign(kNumOutcomeFields * blocks * paths, 0.0);
  r.reference.assign(kNumOutcomeFields * blocks * paths, 0.0);

  std::vector<SimulationView> band_views(bands.size(), view);
  for (std::size_t b = 0; b < bands.size(); ++b) {
    band_views[b].hedge.dynamic = true;
    band_views[b].hedge.band = bands[b];
    band_views[b].hedge.target_beta = r.targets[b];
    band_views[b].hedge.num_sweep_bands = 0;
  }
  with_path_capacity(view.market.num_assets, [&](auto capacity) {
    constexpr int kCapacity = decltype(capacity)::value;
    for (std::uint64_t p = 0; p < paths; ++p) {
      PhiloxStream rider_gen(view.seed, p);
      simulate_path_with_band_sweep<kCapacity>(view, rider_gen, {r.rider.data(), paths}, p);
      PhiloxStream book_gen(view.seed, p);
      store_outcome({r.reference.data(), paths}, p, simulate_path<kCapacity>(view, book_gen));
      for (std::size_t b = 0; b < bands.size(); ++b) {
        PhiloxStream gen(view.seed, p);
        store_outcome({r.reference.data() + kNumOutcomeFields * (1 + b) * paths, paths}, p,
                      simulate_path<kCapacity>(band_views[b], gen));
      }
    }
  });
  return r;
}

/// Every column of the rider equals the reference's, bit for bit (the first few misses
/// reported), but the bands' collateral shortfalls, which the sweep does not track: NaN.
void expect_same_bits(const Sweep& r) {
  const int blocks = 1 + static_cast<int>(r.bands.size());
  int misses = 0;
  for (int block = 0; block < blocks; ++block)
    for (int f = 0; f < kNumOutcomeFields; ++f)
      for (std::uint64_t p = 0; p < r.paths; ++p) {
        const std::size_t at = (kNumOutcomeFields * block + f) * r.paths + p;
        const bool untracked = block > 0 && f == static_cast<int>(OutcomeField::collateral_shortfall);
        if (untracked ? std::isnan(r.rider[at]) : same_bits(r.rider[at], r.reference[at])) continue;
        if (++misses <= 5)
          ADD_FAILURE() << (block == 0 ? std::string("the book")
                                       : "target " + std::to_string(r.targets[block - 1]) + ", band " +
                                             std::to_string(r.bands[block - 1]))
                        << ", field " << f << ", path " << p << ": " << r.rider[at] << " vs " << r.reference[at];
      }
  EXPECT_EQ(misses, 0);
}

/// The bands trade differently: the narrowest rebalances more often than the widest, so a
/// column written from the wrong band would differ from its reference.
void expect_bands_differ(const Sweep& r) {
  if (r.bands.size() < 2) return;
  EXPECT_GT(r.mean(1, OutcomeField::rebalances), r.mean(static_cast<int>(r.bands.size()), OutcomeField::rebalances));
}

/// Margin calls on every band, on at least `fraction` of the paths; liquidate: each one closes
/// the hedge; top_up: a good share leave it open (with options, topped up to no margin at all,
/// the calls come back until the book is sold out on more than half the called paths).
void expect_calls(const Sweep& r, MarginAction on_call, double fraction) {
  for (std::size_t b = 0; b < r.bands.size(); ++b) {
    SCOPED_TRACE("band " + std::to_string(r.bands[b]));
    const int called = r.band_count(static_cast<int>(b), OutcomeField::first_call_step);
    const int liquidated = r.band_count(static_cast<int>(b), OutcomeField::liquidated);
    EXPECT_GE(called, fraction * r.paths);
    if (on_call == MarginAction::liquidate)
      EXPECT_EQ(liquidated, called);
    else
      EXPECT_LT(liquidated, 0.9 * called);
  }
}

BookConfig dynamic_book(const Model& model, HedgeInstrument instrument, MarginAction on_call, double collateral) {
  BookConfig book = test::hedged_test_book(model, instrument, HedgeMode::dynamic);
  book.margin.on_call = on_call;
  book.margin.collateral = collateral;
  return book;
}

const std::vector<double> kFiveBands = {0.0, 0.01, 0.03, 0.08, 0.2};
const std::vector<double> kEightBands = {0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3};

TEST(BandSweepRider, PerpetualLiquidateAndTopUp) {
  const Model m = make_synthetic_model(3, 2);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    SCOPED_TRACE(on_call == MarginAction::top_up ? "top_up" : "liquidate");
    const Sweep r = run_sweep(m, dynamic_book(m, HedgeInstrument::perpetual, on_call, 20.0), kFiveBands);
    expect_same_bits(r);
    expect_bands_differ(r);
    expect_calls(r, on_call, 0.05);
  }
}

// Expiry 10 days, rolled 2 before: rolls on days 8, 16 and 24 of the 30.
TEST(BandSweepRider, FutureWithRollsLiquidateAndTopUp) {
  const Model m = make_synthetic_model(4, 2);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    SCOPED_TRACE(on_call == MarginAction::top_up ? "top_up" : "liquidate");
    const Sweep r = run_sweep(m, dynamic_book(m, HedgeInstrument::future, on_call, 20.0), kEightBands);
    expect_same_bits(r);
    expect_bands_differ(r);
    expect_calls(r, on_call, 0.05);
  }
}

// Bought 7-day puts, rolled at expiry to the target. They carry no margin requirement: a call
// comes only when the premium and costs spent exceed the collateral.
TEST(BandSweepRider, PutLiquidateAndTopUp) {
  const Model m = make_synthetic_model(3, 2);
  for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
    SCOPED_TRACE(on_call == MarginAction::top_up ? "top_up" : "liquidate");
    const Sweep r = run_sweep(m, dynamic_book(m, HedgeInstrument::option, on_call, 1.0), kFiveBands);
    expect_same_bits(r);
    expect_bands_differ(r);
    expect_calls(r, on_call, 0.05);
  }
}

// Four steps a day (funding at 8-hour marks between steps), a roll on day 8 of 12, and a beta
// check every third day.
TEST(BandSweepRider, IntradayStepsAndRebalanceEveryThirdDay) {
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = dynamic_book(m, HedgeInstrument::future, MarginAction::top_up, 20.0);
  book.simulation.steps_per_day = 4;
  book.simulation.horizon_days = 12;
  book.hedge.rebalance_every_days = 3;
  const Sweep r = run_sweep(m, book, kEightBands);
  expect_same_bits(r);
  expect_bands_differ(r);
  expect_calls(r, MarginAction::top_up, 0.02);
  // Four checks in 12 days: at most 4 rebalances.
  for (std::uint64_t p = 0; p < r.paths; ++p) ASSERT_LE(r.rider_field(1, OutcomeField::rebalances, p), 4.0) << p;
}

TEST(BandSweepRider, OneBandAndEightBands) {
  const Model m = make_synthetic_model(5, 3, Distribution::student_t);
  const BookConfig book = dynamic_book(m, HedgeInstrument::perpetual, MarginAction::top_up, 20.0);
  for (const std::vector<double>& bands : {std::vector<double>{0.05}, kEightBands}) {
    SCOPED_TRACE(std::to_string(bands.size()) + " bands");
    const Sweep r = run_sweep(m, book, bands);
    expect_same_bits(r);
    expect_bands_differ(r);
  }
}

// A static book: columns 0-8 are its static hedge, the bands still run the dynamic programme
// (the static hedge never rebalances; the bands do).
TEST(BandSweepRider, StaticBookKeepsItsOutcomesAndTheBandsRunDynamic) {
  const Model m = make_synthetic_model(3, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::static_ratio);
  book.margin.on_call = MarginAction::liquidate;
  book.margin.collateral = 20.0;
  const Sweep r = run_sweep(m, book, kFiveBands);
  expect_same_bits(r);
  expect_bands_differ(r);
  EXPECT_EQ(r.mean(0, OutcomeField::rebalances), 0.0);
  EXPECT_GT(r.mean(1, OutcomeField::rebalances), 1.0);
}

// A dynamic book checked every second day, with a band of the sweep equal to its own: that
// band's columns are the book's, bit for bit (the rider counts the check days as the book does).
TEST(BandSweepRider, ABandEqualToTheBooksOwnGivesTheBooksColumns) {
  const Model m = make_synthetic_model(3, 2);
  BookConfig book = dynamic_book(m, HedgeInstrument::option, MarginAction::top_up, 1.0);
  book.hedge.rebalance_every_days = 2;
  const Sweep r = run_sweep(m, book, {0.2, book.hedge.band, 0.0});
  expect_same_bits(r);
  for (int f = 0; f < kNumOutcomeFields; ++f)
    for (std::uint64_t p = 0; p < r.paths; ++p)
      ASSERT_TRUE(f == static_cast<int>(OutcomeField::collateral_shortfall) ||
                  same_bits(r.rider_field(0, static_cast<OutcomeField>(f), p),
                            r.rider_field(2, static_cast<OutcomeField>(f), p)))
          << "field " << f << " path " << p;
}

// Several targets in one pass (the bands frontier): each pair trades to its own target, opens at
// it and, for puts, rolls to it. Pairs at the same band and different targets must differ, and
// the mean hedge beta must follow the target, or a rider that used one target for all would pass.
void expect_targets_followed(const Sweep& r, int low, int high) {
  ASSERT_LT(r.targets[low], r.targets[high]);
  ASSERT_EQ(r.bands[low], r.bands[high]);
  int differ = 0;
  for (std::uint64_t p = 0; p < r.paths; ++p)
    differ += !same_bits(r.rider_field(1 + low, OutcomeField::pnl_hedged, p), r.rider_field(1 + high, OutcomeField::pnl_hedged, p));
  EXPECT_GT(differ, 0.9 * r.paths);
}

TEST(BandSweepRider, PairsOfTargetsAndBandsPerpetualFutureAndPut) {
  const Model m = make_synthetic_model(3, 2);
  // Three targets x two bands, and a target repeated at another band: eight pairs, one pass.
  const std::vector<double> targets = {-0.2, -0.2, 0.3, 0.3, 0.8, 0.8, 0.3, -0.2};
  const std::vector<double> bands = {0.01, 0.1, 0.01, 0.1, 0.01, 0.1, 0.0, 0.3};
  struct Case {
    HedgeInstrument instrument;
    double collateral;
  };
  for (const Case& c : {Case{HedgeInstrument::perpetual, 20.0}, Case{HedgeInstrument::future, 20.0},
                        Case{HedgeInstrument::option, 1.0}}) {
    for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
      SCOPED_TRACE("instrument " + std::to_string(static_cast<int>(c.instrument)) +
                   (on_call == MarginAction::top_up ? ", top_up" : ", liquidate"));
      // Puts only lower beta: their targets below the book's beta, and none short.
      std::vector<double> pair_targets = targets;
      if (c.instrument == HedgeInstrument::option)
        for (double& t : pair_targets) t = 0.3 + 0.3 * t;
      const Sweep r = run_sweep(m, dynamic_book(m, c.instrument, on_call, c.collateral), bands, pair_targets);
      expect_same_bits(r);
      expect_targets_followed(r, 0, 4);
      expect_targets_followed(r, 1, 5);
      int called = 0;
      for (std::size_t b = 0; b < bands.size(); ++b) called += r.band_count(static_cast<int>(b), OutcomeField::first_call_step);
      EXPECT_GT(called, 0);  // the margin rule was exercised
    }
  }
}

// A static book's pairs at other targets: its own columns stay its static hedge.
TEST(BandSweepRider, StaticBookWithPairsAtSeveralTargets) {
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::future, HedgeMode::static_ratio);
  book.margin.on_call = MarginAction::top_up;
  book.margin.collateral = 20.0;
  book.simulation.steps_per_day = 2;
  book.hedge.rebalance_every_days = 2;
  const Sweep r = run_sweep(m, book, {0.02, 0.02, 0.02}, {0.0, 0.5, 1.0});
  expect_same_bits(r);
  expect_targets_followed(r, 0, 2);
  EXPECT_EQ(r.mean(0, OutcomeField::rebalances), 0.0);
}

// A hedge of legs: every pair trades each leg to its share of its target, each account meets its
// own calls (isolated) or the one account all of them (cross), bit for bit what the book made
// dynamic at that pair gives. Three legs (a perpetual and a put on the benchmark, a future on a
// held asset, split by weights) and two (min_variance), liquidate and top_up.
TEST(BandSweepRider, HedgesOfSeveralLegsCrossAndIsolated) {
  const Model m = make_synthetic_model(4, 2);
  const std::vector<double> targets = {0.0, 0.0, 0.3, 0.3, 0.5};
  const std::vector<double> bands = {0.01, 0.1, 0.01, 0.1, 0.05};
  for (bool with_put : {false, true})
    for (MarginMode margin : {MarginMode::cross, MarginMode::isolated})
      for (MarginAction on_call : {MarginAction::liquidate, MarginAction::top_up}) {
        SCOPED_TRACE(std::string(with_put ? "three legs" : "two legs") +
                     (margin == MarginMode::cross ? ", cross" : ", isolated") +
                     (on_call == MarginAction::top_up ? ", top_up" : ", liquidate"));
        BookConfig book = test::legs_test_book(m, HedgeMode::dynamic, margin, with_put);
        book.margin.on_call = on_call;
        const Sweep r = run_sweep(m, book, bands, targets);
        expect_same_bits(r);
        expect_targets_followed(r, 0, 2);
        int called = 0;
        for (std::size_t b = 0; b < bands.size(); ++b) called += r.band_count(static_cast<int>(b), OutcomeField::first_call_step);
        EXPECT_GT(called, 0);
      }
}

}  // namespace
}  // namespace betahedge
