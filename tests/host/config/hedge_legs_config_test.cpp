/// hedge.legs, hedge.ratios / weights / allocation and margin.mode as book.yaml writes them: the
/// forms that parse, and every bad leg configuration refused with the file, line and field.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "betahedge/path_types.hpp"
#include "config/book_config.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

const std::string kBase = "model: m.json\nportfolio:\n  holdings: {ETH: 1, SOL: 10}\n";  // lines 1-3

std::string error_of(const std::string& yaml) {
  return test::message_of<InputError>([&] { parse_book(yaml, "book.yaml"); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string kTwoPerpetuals =
    "hedge:\n"                                                                       // 4
    "  legs:\n"                                                                      // 5
    "    - {instrument: perpetual, benchmark: BTC, funding_rate_8h: 0.0001}\n"       // 6
    "    - {instrument: perpetual, benchmark: ETH, fee_bps: 2, slippage_bps: 3}\n";  // 7

TEST(HedgeLegsConfig, TwoPerpetualsWithRatiosParseAsTwoLegs) {
  const BookConfig b = parse_book(kBase + kTwoPerpetuals + "  ratios: [0.6, 0.5]\nmargin: {mode: cross}\n", "book.yaml");
  ASSERT_EQ(b.hedge.legs.size(), 2u);
  EXPECT_EQ(b.hedge.legs[0].benchmark, "BTC");
  EXPECT_EQ(b.hedge.legs[1].benchmark, "ETH");
  EXPECT_EQ(b.hedge.legs[0].field, "hedge.legs[0]");
  EXPECT_DOUBLE_EQ(b.hedge.legs[0].ratio, 0.6);
  EXPECT_DOUBLE_EQ(b.hedge.legs[1].ratio, 0.5);
  EXPECT_EQ(b.hedge.legs[0].funding_rate_8h, std::vector<double>{0.0001});
  EXPECT_DOUBLE_EQ(b.hedge.legs[1].fee_bps + b.hedge.legs[1].slippage_bps, 5.0);
  EXPECT_EQ(leg_name(b.hedge.legs[0], "BTC"), "BTC-perpetual");
  EXPECT_EQ(leg_name(b.hedge.legs[1], "BTC"), "ETH-perpetual");
  EXPECT_EQ(b.margin.mode, MarginMode::cross);
}

TEST(HedgeLegsConfig, TheOneInstrumentFormIsOneLegAndNoneIsNoLeg) {
  const BookConfig one = parse_book(kBase + "hedge: {instrument: future, benchmark: BTC, ratio: 0.7}\n", "book.yaml");
  ASSERT_EQ(one.hedge.legs.size(), 1u);
  EXPECT_EQ(one.hedge.legs[0].instrument, HedgeInstrument::future);
  EXPECT_EQ(one.hedge.legs[0].field, "hedge");
  EXPECT_DOUBLE_EQ(one.hedge.legs[0].ratio, 0.7);
  EXPECT_FALSE(parse_book(kBase + "hedge: {instrument: none}\n", "book.yaml").hedge.hedged());
  EXPECT_FALSE(parse_book(kBase, "book.yaml").hedge.hedged());
}

TEST(HedgeLegsConfig, ACollarIsAPutAndAWrittenCall) {
  const BookConfig b = parse_book(kBase +
                                      "hedge:\n  legs:\n"
                                      "    - {instrument: put, benchmark: BTC, option: {strike: 0.9}}\n"
                                      "    - {instrument: call, benchmark: BTC, option: {strike: 1.1, tenor_days: 30}}\n"
                                      "  ratios: [1.0, -1.0]\n",
                                  "book.yaml");
  ASSERT_EQ(b.hedge.legs.size(), 2u);
  EXPECT_FALSE(b.hedge.legs[0].option.is_call);
  EXPECT_TRUE(b.hedge.legs[1].option.is_call);
  EXPECT_DOUBLE_EQ(b.hedge.legs[1].option.strike, 1.1);
  EXPECT_DOUBLE_EQ(b.hedge.legs[1].ratio, -1.0);
  EXPECT_EQ(leg_name(b.hedge.legs[0], "BTC"), "BTC-put");
  EXPECT_EQ(leg_name(b.hedge.legs[1], "BTC"), "BTC-call");
}

TEST(HedgeLegsConfig, DynamicLegsTakeAnAllocation) {
  const BookConfig mv = parse_book(kBase + kTwoPerpetuals + "  mode: dynamic\n  target_beta: 0.2\n", "book.yaml");
  EXPECT_EQ(mv.hedge.allocation, HedgeAllocation::min_variance);
  const BookConfig w = parse_book(
      kBase + kTwoPerpetuals + "  mode: dynamic\n  allocation: weights\n  weights: [0.7, 0.3]\n", "book.yaml");
  EXPECT_EQ(w.hedge.allocation, HedgeAllocation::weights);
  EXPECT_DOUBLE_EQ(w.hedge.legs[0].weight, 0.7);
  EXPECT_DOUBLE_EQ(w.hedge.legs[1].weight, 0.3);
}

TEST(HedgeLegsConfig, IsolatedMarginTakesOneCollateralPerLegOrAuto) {
  const BookConfig b =
      parse_book(kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\nmargin: {mode: isolated, collateral: [1000, 2000]}\n",
                 "book.yaml");
  EXPECT_EQ(b.margin.mode, MarginMode::isolated);
  EXPECT_EQ(b.margin.leg_collateral, (std::vector<double>{1000, 2000}));
  const BookConfig a =
      parse_book(kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\nmargin: {mode: isolated, collateral: auto}\n",
                 "book.yaml");
  EXPECT_TRUE(a.margin.leg_collateral.empty());
  EXPECT_FALSE(a.margin.collateral.has_value());
}

TEST(HedgeLegsConfig, EveryBadLegConfigurationNamesItsField) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::string leg = "    - {instrument: perpetual, benchmark: BTC}\n";
  const std::vector<Case> cases = {
      // The same instrument on the same underlying twice.
      {kBase + "hedge:\n  legs:\n" + leg + leg + "  ratios: [0.5, 0.5]\n",
       "book.yaml:7: hedge.legs[1]: duplicate leg 'BTC-perpetual' (also hedge.legs[0])"},
      // More legs than the capacity.
      {kBase + "hedge:\n  legs:\n" + leg + "    - {instrument: perpetual, benchmark: ETH}\n" +
           "    - {instrument: perpetual, benchmark: SOL}\n    - {instrument: future, benchmark: BTC}\n" +
           "    - {instrument: future, benchmark: ETH}\n  ratios: [0.1, 0.1, 0.1, 0.1, 0.1]\n",
       "hedge.legs"},
      // An option leg without its strike.
      {kBase + "hedge:\n  legs:\n" + leg + "    - {instrument: call, benchmark: BTC, option: {tenor_days: 30}}\n" +
           "  ratios: [0.5, -0.5]\n",
       "book.yaml:7: hedge.legs[1].option.strike: is missing"},
      {kBase + "hedge:\n  legs:\n" + leg + "    - {instrument: call, benchmark: BTC}\n  ratios: [0.5, -0.5]\n",
       "book.yaml:7: hedge.legs[1].option: is missing"},
      // Weights that do not sum to one.
      {kBase + kTwoPerpetuals + "  mode: dynamic\n  allocation: weights\n  weights: [0.7, 0.4]\n",
       "book.yaml:10: hedge.weights: sum to 1.1"},
      {kBase + kTwoPerpetuals + "  mode: dynamic\n  allocation: weights\n", "hedge.allocation: weights needs hedge.weights"},
      {kBase + kTwoPerpetuals + "  mode: dynamic\n  weights: [0.5, 0.5]\n", "hedge.weights: apply with allocation: weights"},
      // One ratio per leg.
      {kBase + kTwoPerpetuals + "  ratios: [0.5]\n", "book.yaml:8: hedge.ratios: has 1 value for 2 legs"},
      {kBase + kTwoPerpetuals, "hedge.legs: a static hedge of legs needs hedge.ratios"},
      // The two forms mixed.
      {kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\n  instrument: perpetual\n",
       "book.yaml:9: hedge.instrument: with hedge.legs, each leg has its own: hedge.legs[i].instrument"},
      {kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\n  fee_bps: 2\n", "book.yaml:9: hedge.fee_bps: with hedge.legs, each leg has its own"},
      {kBase + kTwoPerpetuals + "  ratio: 0.5\n", "hedge.ratio: with hedge.legs, static ratios go in hedge.ratios"},
      // A leg must say what it is.
      {kBase + "hedge:\n  legs:\n    - {benchmark: BTC}\n  ratios: [1]\n", "book.yaml:6: hedge.legs[0].instrument: is missing"},
      {kBase + "hedge:\n  legs:\n    - {instrument: none}\n  ratios: [1]\n", "hedge.legs[0].instrument"},
      {kBase + "hedge:\n  legs:\n    - {instrument: perpetual, ratio: 1}\n  ratios: [1]\n", "hedge.legs[0].ratio"},
      {kBase + "hedge:\n  legs:\n    - perpetual\n  ratios: [1]\n", "book.yaml:6: hedge.legs[0]: must be a mapping"},
      // Isolated accounts: one collateral per leg.
      {kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\nmargin: {mode: isolated, collateral: [1000]}\n",
       "margin.collateral: has 1 accounts for 2 hedge legs"},
      {kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\nmargin: {mode: isolated, collateral: 1000}\n",
       "margin.collateral: isolated margin has one account per leg"},
      {kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\nmargin: {collateral: [1000, 2000]}\n",
       "margin.collateral: a list (one account per leg) needs mode: isolated"},
      {kBase + kTwoPerpetuals + "  ratios: [0.5, 0.5]\nmargin: {mode: separate}\n", "margin.mode"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_TRUE(contains(e, c.expected)) << "expected: " << c.expected << "\ngot: " << e << "\nfor:\n" << c.yaml;
  }
}

TEST(HedgeLegsConfig, NamedLegsMayShareAnInstrumentAndUnderlying) {
  const BookConfig b = parse_book(kBase +
                                      "hedge:\n  legs:\n"
                                      "    - {instrument: put, benchmark: BTC, name: BTC-put-90, option: {strike: 0.9}}\n"
                                      "    - {instrument: put, benchmark: BTC, name: BTC-put-80, option: {strike: 0.8}}\n"
                                      "  ratios: [0.5, 0.5]\n",
                                  "book.yaml");
  EXPECT_EQ(leg_name(b.hedge.legs[1], "BTC"), "BTC-put-80");
}

TEST(HedgeLegsConfig, TheLegCapacityIsTheEnginesCompileTimeOne) {
  std::string legs;
  const char* underlyings[] = {"BTC", "ETH", "SOL", "AVAX", "LINK"};
  for (int i = 0; i <= kMaxHedgeLegs; ++i) legs += std::string("    - {instrument: perpetual, benchmark: ") + underlyings[i] + "}\n";
  const std::string e = error_of(kBase + "hedge:\n  legs:\n" + legs + "  ratios: [0.1, 0.1, 0.1, 0.1, 0.1]\n");
  EXPECT_TRUE(contains(e, "book.yaml:6: hedge.legs: has 5 entries")) << e;
  EXPECT_TRUE(contains(e, std::to_string(kMaxHedgeLegs))) << e;
}

}  // namespace
}  // namespace betahedge
