/// Every config shipped in configs/ loads under the loaders' rules.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/book_config.hpp"
#include "config/run_config.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

namespace fs = std::filesystem;

TEST(ShippedConfigs, EveryBookLoads) {
  int books = 0;
  for (const char* dir : {"configs/demo", "configs/examples", "configs/committee"}) {
    for (const fs::directory_entry& entry : fs::directory_iterator(test::source_dir() / dir)) {
      if (entry.path().extension() != ".yaml" || entry.path().filename() == "run.yaml") continue;
      SCOPED_TRACE(entry.path().string());
      const BookConfig book = load_book(entry.path());
      EXPECT_TRUE(!book.holdings.empty() || (book.notional && !book.weights.empty()));
      EXPECT_GE(book.simulation.paths, 2u);
      ++books;
    }
  }
  EXPECT_GE(books, 7);  // demo: book, book_unhedged; examples: four; committee: one
}

// The committee example (docs/guide.md): a book by notional and weights, calibrated from the
// shared real prices, which CI has beside the clone.
TEST(ShippedConfigs, CommitteeRunLoadsAndItsBookIsByWeights) {
  const RunConfig run = load_run_config(test::source_dir() / "configs/committee/run.yaml");
  ASSERT_TRUE(run.calibrate);
  EXPECT_EQ(run.calibrate->assets.size(), 5u);
  if (!fs::exists(run.calibrate->prices)) GTEST_SKIP() << "no shared data at " << run.calibrate->prices;
  const BookConfig book = load_book(run.book);
  EXPECT_EQ(book.notional, 5.0e6);
  EXPECT_EQ(book.weights.size(), 4u);
  EXPECT_FALSE(book.margin.collateral.has_value());  // auto
  EXPECT_EQ(book.simulation.drift, DriftRule::martingale);
  // docs/guide.md's worked example reads the bands frontier of these 4 x 5 pairs.
  EXPECT_EQ(book.risk.target_beta_grid, (std::vector<double>{0.0, 0.2, 0.4, 0.6}));
  EXPECT_EQ(book.risk.band_grid.size(), 5u);
}

TEST(ShippedConfigs, DemoBookKeepsItsValues) {
  const BookConfig book = load_book(test::source_dir() / "configs/demo/book.yaml");
  EXPECT_EQ(book.hedge.mode, HedgeMode::dynamic);
  EXPECT_DOUBLE_EQ(book.hedge.target_beta, 0.5);
  EXPECT_EQ(book.simulation.paths, 1000000u);
  EXPECT_EQ(book.simulation.seed, 42u);
  EXPECT_EQ(book.stress.size(), 8u);
  ASSERT_TRUE(book.stress[6].replay.has_value());  // two history replays, the demo data's windows
  EXPECT_EQ(book.stress[6].replay->from, "2022-07-24");
  EXPECT_EQ(book.risk.levels.size(), 2u);
  EXPECT_FALSE(book.margin.collateral.has_value());  // auto: the default the demo shows
  EXPECT_EQ(book.risk.horizons_days, (std::vector<int>{1, 10, 30}));
  EXPECT_EQ(book.risk.target_beta_grid, (std::vector<double>{0.25, 0.5, 0.75}));
}

TEST(ShippedConfigs, DemoRunLoadsAndItsBookLoads) {
  const RunConfig run = load_run_config(test::source_dir() / "configs/demo/run.yaml");
  ASSERT_TRUE(run.calibrate);
  EXPECT_EQ(run.calibrate->assets.size(), 3u);
  EXPECT_EQ(*run.calibrate->regimes, 2);
  EXPECT_EQ(run.calibrate->starts, 10);
  EXPECT_TRUE(fs::exists(run.calibrate->prices)) << run.calibrate->prices;
  EXPECT_FALSE(load_book(run.book).holdings.empty());
}

}  // namespace
}  // namespace betahedge
