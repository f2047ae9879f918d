// The status line the CLI draws on a terminal (host/cli/progress_bar.hpp): the count an event
// states, which events replace each other, and the line drawn for an event, an elapsed time and
// a terminal width, written out here by hand.
#include <gtest/gtest.h>

#include <string>

#include "cli/progress_bar.hpp"

namespace betahedge::cli {
namespace {

/// Code points, as the status line counts columns.
std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

TEST(ProgressCount, ReadsTheEnginesCounts) {
  const std::string backtest = "backtest: 6 of 60 dates (2024-01-09), 1 fits";
  const auto b = progress_count(backtest);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->done, 6);
  EXPECT_EQ(b->total, 60);
  EXPECT_EQ(b->offset, backtest.find('6'));
  const auto s = progress_count("stress: [   0.52 s] scenario base: simulating (0 of 7 scenarios done)");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->done, 0);
  EXPECT_EQ(s->total, 7);
  const auto last = progress_count("run: backtest: 735 of 735 dates (2025-02-13), 37 fits");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->done, 735);
}

TEST(ProgressCount, NoCountInOtherLines) {
  for (const char* line : {
           "calibrate: K=2 chosen, BIC 1234.5, 87 EM iterations, best of 10 starts",  // "of" after a word
           "simulate: [   0.01 s] backend cpu (2 threads); 20000 paths x 30 steps",
           "backtest: 7 of 5 dates",     // more done than there are
           "backtest: 3 of 0 dates",     // nothing to do
           "version v2 of 3",            // K inside a token
           "ratio 1.5 of 3",             // a decimal K
           "step 2 of 3x",               // N inside a token
           "step 2 of 3.5 units",        // a decimal N
           "backtest: 1 of ",            // no N
           "99999999999999999 of 99999999999999999 dates",  // 17 digits: too many to be a count
       })
    EXPECT_FALSE(progress_count(line)) << line;
  // The first count that stands; a sentence's full stop does not spoil it.
  const auto c = progress_count("step x2 of 3, then 2 of 4.");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->done, 2);
  EXPECT_EQ(c->total, 4);
}

TEST(ContinuesCount, SameTaskSameTotal) {
  EXPECT_TRUE(continues_count("backtest: 6 of 60 dates (2024-01-09), 1 fits", "backtest: 12 of 60 dates (2024-01-17), 1 fits"));
  EXPECT_FALSE(continues_count("backtest: 6 of 60 dates (a)", "backtest: 6 of 61 dates (a)"));   // another total
  EXPECT_FALSE(continues_count("backtest: 6 of 60 dates (a)", "run: backtest: 12 of 60 dates"));  // another task
  EXPECT_FALSE(continues_count("backtest: rendering report.html", "backtest: 1 of 60 dates"));   // no count before
  EXPECT_FALSE(continues_count("backtest: 60 of 60 dates (a)", "backtest: wrote out/bt"));       // no count after
  // Each scenario's line has its own time stamp and name: it follows the one before.
  EXPECT_FALSE(continues_count("stress: [   0.10 s] scenario base: simulating (0 of 2 scenarios done)",
                               "stress: [   1.90 s] scenario crash: simulating (1 of 2 scenarios done)"));
}

TEST(StatusLine, BarCountAndText) {
  // 6 of 17: floor(20 x 6 / 17) = 7 of the bar's 20 columns filled.
  EXPECT_EQ(progress_status_line("backtest: 6 of 17 dates (2024-03-01), 1 fits", 12.34, 100),
            "  12.3 s [#######.............] 6/17 backtest: 6 of 17 dates (2024-03-01), 1 fits");
  EXPECT_EQ(progress_status_line("backtest: 0 of 5 dates", 0.04, 80),
            "   0.0 s [....................] 0/5 backtest: 0 of 5 dates");
  EXPECT_EQ(progress_status_line("backtest: 5 of 5 dates", 3725.0, 80),
            "3725.0 s [####################] 5/5 backtest: 5 of 5 dates");
  // No count: the time and the text.
  EXPECT_EQ(progress_status_line("run: calibrating from data/demo_prices.csv", 1.26, 80),
            "   1.3 s run: calibrating from data/demo_prices.csv");
}

TEST(StatusLine, FitsTheWidthLessOneColumn) {
  const std::string event = "stress: [   0.52 s] scenario base: simulating, the ratio grid on the same paths (0 of 7 scenarios done)";
  // 80 columns: the line is 79, its text cut with "...".
  const std::string at80 = progress_status_line(event, 2.0, 80);
  EXPECT_EQ(at80, "   2.0 s [....................] 0/7 stress: [   0.52 s] scenario base: simul...");
  EXPECT_EQ(code_points(at80), 79u);
  // 49 columns: 12 columns of text just fit beside the bar (8 + 23 + 4 + 1 + 12 = 48).
  EXPECT_EQ(progress_status_line(event, 2.0, 49), "   2.0 s [....................] 0/7 stress: [...");
  // 45 columns: they would not, so the bar goes and the count stays.
  EXPECT_EQ(progress_status_line(event, 2.0, 45), "   2.0 s 0/7 stress: [   0.52 s] scenario...");
  // Narrower still: the time and count, then the time alone, then nothing.
  EXPECT_EQ(progress_status_line(event, 2.0, 15), "   2.0 s 0/7 s");
  EXPECT_EQ(progress_status_line(event, 2.0, 13), "   2.0 s 0/7");
  EXPECT_EQ(progress_status_line(event, 2.0, 6), "   2.");
  EXPECT_EQ(progress_status_line(event, 2.0, 1), "");
  EXPECT_EQ(progress_status_line(event, 2.0, 0), "");
  // An event that fills width - 1 columns exactly is whole; one column less and it is cut.
  EXPECT_EQ(progress_status_line("run: done!", 2.0, 20), "   2.0 s run: done!");
  EXPECT_EQ(progress_status_line("run: done!", 2.0, 19), "   2.0 s run: d...");
}

TEST(StatusLine, CountsCodePointsAndCutsBetweenThem) {
  // "é" is two bytes and one column: "run: café été" is 13 columns (16 bytes), whole at width
  // 8 + 1 + 13 + 1 = 23.
  const std::string event = "run: caf\xC3\xA9 \xC3\xA9t\xC3\xA9";
  EXPECT_EQ(progress_status_line(event, 0.0, 23), "   0.0 s " + event);
  // 12 columns for the text: 9 code points and "...", where 9 bytes would have cut "é" in two.
  EXPECT_EQ(progress_status_line(event, 0.0, 22), "   0.0 s run: caf\xC3\xA9...");
}

TEST(StatusLine, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(progress_status_line("a\rb\nc\td\x1b[2J", 0.0, 80), "   0.0 s a b c d [2J");
}

}  // namespace
}  // namespace betahedge::cli
