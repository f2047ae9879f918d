#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "config/book_config.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

// SPEC 4's example book, verbatim.
const char* kSpecBook = R"(model: model.json
portfolio:
  holdings: {ETH: 400, SOL: 6000}
hedge:
  instrument: perpetual
  benchmark: BTC
  mode: static
  ratio: 1.0
  target_beta: 0.0
  band: 0.05
  rebalance_every_days: 1
  beta_estimate: model
  fee_bps: 2
  slippage_bps: 5
  funding_rate_8h: [0.0001, -0.0003]
  future: {expiry_days: 90, annual_basis: [0.06, -0.02], roll_days_before: 2, roll_cost_bps: 3}
  option: {kind: put, strike: 0.9, tenor_days: 30, implied_vol_premium: 1.1, rate: 0.0}
margin:
  collateral: 250000
  initial_rate: 0.10
  maintenance_rate: 0.05
  on_call: liquidate
simulation:
  paths: 1000000
  horizon_days: 30
  steps_per_day: 1
  seed: 42
  backend: auto
risk:
  levels: [0.95, 0.99]
  hedge_ratio_grid: {from: 0.0, to: 1.5, step: 0.05}
  band_grid: [0.01, 0.02, 0.05, 0.1, 0.2]
  max_call_probability: 0.01
stress:
  - {name: corr-to-one, correlation_blend: 0.9}
  - {name: stressed-regime, force_regime: stressed}
  - {name: crash, shock: {BTC: -0.30, ETH: -0.40, SOL: -0.50}}
  - {name: vol-x2, vol_multiplier: 2.0}
  - {name: funding-spike, funding_multiplier: 5.0}
  - {name: eth-sol-lockstep, correlation_set: {"ETH,SOL": 0.98, "BTC,SOL": 0.3}}
)";

// A book whose model comes from elsewhere (--model, Python's model=, a backtest's refits, run's
// calibrate: block) may leave model: out; a book that must name it may not.
TEST(BookConfig, ModelIsOptionalOnlyWhenAskedFor) {
  const std::string book = "portfolio:\n  holdings: {ETH: 1}\n";
  EXPECT_EQ(test::message_of<InputError>([&] { parse_book(book, "/books/book.yaml"); }),
            "/books/book.yaml:1: model: is missing (path of model.json, relative to this file)");
  const BookConfig b = parse_book(book, "/books/book.yaml", ModelKey::optional);
  EXPECT_TRUE(b.model_path.empty());
  EXPECT_EQ(b.holdings.at(0).first, "ETH");
  EXPECT_EQ(parse_book("model: m.json\n" + book, "/books/book.yaml", ModelKey::optional).model_path,
            "/books/m.json");
}

TEST(BookConfig, ParsesTheSpecExample) {
  const BookConfig b = parse_book(kSpecBook, "/books/book.yaml");
  EXPECT_EQ(b.model_path, std::filesystem::path("/books/model.json"));
  ASSERT_EQ(b.holdings.size(), 2u);
  EXPECT_EQ(b.holdings[1].first, "SOL");
  EXPECT_DOUBLE_EQ(b.holdings[1].second, 6000);
  EXPECT_EQ(b.hedge.legs.at(0).instrument, HedgeInstrument::perpetual);
  EXPECT_EQ(b.hedge.legs.at(0).funding_rate_8h, (std::vector<double>{0.0001, -0.0003}));
  EXPECT_EQ(b.hedge.legs.at(0).future.annual_basis, (std::vector<double>{0.06, -0.02}));
  EXPECT_FALSE(b.hedge.legs.at(0).option.is_call);
  EXPECT_DOUBLE_EQ(b.hedge.legs.at(0).option.implied_vol_premium, 1.1);
  EXPECT_EQ(b.margin.on_call, MarginAction::liquidate);
  EXPECT_EQ(b.simulation.paths, 1000000u);
  EXPECT_EQ(b.risk.levels[1].key, "0.99");
  EXPECT_EQ(b.risk.band_grid.size(), 5u);
  ASSERT_EQ(b.stress.size(), 6u);
  EXPECT_EQ(*b.stress[1].force_regime, "stressed");
  EXPECT_DOUBLE_EQ(b.stress[2].shock[2].second, -0.50);
  EXPECT_EQ(b.stress[5].correlation_set[0].first.second, "SOL");
}

std::string error_of(const std::string& yaml) {
  return test::message_of<InputError>([&] { parse_book(yaml, "book.yaml"); });
}

TEST(BookConfig, UnknownKeyNamesKeyAndLine) {
  const std::string e = error_of("model: m.json\nportfolio:\n  holdings: {ETH: 1}\nhedge:\n  ratoi: 0.5\n");
  EXPECT_NE(e.find("book.yaml:5"), std::string::npos) << e;
  EXPECT_NE(e.find("hedge.ratoi: unknown key"), std::string::npos) << e;
}

TEST(BookConfig, RejectsBadValuesNamingTheField) {
  const std::string base = "model: m.json\nportfolio:\n  holdings: {ETH: 1}\n";
  EXPECT_NE(error_of(base + "simulation: {paths: -5}\n").find("simulation.paths"), std::string::npos);
  EXPECT_NE(error_of(base + "simulation: {paths: lots}\n").find("'lots' is not a number"), std::string::npos);
  EXPECT_NE(error_of(base + "simulation: {backend: gpu}\n").find("simulation.backend"), std::string::npos);
  EXPECT_NE(error_of(base + "hedge: {instrument: swap}\n").find("hedge.instrument"), std::string::npos);
  EXPECT_NE(error_of(base + "margin: {initial_rate: 0.05, maintenance_rate: 0.1}\n").find("maintenance_rate"),
            std::string::npos);
  EXPECT_NE(error_of(base + "risk: {levels: [0.99, 1.5]}\n").find("risk.levels[1]"), std::string::npos);
  EXPECT_NE(error_of(base + "stress:\n  - {name: x, shock: {ETH: -1.5}}\n").find("shock"), std::string::npos);
  EXPECT_NE(error_of(base + "stress:\n  - {name: x, colour: red}\n").find("stress[0].colour: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(base + "stress:\n  - {name: a}\n  - {name: a}\n").find("used twice"), std::string::npos);
  EXPECT_NE(error_of("portfolio:\n  holdings: {ETH: 1}\n").find("model"), std::string::npos);
  EXPECT_NE(error_of("model: m.json\n").find("portfolio"), std::string::npos);
  EXPECT_NE(error_of("model: [unclosed\n").find("invalid YAML"), std::string::npos);
}

TEST(BookConfig, DefaultsApplyWhenSectionsAreAbsent) {
  const BookConfig b = parse_book("model: m.json\nportfolio:\n  holdings: {ETH: 1}\n", "book.yaml");
  EXPECT_FALSE(b.hedge.hedged());
  EXPECT_EQ(b.risk.levels.size(), 2u);
  EXPECT_EQ(b.simulation.horizon_days, 30);
  EXPECT_EQ(b.simulation.drift, DriftRule::martingale);
  EXPECT_FALSE(b.margin.collateral.has_value());  // auto
}

TEST(BookConfig, DriftCollateralAndNotionalKeys) {
  const std::string holdings = "model: m.json\nportfolio:\n  holdings: {ETH: 1}\n";
  EXPECT_EQ(parse_book(holdings + "simulation: {drift: zero}\n", "b.yaml").simulation.drift, DriftRule::zero);
  EXPECT_EQ(parse_book(holdings + "simulation: {drift: model}\n", "b.yaml").simulation.drift, DriftRule::model);
  EXPECT_NE(error_of(holdings + "simulation: {drift: upward}\n").find("simulation.drift"), std::string::npos);
  EXPECT_FALSE(parse_book(holdings + "margin: {collateral: auto}\n", "b.yaml").margin.collateral.has_value());
  EXPECT_EQ(parse_book(holdings + "margin: {collateral: 5000}\n", "b.yaml").margin.collateral, 5000.0);
  EXPECT_NE(error_of(holdings + "margin: {collateral: plenty}\n").find("margin.collateral: 'plenty' is neither auto nor a number"),
            std::string::npos)
      << error_of(holdings + "margin: {collateral: plenty}\n");
  EXPECT_NE(error_of(holdings + "margin: {collateral: -1}\n").find("margin.collateral"), std::string::npos);

  const BookConfig b =
      parse_book("model: m.json\nportfolio:\n  notional: 5.0e6\n  weights: {ETH: 0.6, SOL: 0.4}\n", "b.yaml");
  EXPECT_EQ(b.notional, 5.0e6);
  ASSERT_EQ(b.weights.size(), 2u);
  EXPECT_EQ(b.weights[1].first, "SOL");
  EXPECT_EQ(b.weights[1].second, 0.4);
  EXPECT_TRUE(b.holdings.empty());
  const std::string both = "model: m.json\nportfolio:\n  holdings: {ETH: 1}\n  notional: 1000\n  weights: {ETH: 1}\n";
  EXPECT_NE(error_of(both).find("book.yaml:4: portfolio.notional: give either holdings or notional and weights"),
            std::string::npos)
      << error_of(both);
  EXPECT_NE(error_of("model: m.json\nportfolio:\n  notional: 1000\n").find("portfolio.notional: needs portfolio.weights"),
            std::string::npos);
  EXPECT_NE(error_of("model: m.json\nportfolio:\n  weights: {ETH: 1}\n").find("needs portfolio.notional"),
            std::string::npos);
  EXPECT_NE(error_of("model: m.json\nportfolio:\n  notional: -5\n  weights: {ETH: 1}\n").find("portfolio.notional"),
            std::string::npos);
  EXPECT_NE(error_of("model: m.json\nportfolio: {}\n").find("portfolio.holdings: is missing"), std::string::npos);
}

// risk.horizons_days, risk.target_beta_grid and a stress's replay window (SPEC 4 further keys).
TEST(BookConfig, HorizonsTargetGridAndReplayKeys) {
  const std::string holdings = "model: m.json\nportfolio:\n  holdings: {ETH: 1}\n";
  const BookConfig b = parse_book(holdings + "simulation: {horizon_days: 30}\nrisk:\n  horizons_days: [1, 10, 30]\n"
                                             "  target_beta_grid: [0.0, 0.25, 0.5]\n",
                                  "b.yaml");
  EXPECT_EQ(b.risk.horizons_days, (std::vector<int>{1, 10, 30}));
  EXPECT_EQ(b.risk.target_beta_grid, (std::vector<double>{0.0, 0.25, 0.5}));
  EXPECT_NE(error_of(holdings + "risk: {horizons_days: [10, 1]}\n").find("book.yaml:4: risk.horizons_days[1]: 1 must be above"),
            std::string::npos)
      << error_of(holdings + "risk: {horizons_days: [10, 1]}\n");
  EXPECT_NE(error_of(holdings + "risk: {horizons_days: [1, 1]}\n").find("risk.horizons_days[1]"), std::string::npos);
  EXPECT_NE(error_of(holdings + "risk: {horizons_days: [0]}\n").find("risk.horizons_days[0]"), std::string::npos);
  EXPECT_NE(error_of(holdings + "risk: {horizons_days: [1.5]}\n").find("risk.horizons_days[0]"), std::string::npos);
  const std::string beyond = holdings + "simulation: {horizon_days: 10}\nrisk: {horizons_days: [1, 30]}\n";
  EXPECT_NE(error_of(beyond).find("risk.horizons_days: 30 days is beyond simulation.horizon_days 10"), std::string::npos)
      << error_of(beyond);
  EXPECT_NE(error_of(holdings + "risk: {target_beta_grid: [0.1, 0.1]}\n").find("risk.target_beta_grid: lists"),
            std::string::npos);
  EXPECT_NE(error_of(holdings + "risk: {target_beta_grid: [20]}\n").find("risk.target_beta_grid"), std::string::npos);

  const BookConfig r = parse_book(holdings + "stress:\n  - {name: ftx, replay: {from: 2022-11-06, to: 2022-11-20}, "
                                             "funding_multiplier: 2}\n",
                                  "b.yaml");
  ASSERT_TRUE(r.stress[0].replay.has_value());
  EXPECT_EQ(r.stress[0].replay->from, "2022-11-06");
  EXPECT_EQ(r.stress[0].replay->to, "2022-11-20");
  const auto replay_error = [&](const std::string& entry) { return error_of(holdings + "stress:\n  - " + entry + "\n"); };
  EXPECT_NE(replay_error("{name: x, replay: {from: 2022-11-20, to: 2022-11-06}}").find("stress[0].replay.to"),
            std::string::npos);
  EXPECT_NE(replay_error("{name: x, replay: {from: 2022-13-01, to: 2023-01-06}}").find("stress[0].replay.from"),
            std::string::npos);
  EXPECT_NE(replay_error("{name: x, replay: {from: 2022-11-06}}").find("stress[0].replay.to: is missing"),
            std::string::npos);
  EXPECT_NE(replay_error("{name: x, replay: {from: 2022-11-06, to: 2022-11-09, at: 1}}").find("stress[0].replay.at"),
            std::string::npos);
  EXPECT_NE(replay_error("{name: x, vol_multiplier: 2, replay: {from: 2022-11-06, to: 2022-11-09}}")
                .find("stress[0].vol_multiplier: does not apply to a replay"),
            std::string::npos);
}

// Errors found once the model is known name the line of the field, or of the nearest
// enclosing field the file writes.
TEST(BookConfig, BookLocationNamesTheLine) {
  const BookConfig b = parse_book(
      "model: m.json\nportfolio:\n  holdings: {ETH: 1}\nhedge:\n  instrument: perpetual\n"
      "  funding_rate_8h: [0.0001, 0.0002]\nstress:\n  - name: crash\n    shock: {ETH: -0.3}\n",
      "dir/book.yaml");
  EXPECT_EQ(book_location(b, "hedge.funding_rate_8h"), "dir/book.yaml:6: hedge.funding_rate_8h");
  EXPECT_EQ(book_location(b, "stress[0].shock.ETH"), "dir/book.yaml:9: stress[0].shock.ETH");
  EXPECT_EQ(book_location(b, "hedge.benchmark"), "dir/book.yaml:4: hedge.benchmark");  // the section's line
  EXPECT_EQ(book_location(b, "margin.collateral"), "dir/book.yaml: margin.collateral");  // nothing written
}

}  // namespace
}  // namespace betahedge
