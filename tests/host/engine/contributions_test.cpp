// Euler risk contributions (SPEC 6 `contributions`) against the Gaussian closed form, against
// books of one component alone, and for the same bits under any batch size, thread count or rank
// split; TailRowKeeper against a sort of every path, ties included.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>
#include <random>

#include "simulated_ranks.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/path_pass.hpp"
#include "engine/risk_job.hpp"
#include "model/model_json.hpp"
#include "report/summary_json.hpp"
#include "report/tables_csv.hpp"
#include "stats/euler_contributions.hpp"
#include "stats/risk_statistics.hpp"
#include "hedged_test_book.hpp"

namespace betahedge {
namespace {

constexpr double kVolM = 0.001, kVolA = 0.0015, kVolB = 0.002;
constexpr double kRhoMA = 0.6, kRhoMB = 0.5, kRhoAB = 0.4;

/// One Gaussian regime, M the benchmark. Daily vols of 0.1-0.2% keep e^x - 1 within 0.3% of x
/// at the 99% tail, so the P&L is linear in the log returns to far below the tests' tolerances.
Model gaussian_model() {
  Model m;
  m.assets = {"M", "A", "B"};
  m.benchmark = "M";
  m.regimes = {Regime{"only",
                      {0.0, 0.0, 0.0},
                      {kVolM, kVolA, kVolB},
                      {1.0, kRhoMA, kRhoMB, kRhoMA, 1.0, kRhoAB, kRhoMB, kRhoAB, 1.0},
                      std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {100.0, 50.0, 20.0};
  validate_model(m, "test");
  return m;
}

/// A 10,000 in A and 6,000 in B, half hedged with a static perpetual on M (80 units short): no
/// fees, no funding, collateral that no path can exhaust, one day, zero drift.
BookConfig gaussian_book() {
  BookConfig b;
  b.holdings = {{"A", 200.0}, {"B", 300.0}};
  test::hedge_leg(b).instrument = HedgeInstrument::perpetual;
  test::hedge_leg(b).ratio = 0.5;
  test::hedge_leg(b).fee_bps = 0;
  test::hedge_leg(b).slippage_bps = 0;
  test::hedge_leg(b).funding_rate_8h = {0.0};
  b.margin.collateral = 1e12;
  b.simulation.horizon_days = 1;
  b.simulation.drift = DriftRule::zero;
  b.simulation.paths = 1 << 18;
  b.simulation.seed = 17;
  b.risk.levels = {RiskLevel{"0.99", 0.99}, RiskLevel{"0.95", 0.95}};
  return b;
}

ScenarioRun run_base(const Model& model, const BookConfig& book, int threads = 2) {
  auto backend = make_cpu_backend(threads);
  return run_scenario(*backend, base_scenario(model), make_portfolio(model, book), book);
}

const ComponentContribution& component(const ScenarioRun& run, const std::string& name) {
  for (const ComponentContribution& c : run.contributions->components)
    if (c.name == name) return c;
  throw std::runtime_error("no component " + name);
}

double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); }

// L = sum_j c_j x_j with x ~ N(0, S) (one day, zero drift): every component is Gaussian and
// jointly so with L, hence E[L_j | L >= VaR] = Cov(L_j, L) / sd(L) x phi(z_a) / (1 - a),
// E[L_j | L = VaR] = Cov(L_j, L) / sd(L) x z_a, and the standalone ES_j = sd(L_j) phi(z_a) / (1 - a).
// Standard errors: with L_j = beta_j L + e_j (e_j independent of L), the tail mean of L_j is
// beta_j times that of L (whose se is the engine's es_se formula, here in closed form) plus the
// mean of e_j over the n (1 - a) tail paths; the VaR part the same over the 2h + 1 window paths.
TEST(Contributions, AGaussianBookMatchesTheClosedForm) {
  const Model model = gaussian_model();
  const BookConfig book = gaussian_book();
  const ScenarioRun run = run_base(model, book);
  ASSERT_TRUE(run.contributions.has_value());
  EXPECT_EQ(run.contributions->level.key, "0.99");  // the highest level, not the first
  ASSERT_EQ(run.contributions->components.size(), 3u);
  EXPECT_EQ(run.contributions->components[0].name, "A");
  EXPECT_EQ(run.contributions->components[1].name, "B");
  EXPECT_EQ(run.contributions->components[2].name, "hedge");

  // Loss weights on the log returns (M, A, B): the hedge is 80 units short M, so its loss is
  // +8,000 x_M; the assets' losses are -10,000 x_A and -6,000 x_B.
  const double vol[3] = {kVolM, kVolA, kVolB};
  const double rho[3][3] = {{1.0, kRhoMA, kRhoMB}, {kRhoMA, 1.0, kRhoAB}, {kRhoMB, kRhoAB, 1.0}};
  const double weight[3] = {8000.0, -10000.0, -6000.0};
  const char* names[3] = {"hedge", "A", "B"};
  double cov_with_total[3] = {0.0, 0.0, 0.0}, var_total = 0.0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const double c = weight[i] * weight[j] * rho[i][j] * vol[i] * vol[j];
      cov_with_total[i] += c;
      var_total += c;
    }
  const double a = 0.99, z = 2.3263478740408408, lambda = normal_pdf(z) / (1.0 - a);
  const double n = static_cast<double>(book.simulation.paths), sd = std::sqrt(var_total);
  const double tail_count = n * (1.0 - a), window = 2.0 * std::ceil(0.5 * std::sqrt(n)) + 1.0;
  // se of the total's ES and VaR (Gaussian tail variance sd^2 (1 + z lambda - lambda^2)).
  const double es_se = sd * std::sqrt((1.0 + z * lambda - lambda * lambda + a * (lambda - z) * (lambda - z)) / tail_count);
  const double var_se = std::sqrt(a * (1.0 - a) / n) * sd / normal_pdf(z);

  const TailRisk& hedged = run.result.hedged.tails[0];
  ASSERT_EQ(hedged.level.key, "0.99");
  EXPECT_NEAR(hedged.es, sd * lambda, 4.0 * es_se);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(names[i]);
    const ComponentContribution& c = component(run, names[i]);
    const double beta = cov_with_total[i] / var_total;
    const double own_sd = std::abs(weight[i]) * vol[i];
    const double residual_var = std::max(own_sd * own_sd - beta * beta * var_total, 0.0);
    const double es_i_se = std::sqrt(beta * beta * es_se * es_se + residual_var / tail_count);
    const double var_i_se = std::sqrt(beta * beta * var_se * var_se + residual_var / window);
    EXPECT_NEAR(c.es, cov_with_total[i] / sd * lambda, 4.0 * es_i_se);
    EXPECT_NEAR(c.var, cov_with_total[i] / sd * z, 4.0 * var_i_se);
    const double standalone_se =
        own_sd * std::sqrt((1.0 + z * lambda - lambda * lambda + a * (lambda - z) * (lambda - z)) / tail_count);
    EXPECT_NEAR(c.standalone_es, own_sd * lambda, 4.0 * standalone_se);
    // The tolerances are a few percent of the figures: the test can tell one component from another.
    EXPECT_LT(4.0 * es_i_se, 0.1 * std::abs(cov_with_total[i] / sd * lambda));
  }
  // The hedge lowers the book's ES: its Euler part is negative; the sum is below the standalone sum.
  EXPECT_LT(component(run, "hedge").es, 0.0);

  // The parts sum to the engine's hedged ES and VaR (the same paths, the same weights).
  double es_sum = 0.0, var_sum = 0.0;
  for (const ComponentContribution& c : run.contributions->components) es_sum += c.es, var_sum += c.var;
  EXPECT_NEAR(es_sum, hedged.es, 1e-9 * hedged.es);
  EXPECT_NEAR(var_sum, hedged.var, 1e-9 * hedged.var);

  // marginal_es: the ES part per unit of currency held at t0.
  EXPECT_DOUBLE_EQ(component(run, "A").position, 10000.0);
  EXPECT_DOUBLE_EQ(component(run, "hedge").position, -8000.0);
  EXPECT_DOUBLE_EQ(*component(run, "B").marginal_es, component(run, "B").es / 6000.0);
  EXPECT_DOUBLE_EQ(*component(run, "hedge").marginal_es, component(run, "hedge").es / -8000.0);
}

// With margin calls, top-ups, costs and funding, the hedge leg carries every one of them: the
// parts still sum to the hedged ES and VaR the engine reports, at every scenario, also when the
// ratio grid rides the same pass (the per-asset columns come after the grid's and the horizons').
TEST(Contributions, SumToTheHedgedFiguresWithCallsCostsAndTheGridRidingAlong) {
  const Model model = gaussian_model();
  BookConfig book = gaussian_book();
  book.simulation.horizon_days = 10;
  book.simulation.paths = 20000;
  book.risk.horizons_days = {1, 5, 10};
  book.hedge.mode = HedgeMode::dynamic;
  book.hedge.band = 0.02;
  test::hedge_leg(book).fee_bps = 3;
  test::hedge_leg(book).funding_rate_8h = {0.0002};
  book.margin.collateral = 60.0;  // calls on many paths
  book.margin.on_call = MarginAction::top_up;
  StressScenario crash;
  crash.name = "crash";
  crash.shock = {{"M", -0.1}, {"A", -0.2}};
  book.stress = {crash};
  book.simulation.backend = BackendChoice::cpu;
  for (bool optimize : {false, true}) {
    SCOPED_TRACE(optimize ? "optimising" : "simulating");
    const RiskReport report = run_risk_job(model, book, {.stresses = true, .optimize = optimize}, [](const std::string&) {});
    ASSERT_EQ(report.scenarios.size(), 2u);
    for (const ScenarioRun& run : report.scenarios) {
      ASSERT_TRUE(run.contributions.has_value());
      // The base meets calls; the crash's short hedge gains 10% of its notional at t = 0+, and none.
      if (&run == &report.scenarios.front()) EXPECT_GT(run.result.margin.call_probability, 0.05);
      double es_sum = 0.0, var_sum = 0.0;
      for (const ComponentContribution& c : run.contributions->components) es_sum += c.es, var_sum += c.var;
      const TailRisk& hedged = run.result.hedged.tails[0];
      EXPECT_NEAR(es_sum, hedged.es, 1e-9 * std::abs(hedged.es)) << run.result.name;
      EXPECT_NEAR(var_sum, hedged.var, 1e-9 * std::abs(hedged.var)) << run.result.name;
    }
  }
}

// standalone_es of an asset is the ES of its own loss: what a book of that asset alone, unhedged,
// reports on the same paths, bit for bit (its P&L is computed as the mark computes the position).
// The hedge leg's, for a static perpetual without costs, is the unhedged ES of a book short the
// hedge's units of the benchmark (the same P&L up to rounding).
TEST(Contributions, StandaloneEsIsTheEsOfABookOfThatComponentAlone) {
  const Model model = gaussian_model();
  BookConfig book = gaussian_book();
  book.simulation.paths = 50000;
  book.simulation.horizon_days = 5;
  const ScenarioRun run = run_base(model, book);
  for (const auto& [symbol, units] : book.holdings) {
    BookConfig alone = book;
    alone.holdings = {{symbol, units}};
    alone.hedge.legs.clear();
    const ScenarioRun own = run_base(model, alone);
    EXPECT_EQ(component(run, symbol).standalone_es, own.result.unhedged.tails[0].es) << symbol;
  }
  BookConfig short_benchmark = book;
  short_benchmark.holdings = {{"M", -80.0}};
  short_benchmark.hedge.legs.clear();
  const double es = run_base(model, short_benchmark).result.unhedged.tails[0].es;
  EXPECT_NEAR(component(run, "hedge").standalone_es, es, 1e-9 * es);
}

/// Every figure of the contributions, as bits.
std::vector<std::uint64_t> bits_of(const ScenarioContributions& c) {
  std::vector<std::uint64_t> out;
  for (const ComponentContribution& x : c.components)
    for (double v : {x.es, x.var, x.standalone_es, x.marginal_es.value_or(-1.0)}) {
      std::uint64_t b;
      std::memcpy(&b, &v, sizeof b);
      out.push_back(b);
    }
  return out;
}

/// The reduction plan run_scenario makes for a contributions pass of `tables`.
ReductionPlan contributions_plan(const BookConfig& book, const SimulationTables& tables) {
  ReductionPlan plan = scenario_plan(book);
  plan.contribution_level = contribution_level(book);
  plan.asset_pnl_column = asset_pnl_first_column(PathProgram::outcomes, tables);
  plan.assets = tables.scalars.market.num_assets;
  return plan;
}

EulerContributions contributions_of(const OutcomeReduction& r) {
  std::vector<TailSample> losses;
  for (int j = 0; j <= r.plan().assets; ++j) losses.push_back(r.component_losses(j));
  return euler_contributions(r.paths_added(), r.component_rows(), losses, *r.plan().contribution_level);
}

// The kept rows are a set fixed by (loss, path id), and the sums over them run in rank order:
// the same bits for any batch size and thread count, and for the reductions of any split of the
// paths, sent as bytes and merged (what run_path_pass does under MPI).
TEST(Contributions, TheSameBitsForAnyBatchSizeThreadCountOrRankSplit) {
  const Model model = gaussian_model();
  BookConfig book = gaussian_book();
  book.simulation.paths = 30011;
  book.simulation.horizon_days = 5;
  book.hedge.mode = HedgeMode::dynamic;
  book.margin.collateral = 40.0;
  const std::vector<std::uint64_t> reference = bits_of(*run_base(model, book, 2).contributions);
  for (int threads : {1, 2})
    for (std::uint64_t batch : {4096ull, 8192ull, 12288ull, 65536ull}) {
      book.simulation.batch_size = batch;
      EXPECT_EQ(bits_of(*run_base(model, book, threads).contributions), reference)
          << threads << " threads, " << batch << "-path batches";
    }

  SimulationTables tables = build_simulation_tables(model, make_portfolio(model, book), book);
  tables.scalars.asset_pnl.record = true;
  const ReductionPlan plan = contributions_plan(book, tables);
  auto backend = make_cpu_backend(2);
  OutcomeReduction whole(plan);
  backend->run(tables, PathProgram::outcomes, {0, plan.paths}, 8192, [&](const OutcomeBatch& b) { whole.add(b); });
  const EulerContributions expected = contributions_of(whole);
  for (int ranks : {2, 3, 7}) {
    const OutcomeReduction merged = test::reduce_over_simulated_ranks(*backend, tables, plan, ranks, 4096);
    const EulerContributions got = contributions_of(merged);
    for (std::size_t j = 0; j < expected.es.size(); ++j) {
      EXPECT_EQ(std::memcmp(&got.es[j], &expected.es[j], sizeof(double)), 0) << ranks << " ranks, component " << j;
      EXPECT_EQ(std::memcmp(&got.var[j], &expected.var[j], sizeof(double)), 0) << ranks << " ranks, component " << j;
      EXPECT_EQ(std::memcmp(&got.standalone_es[j], &expected.standalone_es[j], sizeof(double)), 0);
    }
  }
}

// The rows kept are exactly the top of a sort of every path by (loss descending, path id
// ascending), whatever pieces the paths come in: losses with many ties, NaN turned away.
TEST(TailRowKeeper, KeepsTheTopPathsByLossThenPathIdTiesIncluded) {
  std::mt19937_64 rng(3);
  const std::uint64_t n = 60000, keep = 1500;
  std::vector<double> pnl(n), column(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    pnl[i] = std::round(std::normal_distribution<double>(0.0, 40.0)(rng));  // ties in plenty
    column[i] = static_cast<double>(i) * 0.5;                                 // names the path
  }
  pnl[17] = std::nan("");
  std::vector<std::uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  order.erase(order.begin() + 17);
  std::sort(order.begin(), order.end(), [&](std::uint64_t a, std::uint64_t b) {
    return -pnl[a] != -pnl[b] ? -pnl[a] > -pnl[b] : a < b;
  });
  for (std::uint64_t piece : {1ull, 977ull, 4096ull, 60000ull}) {
    TailRowKeeper whole(keep, 1), left(keep, 1), right(keep, 1);
    for (std::uint64_t first = 0; first < n; first += piece) {
      const std::uint64_t count = std::min(piece, n - first);
      whole.add(pnl.data() + first, {column.data() + first}, first, count);
      (first < n / 3 ? left : right).add(pnl.data() + first, {column.data() + first}, first, count);
    }
    std::string bytes;
    right.write(bytes);
    std::size_t cursor = 0;
    left.add(TailRowKeeper::read(bytes, cursor));
    for (const TailRowKeeper* k : {&whole, &left}) {
      const TailRows rows = k->sorted_rows();
      ASSERT_EQ(rows.size(), keep);
      for (std::uint64_t r = 0; r < keep; ++r) {
        const std::uint64_t path = order[keep - 1 - r];  // ascending: the highest last
        ASSERT_EQ(rows.path[r], path) << "piece " << piece << ", row " << r;
        ASSERT_EQ(rows.loss[r], -pnl[path]);
        ASSERT_EQ(rows.row(r)[0], column[path]);
      }
    }
  }
}

// summary.json and contributions.csv carry the figures as SPEC 6 names them; a book without a
// hedge instrument reports a hedge leg of exactly 0 and no marginal ES for it.
TEST(Contributions, SummaryAndCsvCarryEveryComponent) {
  const Model model = gaussian_model();
  BookConfig book = gaussian_book();
  book.simulation.paths = 8192;
  book.simulation.backend = BackendChoice::cpu;
  const RiskReport report = run_risk_job(model, book, {}, [](const std::string&) {});
  const nlohmann::json c = summary_to_json(report)["scenarios"][0]["contributions"];
  EXPECT_EQ(c["level"], "0.99");
  for (const char* key : {"es", "var", "standalone_es", "marginal_es"}) {
    ASSERT_EQ(c[key].size(), 3u) << key;
    for (const char* name : {"A", "B", "hedge"}) EXPECT_TRUE(c[key].contains(name)) << key << " " << name;
  }
  const ScenarioRun& run = report.scenarios[0];
  EXPECT_EQ(c["es"]["hedge"].get<double>(), component(run, "hedge").es);
  const std::string csv = contributions_csv(report);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "scenario,level,component,es,var,standalone_es,marginal_es");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  EXPECT_NE(csv.find("base,0.99,hedge,"), std::string::npos);

  book.hedge.legs.clear();
  const RiskReport unhedged = run_risk_job(model, book, {}, [](const std::string&) {});
  const nlohmann::json u = summary_to_json(unhedged)["scenarios"][0]["contributions"];
  EXPECT_EQ(u["es"]["hedge"].get<double>(), 0.0);
  EXPECT_TRUE(u["marginal_es"]["hedge"].is_null());
  EXPECT_NEAR(u["es"]["A"].get<double>() + u["es"]["B"].get<double>(),
              unhedged.scenarios[0].result.hedged.tails[0].es, 1e-9 * unhedged.scenarios[0].result.hedged.tails[0].es);
}

}  // namespace
}  // namespace betahedge
