// A book given by notional and weights (SPEC 4 portfolio.notional, portfolio.weights): the units
// against a hand computation, the same simulation bits as the book written in those units, and
// the errors with the book's file, line and field.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "betahedge/error.hpp"
#include "betahedge/path_backend.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "hedged_test_book.hpp"
#include "model/model_json.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

/// Benchmark M at 100, A at 50.
Model two_asset_model() {
  Model m;
  m.assets = {"M", "A"};
  m.benchmark = "M";
  m.regimes = {Regime{"only", {0.0, 0.0}, {0.03, 0.045}, {1.0, 0.7, 0.7, 1.0}, std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {100.0, 50.0};
  validate_model(m, "test");
  return m;
}

BookConfig weights_book(double notional, std::vector<std::pair<std::string, double>> weights) {
  BookConfig b;
  b.notional = notional;
  b.weights = std::move(weights);
  return b;
}

TEST(BookByWeights, UnitsAreWeightTimesNotionalOverSpot) {
  const Model model = two_asset_model();
  const BookConfig book = weights_book(2.5e6, {{"A", 0.6}, {"M", 0.4}});
  const BookConfig resolved = resolve_holdings(model, book);
  // By hand: A 0.6 x 2.5e6 / 50 = 30,000 units; M 0.4 x 2.5e6 / 100 = 10,000 units; in the
  // book's order.
  ASSERT_EQ(resolved.holdings.size(), 2u);
  EXPECT_EQ(resolved.holdings[0].first, "A");
  EXPECT_DOUBLE_EQ(resolved.holdings[0].second, 30000.0);
  EXPECT_EQ(resolved.holdings[1].first, "M");
  EXPECT_DOUBLE_EQ(resolved.holdings[1].second, 10000.0);
  EXPECT_EQ(resolved.notional, book.notional);  // the book as written stays readable
  EXPECT_EQ(resolved.weights, book.weights);

  const PortfolioSetup p = make_portfolio(model, book);
  EXPECT_DOUBLE_EQ(p.holdings[0], 10000.0);  // model order: M, A
  EXPECT_DOUBLE_EQ(p.holdings[1], 30000.0);
  EXPECT_DOUBLE_EQ(p.value, 2.5e6);
  // Beta: value-weighted model betas, 0.4 x 1 + 0.6 x (0.7 x 0.045 / 0.03).
  EXPECT_NEAR(p.beta, 0.4 + 0.6 * 0.7 * 0.045 / 0.03, 1e-12);

  // Weights need not sum to 1: the value is sum(weights) x notional (gross and net books).
  EXPECT_DOUBLE_EQ(make_portfolio(model, weights_book(1e6, {{"A", 1.0}, {"M", 0.5}})).value, 1.5e6);
  EXPECT_DOUBLE_EQ(make_portfolio(model, weights_book(1e6, {{"A", 1.0}, {"M", -0.6}})).value, 0.4e6);
}

TEST(BookByWeights, HoldingsAsWrittenAreUnchanged) {
  const Model model = two_asset_model();
  BookConfig book;
  book.holdings = {{"A", 3.0}, {"M", 2.0}, {"A", 1.0}};
  EXPECT_EQ(resolve_holdings(model, book).holdings, book.holdings);
  const PortfolioSetup p = make_portfolio(model, book);
  EXPECT_EQ(p.holdings, (std::vector<double>{2.0, 4.0}));
  EXPECT_DOUBLE_EQ(p.value, 400.0);
}

// The same book by weights and in units: the same tables and every outcome of every path the
// same bits, for a dynamic perpetual hedge and a static put.
TEST(BookByWeights, SameOutcomesAsTheBookInUnits) {
  const Model model = make_synthetic_model(3, 2);  // spot 100 for every asset
  for (auto [instrument, mode] : {std::pair{HedgeInstrument::perpetual, HedgeMode::dynamic},
                                  std::pair{HedgeInstrument::option, HedgeMode::static_ratio}}) {
    const BookConfig in_units = test::hedged_test_book(model, instrument, mode);  // A1: 5, A2: 10
    ASSERT_EQ(in_units.holdings, (std::vector<std::pair<std::string, double>>{{"A1", 5.0}, {"A2", 10.0}}));
    BookConfig by_weights = in_units;
    by_weights.holdings.clear();
    by_weights.notional = 1000.0;
    by_weights.weights = {{"A1", 0.5}, {"A2", 1.0}};  // 0.5 x 1000 / 100 = 5, 1.0 x 1000 / 100 = 10

    const PortfolioSetup p_units = make_portfolio(model, in_units);
    const PortfolioSetup p_weights = make_portfolio(model, by_weights);
    EXPECT_EQ(p_units.holdings, p_weights.holdings);
    EXPECT_EQ(p_units.value, p_weights.value);
    EXPECT_EQ(p_units.beta, p_weights.beta);
    EXPECT_EQ(p_units.asset_beta, p_weights.asset_beta);

    const SimulationTables t_units = build_simulation_tables(model, p_units, in_units);
    const SimulationTables t_weights = build_simulation_tables(model, p_weights, by_weights);
    ASSERT_EQ(t_units.data.size(), t_weights.data.size());
    EXPECT_EQ(std::memcmp(t_units.data.data(), t_weights.data.data(), t_units.data.size() * sizeof(double)), 0);

    auto backend = make_cpu_backend(2);
    const std::vector<double> a = collect_outcomes(*backend, t_units, PathProgram::outcomes, in_units.simulation.paths);
    const std::vector<double> b = collect_outcomes(*backend, t_weights, PathProgram::outcomes, in_units.simulation.paths);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0);
  }
}

// hedge.beta_estimate reads the weighted assets' betas as it reads the holdings'.
TEST(BookByWeights, BetaEstimateLooksUpTheWeightedAssets) {
  Model model = two_asset_model();
  BookConfig book = weights_book(1e6, {{"A", 1.0}});
  book.hedge.beta_estimate = "ols";
  EXPECT_NE(test::message_of<InputError>([&] { make_portfolio(model, book); }).find("no 'ols' beta for A"),
            std::string::npos);
  model.betas["A"].ols = 1.3;
  EXPECT_DOUBLE_EQ(make_portfolio(model, book).beta, 1.3);
}

std::string error_of(const Model& model, const std::string& yaml) {
  const BookConfig book = parse_book(yaml, "books/book.yaml");
  return test::message_of<InputError>([&] { make_portfolio(model, book); });
}

TEST(BookByWeights, ErrorsNameTheFileLineAndField) {
  const Model model = two_asset_model();
  EXPECT_NE(error_of(model,
                     "model: model.json\n"
                     "portfolio:\n"
                     "  notional: 1.0e6\n"
                     "  weights:\n"
                     "    M: 0.4\n"
                     "    DOGE: 0.6\n")
                .find("books/book.yaml:6: portfolio.weights.DOGE: asset is not in the model (its assets: M, A; the "
                      "model is books/model.json, or under `betahedge run` the one calibrated from run.yaml's "
                      "calibrate.assets)"),
            std::string::npos);
  EXPECT_NE(error_of(model, "model: model.json\nportfolio:\n  notional: 1.0e6\n  weights: {M: 0.5, A: -0.5}\n")
                .find("books/book.yaml:4: portfolio.weights: the weights sum to zero"),
            std::string::npos);
  // 0.1 + 0.2 - 0.3 is 5.6e-17 in binary, not 0: still a book of no value.
  EXPECT_NE(error_of(make_synthetic_model(3, 1),
                     "model: model.json\nportfolio:\n  notional: 1.0e6\n  weights: {A0: 0.1, A1: 0.2, A2: -0.3}\n")
                .find("books/book.yaml:4: portfolio.weights: the weights sum to zero"),
            std::string::npos);
  // A book in units keeps its own field.
  EXPECT_NE(error_of(model, "model: model.json\nportfolio:\n  holdings: {M: 1, DOGE: 2}\n")
                .find("books/book.yaml:3: portfolio.holdings.DOGE: asset is not in the model"),
            std::string::npos);
}

}  // namespace
}  // namespace betahedge
