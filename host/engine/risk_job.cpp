#include "engine/risk_job.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "betahedge/error.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {
namespace {

ScenarioShocks shocks_of(const AppliedScenario& s) { return {s.shock_log_return, s.funding_multiplier}; }

/// Sample covariance of two paired samples, summed in a fixed order.
double covariance(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = ordered_mean(x), my = ordered_mean(y);
  return ordered_sum_of(x.size(), [&](std::uint64_t i) { return (x[i] - mx) * (y[i] - my); }) /
         static_cast<double>(x.size());
}

/// The vertex of the parabola through (x[i-1], y[i-1]), (x[i], y[i]), (x[i+1], y[i+1]), kept
/// between the neighbours; x[i] itself at either end of the curve or when it is not convex.
double parabolic_minimum(const std::vector<double>& x, const std::vector<double>& y, int i) {
  if (i <= 0 || i + 1 >= static_cast<int>(x.size())) return x[i];
  const double x0 = x[i - 1], x1 = x[i], x2 = x[i + 1], y0 = y[i - 1], y1 = y[i], y2 = y[i + 1];
  const double denominator = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0);
  if (!(denominator != 0.0)) return x1;
  const double vertex = x1 - 0.5 * ((x1 - x0) * (x1 - x0) * (y1 - y2) - (x1 - x2) * (x1 - x2) * (y1 - y0)) / denominator;
  return (y0 >= y1 && y2 >= y1) ? std::clamp(vertex, x0, x2) : x1;
}

int argmin(const std::vector<double>& y) {
  return static_cast<int>(std::min_element(y.begin(), y.end()) - y.begin());
}

/// Statistics at each ratio of a one-pass grid simulation.
std::vector<RatioCurvePoint> evaluate_grid(PathBackend& backend, const SimulationTables& tables,
                                           const std::vector<double>& ratios, const BookConfig& book) {
  backend.simulate_ratio_grid(tables, book.simulation.paths, book.simulation.batch_size);
  std::vector<RatioCurvePoint> curve;
  for (int r = 0; r < static_cast<int>(ratios.size()); ++r)
    curve.push_back({ratios[r],
                     estimate_pnl_statistics(*backend.sorted_column(RatioGridColumns::pnl(r), true), book.risk.levels),
                     ordered_mean(backend.column(RatioGridColumns::called(r)))});
  return curve;
}

}  // namespace

std::vector<AppliedScenario> book_scenarios(const Model& model, const BookConfig& book, bool with_stresses) {
  std::vector<AppliedScenario> scenarios{base_scenario(model)};
  if (with_stresses)
    for (std::size_t i = 0; i < book.stress.size(); ++i)
      scenarios.push_back(apply_stress(model, book.stress[i], book.source.string(), static_cast<int>(i)));
  return scenarios;
}

ScenarioRun run_scenario(PathBackend& backend, const AppliedScenario& scenario, const PortfolioSetup& portfolio,
                         const BookConfig& book) {
  const SimulationTables tables = build_simulation_tables(scenario.model, portfolio, book, shocks_of(scenario));
  ScenarioRun run;
  run.result = evaluate_scenario(scenario.name, backend, tables, book);
  run.applied = applied_to_json(scenario);
  return run;
}

Optimization optimize_hedge_ratio(PathBackend& backend, const AppliedScenario& scenario,
                                  const PortfolioSetup& portfolio, const BookConfig& book) {
  if (book.hedge.instrument == HedgeInstrument::none)
    throw InputError(book.source.string() + ": hedge.instrument: the optimiser needs a hedge instrument, not 'none'");
  BookConfig static_book = book;
  static_book.hedge.mode = HedgeMode::static_ratio;
  const ScenarioShocks shocks = shocks_of(scenario);
  const std::vector<double> ratios = hedge_ratio_grid(book.risk.hedge_ratio_grid);
  const int count = static_cast<int>(ratios.size());
  const SimulationTables tables = build_simulation_tables(scenario.model, portfolio, static_book, shocks);
  Optimization opt;
  opt.curve = evaluate_grid(backend, tables, ratios, book);

  // The closed form and the margin constraint come from the same pass's no-call columns.
  const std::vector<double> u = backend.column(RatioGridColumns::unhedged(count));
  const std::vector<double> g = backend.column(RatioGridColumns::unit_hedge_pnl(count));
  const double var_g = covariance(g, g);
  const double closed_form = var_g > 0.0 ? -covariance(u, g) / var_g : 0.0;
  const auto shortfall = backend.sorted_column(RatioGridColumns::unit_shortfall(count), false);
  const std::uint64_t n = shortfall->size();
  const auto allowed = static_cast<std::uint64_t>(std::floor(book.risk.max_call_probability * n + 1e-9));
  const double q = allowed < n ? shortfall->at(n - allowed - 1) : 0.0;
  const double collateral = tables.scalars.hedge.collateral;
  const double largest_feasible = q > 0.0 ? collateral / q : std::numeric_limits<double>::infinity();

  // Where no path meets a call up to the grid ratio above r*, the hedge is linear there and
  // the closed form is exact. Otherwise (and for ES always) search the simulated curve: a
  // second one-pass grid, finely spaced over the brackets around the grid minima.
  std::vector<double> stdev(count);
  for (int r = 0; r < count; ++r) stdev[r] = opt.curve[r].hedged.stdev;
  const int above = static_cast<int>(std::lower_bound(ratios.begin(), ratios.end(), closed_form) - ratios.begin());
  const bool closed_form_exact = above < count && opt.curve[above].call_probability == 0.0 && closed_form >= ratios.front();
  std::vector<std::pair<double, double>> brackets;
  auto bracket_of = [&](int i) { return std::make_pair(ratios[std::max(i - 1, 0)], ratios[std::min(i + 1, count - 1)]); };
  if (!closed_form_exact) brackets.push_back(bracket_of(argmin(stdev)));
  for (std::size_t l = 0; l < book.risk.levels.size(); ++l) {
    std::vector<double> es(count);
    for (int r = 0; r < count; ++r) es[r] = opt.curve[r].hedged.tails[l].es;
    brackets.push_back(bracket_of(argmin(es)));
  }
  double lo = brackets.front().first, hi = brackets.front().second;
  for (const auto& [a, b] : brackets) lo = std::min(lo, a), hi = std::max(hi, b);
  std::vector<double> fine(kMaxGridRatios);
  for (int r = 0; r < kMaxGridRatios; ++r) fine[r] = lo + (hi - lo) * r / (kMaxGridRatios - 1);
  BookConfig fine_book = static_book;
  fine_book.risk.hedge_ratio_grid = {lo, hi, (hi - lo) / (kMaxGridRatios - 1)};
  const std::vector<RatioCurvePoint> fine_curve =
      hi > lo ? evaluate_grid(backend, build_simulation_tables(scenario.model, portfolio, fine_book, shocks), fine, book)
              : std::vector<RatioCurvePoint>{};
  auto refined = [&](auto value_of, const std::vector<RatioCurvePoint>& curve) {
    std::vector<double> x, y;
    for (const RatioCurvePoint& p : curve) x.push_back(p.ratio), y.push_back(value_of(p));
    return parabolic_minimum(x, y, argmin(y));
  };
  const std::vector<RatioCurvePoint>& search = fine_curve.empty() ? opt.curve : fine_curve;
  OptimalRatios& best = opt.optimal;
  best.min_variance =
      closed_form_exact ? closed_form : refined([](const RatioCurvePoint& p) { return p.hedged.stdev; }, search);
  for (std::size_t l = 0; l < book.risk.levels.size(); ++l)
    best.min_es.emplace_back(book.risk.levels[l].key,
                             refined([l](const RatioCurvePoint& p) { return p.hedged.tails[l].es; }, search));

  // Ratio r is called iff C < r D, so r <= C / q keeps P(call) <= p; the variance of the
  // hedged P&L, quadratic in r on the paths without a call, is least there at min(r*, C / q).
  if (ratios.front() <= largest_feasible) best.margin_constrained = std::min(closed_form, largest_feasible);
  return opt;
}

std::vector<BandRow> sweep_bands(PathBackend& backend, const Model& model, const PortfolioSetup& portfolio,
                                 const BookConfig& book) {
  if (book.hedge.instrument == HedgeInstrument::none)
    throw InputError(book.source.string() + ": hedge.instrument: the band sweep needs a hedge instrument, not 'none'");
  std::vector<BandRow> rows;
  for (double band : book.risk.band_grid) {
    BookConfig dynamic_book = book;
    dynamic_book.hedge.mode = HedgeMode::dynamic;
    dynamic_book.hedge.band = band;
    const SimulationTables tables = build_simulation_tables(model, portfolio, dynamic_book);
    const ScenarioResult r = evaluate_scenario("band", backend, tables, dynamic_book);
    rows.push_back({band, r.beta.mean_abs_deviation, r.beta.mean_rebalances, r.beta.mean_costs, r.hedged,
                    r.margin.call_probability, false});
  }
  int pick = -1;
  for (int i = 0; i < static_cast<int>(rows.size()); ++i)
    if (rows[i].mean_abs_deviation <= book.risk.tracking_tolerance &&
        (pick < 0 || rows[i].mean_costs < rows[pick].mean_costs ||
         (rows[i].mean_costs == rows[pick].mean_costs && rows[i].mean_abs_deviation < rows[pick].mean_abs_deviation)))
      pick = i;
  if (pick < 0) {
    pick = 0;
    for (int i = 1; i < static_cast<int>(rows.size()); ++i)
      if (rows[i].mean_abs_deviation < rows[pick].mean_abs_deviation) pick = i;
  }
  rows[pick].recommended = true;
  return rows;
}

PnlHistogram pnl_histogram(const PathBackend& backend) {
  const auto unhedged = backend.sorted_values(OutcomeField::pnl_unhedged);
  const auto hedged = backend.sorted_values(OutcomeField::pnl_hedged);
  const std::uint64_t n = unhedged->size();
  const auto at_quantile = [n](const SortedSample& s, double q) {
    return s.at(std::min<std::uint64_t>(n - 1, static_cast<std::uint64_t>(q * (n - 1))));
  };
  const double lo = std::min(at_quantile(*unhedged, 0.001), at_quantile(*hedged, 0.001));
  double hi = std::max(at_quantile(*unhedged, 0.999), at_quantile(*hedged, 0.999));
  if (!(hi > lo)) hi = lo + 1.0;
  constexpr int kBins = 100;
  PnlHistogram h;
  const double width = (hi - lo) / kBins;
  for (int b = 0; b <= kBins; ++b) h.edges.push_back(lo + b * width);
  auto densities = [&](const std::vector<double>& x) {
    std::vector<double> d(kBins, 0.0);
    for (double v : x) {
      const int b = static_cast<int>(std::floor((v - lo) / width));
      if (b >= 0 && b < kBins) d[b] += 1.0;
    }
    for (double& c : d) c /= static_cast<double>(x.size()) * width;
    return d;
  };
  h.unhedged_density = densities(backend.outcome(OutcomeField::pnl_unhedged));
  h.hedged_density = densities(backend.outcome(OutcomeField::pnl_hedged));
  return h;
}

}  // namespace betahedge

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "engine/backend_select.hpp"

namespace betahedge {
namespace {

/// Until statistics are reduced batch by batch, every path's outcome columns are kept in
/// memory: refuse a path count whose columns cannot fit in this machine's memory before any
/// work, rather than fail (or be killed) after minutes.
void check_outcome_memory(const BookConfig& book, const JobStages& stages, const PathBackend& backend) {
  if (backend.name() != "cpu") return;  // the CUDA backend checks its device's memory itself
  const std::uint64_t columns = stages.optimize ? RatioGridColumns::total(kMaxGridRatios) : kNumOutcomeFields;
  // The columns, plus a copy and a sorted copy of one while statistics are taken.
  const double bytes = static_cast<double>(book.simulation.paths) * static_cast<double>(columns + 2) * sizeof(double);
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (memory > 0.0 && bytes > 0.9 * memory) {
    char text[256];
    std::snprintf(text, sizeof text,
                  "simulation.paths (or --paths): %llu paths keep %.1f GiB of per-path outcomes (%llu columns), more "
                  "than this machine's %.1f GiB of memory; use fewer paths",
                  static_cast<unsigned long long>(book.simulation.paths), bytes / (1ull << 30),
                  static_cast<unsigned long long>(columns), memory / (1ull << 30));
    throw InputError(book.source.string() + ": " + text);
  }
}

}  // namespace

RiskReport run_risk_job(const Model& model, const BookConfig& book, const JobStages& stages,
                        const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  const auto say = [&](const std::string& line) {
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "[%7.2f s] ",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    progress(elapsed + line);
  };
  SelectedBackend selected = select_backend(book.simulation.backend, book.simulation.threads);
  PathBackend& backend = *selected.backend;
  check_outcome_memory(book, stages, backend);
  const int steps = book.simulation.horizon_days * book.simulation.steps_per_day;
  say("backend " + backend.name() + " (" + backend.device_name() + ")" +
      (selected.note.empty() ? "" : "; " + selected.note) + "; " + std::to_string(book.simulation.paths) +
      " paths x " + std::to_string(steps) + " steps");

  RiskReport report;
  const PortfolioSetup portfolio = make_portfolio(model, book);
  report.portfolio = {portfolio.value, portfolio.beta, {}};
  for (const auto& [symbol, units] : book.holdings) report.portfolio.assets.push_back(symbol);

  const std::vector<AppliedScenario> scenarios = book_scenarios(model, book, stages.stresses);
  std::uint64_t simulated_paths = 0;
  for (const AppliedScenario& scenario : scenarios) {
    say("scenario " + scenario.name + ": simulating");
    ScenarioRun run = run_scenario(backend, scenario, portfolio, book);
    simulated_paths += book.simulation.paths;
    if (stages.histogram && report.scenarios.empty()) report.histogram = pnl_histogram(backend);
    if (stages.optimize) {
      say("scenario " + scenario.name + ": optimising the hedge ratio");
      run.optimization = optimize_hedge_ratio(backend, scenario, portfolio, book);
      simulated_paths += book.simulation.paths;
    }
    report.scenarios.push_back(std::move(run));
  }
  if (stages.bands) {
    say("bands: sweeping " + std::to_string(book.risk.band_grid.size()) + " bands");
    report.bands = sweep_bands(backend, model, portfolio, book);
    simulated_paths += book.simulation.paths * book.risk.band_grid.size();
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.run = {book.simulation.paths, steps, book.simulation.horizon_days, book.simulation.seed, backend.name(),
                backend.device_name(), 1, elapsed,
                static_cast<double>(simulated_paths) * steps / std::max(elapsed, 1e-9)};
  say("done");
  return report;
}

}  // namespace betahedge
