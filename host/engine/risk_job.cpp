#include "engine/risk_job.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "betahedge/error.hpp"
#include "calibration/calibrate.hpp"
#include "engine/path_pass.hpp"
#include "io/message_text.hpp"
#include "ranks/ranks.hpp"
#include "stats/euler_contributions.hpp"
#include "stats/leg_reduction.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {
namespace {

ScenarioShocks shocks_of(const AppliedScenario& s) { return {s.shock_log_return, s.funding_multiplier}; }

/// Whether the book's collateral is per account (isolated margin: margin.collateral a list, or
/// auto with several legs) rather than margin.collateral's one amount.
bool isolated_accounts(const BookConfig& book) {
  return !book.margin.leg_collateral.empty() ||
         (book.margin.mode == MarginMode::isolated && book.hedge.legs.size() > 1);
}

/// Each leg's and each margin account's figures of a pass that kept the leg detail.
void leg_figures_from(const LegReduction& reduced, const SimulationTables& tables, const BookConfig& book,
                      const std::vector<std::string>& names, ScenarioRun& run) {
  const std::uint64_t paths = reduced.paths_added();
  const double n = static_cast<double>(paths);
  const HedgeView& h = tables.scalars.hedge;
  for (int l = 0; l < h.num_legs; ++l) {
    const SampleMoments pnl = moments_from_sums(paths, reduced.pnl_sum(l), reduced.pnl_squares(l));
    run.legs.push_back({names[l], pnl.mean, pnl.stdev, reduced.costs_sum(l).value() / n,
                        reduced.funding_sum(l).value() / n});
  }
  for (int a = 0; a < h.num_accounts; ++a) {
    AccountResult account;
    account.name = h.num_accounts == 1 ? "cross" : names[a];
    for (int l = 0; l < h.num_legs; ++l)
      if (h.legs[l].account == a) account.legs.push_back(names[l]);
    account.collateral = h.collateral[a];
    account.call_probability = reduced.calls(a).value() / n;
    account.call_probability_se = std::sqrt(account.call_probability * (1.0 - account.call_probability) / n);
    const TailSample shortfalls = reduced.shortfalls(a);
    for (double p : collateral_probabilities(book.risk))
      account.collateral_for_call_probability.emplace_back(probability_key(p), collateral_for_call_probability(shortfalls, p));
    account.collateral_for_call_limit_share = collateral_for_call_probability(shortfalls, book.risk.max_call_probability / h.num_accounts);
    run.accounts.push_back(std::move(account));
  }
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

/// The optimiser's results from a pass of the grid program over `ratios`.
Optimization optimization_from(const OutcomeReduction& reduced, const std::vector<double>& ratios,
                               const SimulationTables& tables, const BookConfig& book) {
  const int count = static_cast<int>(ratios.size());
  const std::uint64_t paths = reduced.paths_added();
  const double n = static_cast<double>(paths);
  std::vector<RatioCurvePoint> dense(count);
  // One ratio's statistics sort its loss tail: the ratios in parallel.
#pragma omp parallel for schedule(dynamic)
  for (int r = 0; r < count; ++r) {
    SampleMoments losses = moments_from_sums(paths, reduced.ratio_pnl_sum(r), reduced.ratio_pnl_squares(r));
    losses.mean = -losses.mean;
    dense[r] = {ratios[r], estimate_pnl_statistics(losses, reduced.ratio_losses(r), book.risk.levels),
                reduced.ratio_calls(r).value() / n};
  }
  Optimization opt;
  // The book's grid is every other point of the evaluated one.
  for (int r = 0; r < count; r += 2) opt.curve.push_back(dense[r]);

  // The closed form and the margin constraint come from the same pass's no-call columns.
  const long double nl = static_cast<long double>(paths);
  const long double su = reduced.sum(OutcomeSum::u).extended_value(), sg = reduced.unit_hedge_sum().extended_value();
  const long double cov_ug = reduced.unhedged_times_unit_hedge().extended_value() - su * sg / nl;
  const long double var_g = reduced.unit_hedge_squares().extended_value() - sg * sg / nl;
  const double closed_form = var_g > 0.0L ? static_cast<double>(-cov_ug / var_g) : 0.0;
  const double q = collateral_for_call_probability(reduced.unit_shortfalls(), book.risk.max_call_probability);
  const double collateral = tables.scalars.hedge.collateral[0];  // the grid's books have one leg, one account
  const double largest_feasible = q > 0.0 ? collateral / q : std::numeric_limits<double>::infinity();

  // Where no path meets a call up to the grid ratio above r*, the hedge is linear there and the
  // closed form is exact. Otherwise (and for ES always) the least point of the simulated curve,
  // refined by a parabola through it and its neighbours.
  const auto refined = [&](auto value_of) {
    std::vector<double> y(count);
    for (int r = 0; r < count; ++r) y[r] = value_of(dense[r]);
    return parabolic_minimum(ratios, y, argmin(y));
  };
  const int above = static_cast<int>(std::lower_bound(ratios.begin(), ratios.end(), closed_form) - ratios.begin());
  const bool closed_form_exact = above < count && dense[above].call_probability == 0.0 && closed_form >= ratios.front();
  OptimalRatios& best = opt.optimal;
  best.min_variance = closed_form_exact ? closed_form : refined([](const RatioCurvePoint& p) { return p.hedged.stdev; });
  for (std::size_t l = 0; l < book.risk.levels.size(); ++l)
    best.min_es.emplace_back(book.risk.levels[l].key,
                             refined([l](const RatioCurvePoint& p) { return p.hedged.tails[l].es; }));

  // Ratio r is called iff C < r D, so r <= C / q keeps P(call) <= p; the variance of the
  // hedged P&L, falling up to the min-variance ratio, is least there at min(min_variance, C / q)
  // (min_variance, not the closed form: where calls make the closed form inexact, or it lies
  // beyond the grid, the answer must not exceed the reported min-variance ratio).
  if (ratios.front() <= largest_feasible) best.margin_constrained = std::min(best.min_variance, largest_feasible);
  return opt;
}

/// The Euler contributions of a pass that kept them: the assets held (in the model's order), then
/// the hedge leg; positions at t0 for the marginal ES.
ScenarioContributions contributions_from(const OutcomeReduction& reduced, const SimulationTables& tables,
                                         const Model& model, const std::vector<std::string>& leg_names) {
  const ReductionPlan& plan = reduced.plan();
  const int assets = plan.assets;
  const int components = assets + plan.hedge_components();
  std::vector<TailSample> component_losses;
  for (int j = 0; j < components; ++j) component_losses.push_back(reduced.component_losses(j));
  const EulerContributions euler = euler_contributions(reduced.paths_added(), reduced.component_rows(),
                                                       component_losses, *plan.contribution_level);
  ScenarioContributions out;
  out.level = euler.level;
  const SimulationView v = tables.view(tables.data.data());
  const auto add = [&](const std::string& name, int j, double position) {
    ComponentContribution c{name, euler.es[j], euler.var[j], euler.standalone_es[j], position, std::nullopt};
    if (position != 0.0) c.marginal_es = c.es / position;
    out.components.push_back(c);
  };
  for (int i = 0; i < assets; ++i)
    if (v.portfolio.holdings[i] != 0.0) add(model.assets[i], i, v.portfolio.holdings[i] * v.market.spot[i]);
  if (plan.hedge_legs < 2) {
    add("hedge", assets, start_hedge_notional(tables));
  } else {
    // Each leg at its signed notional at t0; the top-ups' share has no position of its own.
    const std::vector<double> notionals = start_leg_notionals(tables);
    for (int l = 0; l < plan.hedge_legs; ++l) add(leg_names[l], assets + l, notionals[l]);
    if (plan.margin_actions) add("margin actions", assets + plan.hedge_legs, 0.0);
  }
  return out;
}

/// printf into a std::string (the warnings' lines).
template <class... Args>
std::string formatted(const char* format, Args... args) {
  const int size = std::snprintf(nullptr, 0, format, args...);
  std::string text(static_cast<std::size_t>(std::max(size, 0)), '\0');
  std::snprintf(text.data(), text.size() + 1, format, args...);
  return text;
}

/// The hedge vector's figures dominated by an edge case: a min-ES vector with a leg at its range's
/// edge, a certificate that did not close, collinear legs, no multiple of the min-variance vector
/// within the call limit.
std::vector<std::string> hedge_vector_warnings(const std::string& scenario, const HedgeVectorOptimization& v,
                                               double max_call_probability) {
  std::vector<std::string> out;
  for (const auto& [level, legs] : v.min_es_on_edge) {
    const std::string which = comma_separated(legs);
    out.push_back(formatted("scenario %s: the min-ES hedge vector at %s has %s of its range (risk.hedge_ratio_grid, "
                            "widened to the book's own ratios): the least ES may lie beyond",
                            scenario.c_str(), level.c_str(), which.c_str()));
  }
  for (const std::string& level : v.min_es_unconverged)
    out.push_back(formatted("scenario %s: the min-ES hedge vector at %s is not proven optimal to the solver's "
                            "tolerance (its ES is an upper bound on the least)",
                            scenario.c_str(), level.c_str()));
  if (v.system == HedgeSystem::singular)
    out.push_back(formatted("scenario %s: the legs' P&L are collinear (condition number %.3g): the variance has no "
                            "one minimising vector; min_variance is the smallest one, with no standard errors, and "
                            "no margin-constrained vector is given",
                            scenario.c_str(), v.condition_number));
  else if (v.system == HedgeSystem::ill_conditioned)
    out.push_back(formatted("scenario %s: the legs' P&L are nearly collinear (condition number %.3g): the "
                            "min-variance vector's components trade off against each other; read their standard errors",
                            scenario.c_str(), v.condition_number));
  if (v.call_probability_at_min_variance && *v.call_probability_at_min_variance > max_call_probability)
    out.push_back(formatted("scenario %s: with the book's collateral the min-variance hedge vector would meet a margin "
                            "call on %.2f%% of paths (the vectors' figures and the ES surface leave calls out); the "
                            "margin-constrained vector, %.3g of it, keeps risk.max_call_probability",
                            scenario.c_str(), 100.0 * *v.call_probability_at_min_variance, v.margin_constrained_scale));
  for (std::size_t l = 0; l < v.legs.size(); ++l)
    if (v.min_variance[l] < v.lower[l] || v.min_variance[l] > v.upper[l])
      out.push_back(formatted("scenario %s: the min-variance hedge vector's %s ratio %.4g lies outside the range "
                              "searched for the min-ES vector (%g to %g)",
                              scenario.c_str(), v.legs[l].c_str(), v.min_variance[l], v.lower[l], v.upper[l]));
  if (v.margin_constrained && v.margin_constrained_scale <= 0.0)
    out.push_back(formatted("scenario %s: no multiple of the min-variance hedge vector keeps the call probability "
                            "within risk.max_call_probability with this collateral",
                            scenario.c_str()));
  return out;
}


/// An amount of money with two decimals and thousands separators: 1,234,567.89; "NaN" or
/// "infinite" (signed) for a figure that overflowed, which the output check then reports.
std::string money(double amount) {
  if (std::isnan(amount)) return "NaN";
  if (std::isinf(amount)) return amount < 0.0 ? "-infinite" : "infinite";
  const std::string digits = formatted("%.2f", std::abs(amount));
  const std::size_t point = digits.find('.');
  std::string out;
  for (std::size_t i = 0; i < point; ++i) {
    if (i > 0 && (point - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (amount < 0.0 ? "-" : "") + out + digits.substr(point);
}

/// The warnings of one scenario's optima: each on an edge of the ratio grid (the optimiser cannot
/// see past it), and a margin constraint that no ratio of the grid meets.
std::vector<std::string> grid_edge_warnings(const std::string& scenario, const OptimalRatios& optimal,
                                            const BookConfig& book) {
  const std::vector<double> grid = hedge_ratio_grid(book.risk.hedge_ratio_grid);
  std::vector<std::string> warnings;
  const auto check = [&](const std::string& figure, double ratio) {
    const char* edge = ratio <= grid.front() ? "lower" : ratio >= grid.back() ? "upper" : nullptr;
    if (edge)
      warnings.push_back(formatted("scenario %s: the %s ratio %g is the %s edge of risk.hedge_ratio_grid (%g to %g); "
                                   "the optimum may lie beyond it: widen the grid",
                                   scenario.c_str(), figure.c_str(), ratio, edge, grid.front(), grid.back()));
  };
  check("min-variance", optimal.min_variance);
  for (const auto& [level, ratio] : optimal.min_es) check("min-ES(" + level + ")", ratio);
  if (optimal.margin_constrained)
    check("margin-constrained", *optimal.margin_constrained);
  else
    warnings.push_back(formatted("scenario %s: no ratio of risk.hedge_ratio_grid (from %g) keeps the call probability "
                                 "<= %g; margin_constrained is null",
                                 scenario.c_str(), grid.front(), book.risk.max_call_probability));
  return warnings;
}

PnlHistogram histogram_from(const OutcomeReduction& reduced) {
  const HistogramBins& bins = *reduced.plan().histogram;
  PnlHistogram h;
  for (int b = 0; b <= bins.count; ++b) h.edges.push_back(bins.lo + b * bins.width);
  const double per_path = 1.0 / (static_cast<double>(reduced.paths_added()) * bins.width);
  for (std::uint64_t c : reduced.unhedged_counts()) h.unhedged_density.push_back(static_cast<double>(c) * per_path);
  for (std::uint64_t c : reduced.hedged_counts()) h.hedged_density.push_back(static_cast<double>(c) * per_path);
  return h;
}

}  // namespace

void add_instrument_terms(const HedgeLegConfig& leg, nlohmann::json& terms,
                          const std::function<nlohmann::json(const std::vector<double>&)>& per_regime) {
  terms["fee_bps"] = leg.fee_bps;
  terms["slippage_bps"] = leg.slippage_bps;
  if (leg.instrument == HedgeInstrument::perpetual) terms["funding_rate_8h"] = per_regime(leg.funding_rate_8h);
  if (leg.instrument == HedgeInstrument::future)
    terms["future"] = {{"expiry_days", leg.future.expiry_days},
                       {"annual_basis", per_regime(leg.future.annual_basis)},
                       {"roll_days_before", leg.future.roll_days_before},
                       {"roll_cost_bps", leg.future.roll_cost_bps}};
  if (leg.instrument == HedgeInstrument::option)
    terms["option"] = {{"strike", leg.option.strike},
                       {"tenor_days", leg.option.tenor_days},
                       {"implied_vol_premium", leg.option.implied_vol_premium},
                       {"rate", leg.option.rate}};
}

std::vector<AppliedScenario> book_scenarios(const Model& model, const BookConfig& book, bool with_stresses) {
  std::vector<AppliedScenario> scenarios{base_scenario(model)};
  if (with_stresses)
    for (std::size_t i = 0; i < book.stress.size(); ++i)
      if (!book.stress[i].replay) scenarios.push_back(apply_stress(model, book, static_cast<int>(i)));
  return scenarios;
}

JobInputs prepare_job(const Model& model, const BookConfig& book, const JobStages& stages, const PriceTable* prices) {
  if (!book.hedge.hedged() && (stages.optimize || stages.bands))
    throw InputError(book_location(book, "hedge.instrument") + ": the " +
                     (stages.optimize ? "optimiser" : "band sweep") + " needs a hedge instrument, not 'none'");
  JobInputs inputs{make_portfolio(model, book), book_scenarios(model, book, stages.stresses)};
  // The band sweep trades the book's legs dynamically: what that needs (an allocation that can
  // split the trade) is checked here, before any work, not when the sweep starts.
  if (stages.bands) {
    BookConfig dynamic_book = book;
    dynamic_book.hedge.mode = HedgeMode::dynamic;
    build_simulation_tables(model, inputs.portfolio, dynamic_book);
  }
  // The tables check what depends on the regimes (per-regime counts, the option's ratio): built
  // once per scenario here, before any work, and dropped.
  for (const AppliedScenario& scenario : inputs.scenarios)
    build_simulation_tables(scenario.model, inputs.portfolio, book, shocks_of(scenario));
  if (stages.stresses)
    for (std::size_t i = 0; i < book.stress.size(); ++i) {
      const StressScenario& stress = book.stress[i];
      if (!stress.replay) continue;
      if (!prices)
        throw InputError(book_location(book, "stress[" + std::to_string(i) + "].replay") + ": stress '" + stress.name +
                         "' replays history and needs the prices file: pass --prices FILE (run: calibrate.prices "
                         "in run.yaml)");
      inputs.replays.push_back(prepare_replay(model, book, static_cast<int>(i), *prices));
    }
  return inputs;
}

namespace {

/// collateral: auto under isolated margin of A legs: each account the least collateral with which
/// at most floor(p / A x paths) base paths call it, p = risk.max_call_probability (so the book's
/// call probability, a union of the accounts' calls, is at most p), or what opening its leg takes
/// when that is more. The shadow accounts never meet a call: one pass sizes every account.
CollateralChoice isolated_collateral(PathBackend& backend, const Model& model, const JobInputs& inputs,
                                     const BookConfig& book) {
  BookConfig sizing = book;
  sizing.risk.horizons_days.clear();
  const ScenarioRun base =
      run_scenario(backend, inputs.scenarios.front(), inputs.portfolio, sizing, {.contributions = false});
  // What each account's opening takes: the collateral the tables post when none is given.
  const HedgeView opening = build_simulation_tables(model, inputs.portfolio, book).scalars.hedge;
  const double p = book.risk.max_call_probability / static_cast<double>(base.accounts.size());
  CollateralChoice choice;
  for (std::size_t a = 0; a < base.accounts.size(); ++a) {
    const double for_calls = base.accounts[a].collateral_for_call_limit_share;
    choice.accounts.push_back(std::max(for_calls, opening.collateral[a]));
    choice.amount += choice.accounts.back();
  }
  choice.rule = formatted("auto: each of the %d accounts (isolated margin) the least collateral with its call "
                          "probability <= %g on the base scenario (the book's <= %g), or its opening margin when more",
                          static_cast<int>(base.accounts.size()), p, book.risk.max_call_probability);
  return choice;
}

}  // namespace

CollateralChoice choose_collateral(PathBackend& backend, const Model& model, const JobInputs& inputs,
                                   const BookConfig& book) {
  if (book.margin.collateral) return {*book.margin.collateral, "fixed"};
  if (!book.hedge.hedged()) return {0.0, "auto: no hedge instrument, no collateral"};
  if (isolated_accounts(book)) {
    if (!book.margin.leg_collateral.empty()) {
      double total = 0.0;
      for (double c : book.margin.leg_collateral) total += c;
      return {total, "fixed", book.margin.leg_collateral};
    }
    return isolated_collateral(backend, model, inputs, book);
  }
  // The shadow account never meets a call, so the collateral this pass starts with does not
  // change the shortfalls it reports.
  BookConfig sizing = book;
  sizing.risk.horizons_days.clear();  // sized at the simulated horizon only
  const ScenarioRun base =
      run_scenario(backend, inputs.scenarios.front(), inputs.portfolio, sizing, {.contributions = false});
  const double for_calls = base.result.margin.collateral_for_call_probability.front().second;
  const double opening = opening_margin(model, inputs.portfolio, book);
  if (opening > for_calls)
    return {opening, formatted("auto: the initial margin of the t0 hedge, above the %s that call probability <= %g "
                               "on the base scenario needs",
                               money(for_calls).c_str(), book.risk.max_call_probability)};
  return {for_calls, formatted("auto: the least collateral with call probability <= %g on the base scenario",
                               book.risk.max_call_probability)};
}

std::vector<std::string> job_warnings(const RiskReport& report, const BookConfig& book, const Model& model) {
  std::vector<std::string> warnings;
  const bool liquidate = book.margin.on_call == MarginAction::liquidate;
  // A --horizon-days shorter than a listed horizon drops it (report_horizons): say so.
  for (int days : book.risk.horizons_days)
    if (days > book.simulation.horizon_days)
      warnings.push_back(formatted("risk.horizons_days: the %d-day horizon is beyond the %d days simulated "
                                   "(--horizon-days) and is not reported",
                                   days, book.simulation.horizon_days));
  if (report.collateral.rule == "fixed" && book.hedge.hedged()) {
    const double opening = opening_margin(model, make_portfolio(model, book), book);
    if (report.collateral.amount < opening)
      warnings.push_back(formatted("margin.collateral %s is below what opening the t0 hedge takes (%s: %s); an "
                                   "exchange would not open it, and the figures assume it did",
                                   money(report.collateral.amount).c_str(), money(opening).c_str(),
                                   book.hedge.legs.front().instrument == HedgeInstrument::option
                                       ? "the premium and costs"
                                       : "the initial margin"));
  }
  for (const ScenarioRun& run : report.scenarios) {
    const ScenarioResult& s = run.result;
    // Effectiveness measures variance only: a hedge can cut the spread of a scenario's P&L and
    // still add to its tail loss (a shock against the hedge, funding, liquidations).
    std::size_t top = 0;  // the highest level
    for (std::size_t l = 1; l < s.hedged.tails.size(); ++l)
      if (s.hedged.tails[l].level.value > s.hedged.tails[top].level.value) top = l;
    if (!s.hedged.tails.empty() && s.hedged.tails[top].es > s.unhedged.tails[top].es)
      warnings.push_back(formatted("scenario %s: the hedge raises the %s ES (hedged %s, unhedged %s) although its "
                                   "hedge effectiveness, which measures variance only, is %.2f",
                                   s.name.c_str(), s.hedged.tails[top].level.key.c_str(),
                                   money(s.hedged.tails[top].es).c_str(), money(s.unhedged.tails[top].es).c_str(),
                                   s.hedge_effectiveness));
    // Calls at the horizon's last step change the figures by their trading costs only: a
    // liquidation or top-up at the mark the P&L is read at. (At a one-step horizon every call is
    // such a call.)
    if (s.margin.early_call_probability > kWarnCallProbability)
      warnings.push_back(formatted("scenario %s: %.1f%% of paths met a margin call (collateral %s, on_call: %s); the "
                                   "hedged figures are dominated by %s",
                                   s.name.c_str(), 100.0 * s.margin.call_probability, money(s.margin.collateral).c_str(),
                                   liquidate ? "liquidate" : "top_up", liquidate ? "liquidations" : "top-ups"));
    if (run.optimization)
      for (std::string& w : grid_edge_warnings(s.name, run.optimization->optimal, book)) warnings.push_back(std::move(w));
    if (run.vector_optimization)
      for (std::string& w : hedge_vector_warnings(s.name, *run.vector_optimization, book.risk.max_call_probability)) warnings.push_back(std::move(w));
  }
  if (!report.bands.empty() && band_choice(report.bands) != BandChoice::rule) {
    const auto best = std::find_if(report.bands.begin(), report.bands.end(), [](const BandRow& b) { return b.recommended; });
    // A book without risk.target_beta_grid sweeps bands at its own target: named as such.
    const std::string grid = book.risk.target_beta_grid.empty() ? "no band of risk.band_grid"
                                                                 : "no pair of risk.target_beta_grid x risk.band_grid";
    if (band_choice(report.bands) == BandChoice::least_deviation)
      warnings.push_back(formatted("%s keeps the mean |beta - target| within risk.tracking_tolerance %g; the "
                                   "recommended pair (target_beta %g, band %g) is the one that tracks best (%.4g)",
                                   grid.c_str(), book.risk.tracking_tolerance, best->target_beta, best->band,
                                   best->mean_abs_deviation));
    else
      warnings.push_back(formatted("%s within risk.tracking_tolerance %g keeps the call probability <= "
                                   "risk.max_call_probability %g (collateral %s); the recommended pair (target_beta "
                                   "%g, band %g) is the least called of them (%.4g)",
                                   grid.c_str(), book.risk.tracking_tolerance, book.risk.max_call_probability,
                                   money(report.collateral.amount).c_str(), best->target_beta, best->band,
                                   best->call_probability));
  }
  if (!report.bands.empty() && band_choice(report.bands) == BandChoice::rule) {
    // The rule's choice on an edge of a grid it swept: past the edge may be better still. (When
    // no pair qualified, the fallback's warning says more.)
    const auto best = std::find_if(report.bands.begin(), report.bands.end(), [](const BandRow& b) { return b.recommended; });
    const auto on_edge = [](const std::vector<double>& grid, double x) {
      return grid.size() > 1 && (x == *std::min_element(grid.begin(), grid.end()) ||
                                 x == *std::max_element(grid.begin(), grid.end()));
    };
    if (best != report.bands.end() && on_edge(book.risk.target_beta_grid, best->target_beta))
      warnings.push_back(formatted("the recommended target beta %g is an edge of risk.target_beta_grid; the best "
                                   "target may lie beyond it: widen the grid",
                                   best->target_beta));
    if (best != report.bands.end() && on_edge(book.risk.band_grid, best->band))
      warnings.push_back(formatted("the recommended band %g is an edge of risk.band_grid; the best band may lie "
                                   "beyond it: widen the grid",
                                   best->band));
  }
  // A tail loss beyond twice what the book holds: extreme draws (a Student-t regime near its
  // dof floor), not a risk the committee can read.
  double gross = 0.0;
  for (const HoldingSummary& h : report.portfolio.holdings) gross += std::abs(h.value);
  for (const ScenarioRun& run : report.scenarios) {
    const ScenarioResult& s = run.result;
    for (const PnlStatistics* side : {&s.unhedged, &s.hedged}) {
      if (side->tails.empty() || !(gross > 0.0)) continue;
      const TailRisk& worst = *std::max_element(side->tails.begin(), side->tails.end(),
                                                [](const TailRisk& a, const TailRisk& b) { return a.es < b.es; });
      if (worst.es > 2.0 * gross) {
        warnings.push_back(formatted("scenario %s: the %s %s ES %s is more than twice the book's gross value %s: the "
                                     "tail is dominated by extreme draws (see the model's Student-t dof)",
                                     s.name.c_str(), side == &s.unhedged ? "unhedged" : "hedged",
                                     worst.level.key.c_str(), money(worst.es).c_str(), money(gross).c_str()));
        break;
      }
    }
  }
  for (std::string& w : short_regime_warnings(model)) warnings.push_back(std::move(w));
  for (std::string& w : heavy_tail_warnings(model)) warnings.push_back(std::move(w));
  return warnings;
}

std::vector<std::string> hedge_leg_names(const Model& model, const BookConfig& book) {
  std::vector<std::string> names;
  const std::string reference = model.assets[hedge_benchmark_index(model, book)];
  for (const HedgeLegConfig& leg : book.hedge.legs) names.push_back(leg_name(leg, reference));
  return names;
}

void describe_book(const Model& model, const BookConfig& book, const PortfolioSetup& portfolio, RiskReport& report) {
  PortfolioSummary& p = report.portfolio;
  p.value = portfolio.value;
  p.beta = portfolio.beta;
  p.beta_estimate = book.hedge.beta_estimate;
  const int benchmark = hedge_benchmark_index(model, book);
  const std::vector<double> betas =
      portfolio.asset_beta.empty() ? model_asset_betas(model, benchmark) : portfolio.asset_beta;
  for (const auto& [symbol, units] : resolve_holdings(model, book).holdings) {
    p.assets.push_back(symbol);
    const int i = model.asset_index(symbol);
    const double value = units * model.spot[i];
    p.holdings.push_back({symbol, units, model.spot[i], value, portfolio.value != 0.0 ? value / portfolio.value : 0.0,
                          i < static_cast<int>(betas.size()) ? betas[i] : 0.0});
  }

  const HedgeConfig& programme = book.hedge;
  // Per-regime terms by regime name (one value given = every regime).
  const auto by_regime = [&](const std::vector<double>& values) {
    nlohmann::json out = nlohmann::json::object();
    for (int k = 0; k < model.num_regimes() && !values.empty(); ++k)
      out[model.regimes[k].name] = values.size() == 1 ? values[0] : values[static_cast<std::size_t>(k)];
    return out;
  };
  const bool several = programme.legs.size() > 1;
  nlohmann::json terms = {{"instrument", !programme.hedged() ? "none" : several ? "legs" : instrument_word(programme.legs.front())}};
  if (programme.hedged()) {
    terms["benchmark"] = model.assets[benchmark];
    terms["mode"] = programme.mode == HedgeMode::dynamic ? "dynamic" : "static";
    if (programme.mode == HedgeMode::dynamic) {
      terms["target_beta"] = programme.target_beta;
      terms["band"] = programme.band;
      terms["rebalance_every_days"] = programme.rebalance_every_days;
      if (several) terms["allocation"] = programme.allocation == HedgeAllocation::weights ? "weights" : "min_variance";
    } else if (!several) {
      terms["ratio"] = programme.legs.front().ratio;
    }
    terms["beta_estimate"] = programme.beta_estimate;
    if (!several) add_instrument_terms(programme.legs.front(), terms, by_regime);
    terms["margin"] = {{"initial_rate", book.margin.initial_rate},
                       {"maintenance_rate", book.margin.maintenance_rate},
                       {"on_call", book.margin.on_call == MarginAction::top_up ? "top_up" : "liquidate"}};
    if (several) {
      const bool isolated = book.margin.mode == MarginMode::isolated;
      terms["margin"]["mode"] = isolated ? "isolated" : "cross";
      report.leg_names = hedge_leg_names(model, book);
      // A dynamic book's weights as the tables split its trades (min_variance: from the model).
      const SimulationTables tables = build_simulation_tables(model, portfolio, book);
      nlohmann::json legs = nlohmann::json::array();
      for (std::size_t l = 0; l < programme.legs.size(); ++l) {
        const HedgeLegConfig& leg = programme.legs[l];
        nlohmann::json t = {{"name", report.leg_names[l]},
                            {"instrument", instrument_word(leg)},
                            {"benchmark", model.assets[leg_underlying_index(model, book, leg)]}};
        if (programme.mode == HedgeMode::dynamic)
          t["weight"] = tables.scalars.hedge.legs[l].weight;
        else
          t["ratio"] = leg.ratio;
        add_instrument_terms(leg, t, by_regime);
        t["account"] = isolated ? report.leg_names[l] : "cross";
        legs.push_back(std::move(t));
      }
      terms["legs"] = std::move(legs);
    }
  }
  report.hedge_terms = std::move(terms);
}

RiskLevel contribution_level(const BookConfig& book) {
  return *std::max_element(book.risk.levels.begin(), book.risk.levels.end(),
                           [](const RiskLevel& a, const RiskLevel& b) { return a.value < b.value; });
}

std::vector<double> optimiser_ratio_grid(const BookConfig& book) {
  HedgeRatioGrid grid = book.risk.hedge_ratio_grid;
  grid.step /= 2.0;
  return hedge_ratio_grid(grid);
}

ScenarioRun run_scenario(PathBackend& backend, const AppliedScenario& scenario, const PortfolioSetup& portfolio,
                         const BookConfig& book, const ScenarioExtras& extras, std::optional<PnlHistogram>* histogram) {
  if (extras.optimize && !book.hedge.hedged())
    throw InputError(book_location(book, "hedge.instrument") + ": the optimiser needs a hedge instrument, not 'none'");
  // The ratio grid varies one leg's ratio: a hedge of several legs runs without it (job_warnings
  // says so), and its optimiser is a vector of ratios, not this grid.
  const bool optimize = extras.optimize && book.hedge.legs.size() == 1;
  const bool optimize_vector = extras.optimize && book.hedge.legs.size() > 1;
  BookConfig pass_book = book;
  if (optimize) pass_book.risk.hedge_ratio_grid.step /= 2.0;  // the grid with its midpoints
  SimulationTables tables = build_simulation_tables(scenario.model, portfolio, pass_book, shocks_of(scenario));
  tables.scalars.asset_pnl.record = extras.contributions;
  // A hedge of several legs reports each leg and each account: the pass keeps their columns.
  const bool leg_figures = tables.scalars.hedge.num_legs > 1;
  tables.scalars.leg_detail.record = leg_figures;
  ReductionPlan plan = scenario_plan(book);
  const PathProgram program = optimize          ? PathProgram::outcomes_with_ratio_grid
                              : optimize_vector ? PathProgram::outcomes_with_unit_legs
                                                : PathProgram::outcomes;
  if (optimize) plan.grid_count = tables.scalars.hedge.num_grid_ratios;
  if (extras.contributions) {
    plan.contribution_level = contribution_level(book);
    plan.asset_pnl_column = asset_pnl_first_column(program, tables);
    plan.assets = tables.scalars.market.num_assets;
    if (leg_figures) {
      plan.hedge_legs = tables.scalars.hedge.num_legs;
      plan.leg_detail_column = leg_detail_first_column(program, tables);
      plan.margin_actions = tables.scalars.hedge.top_up;
    }
  }
  if (extras.histogram) ranks::agree_on_errors([&] { plan.histogram = histogram_bins(backend, tables, plan.paths); });
  // The intermediate horizons' outcome blocks, each reduced as a scenario of its own.
  std::vector<ReductionPlan> plans{plan};
  const int horizon_count = tables.scalars.horizons.count;
  for (int k = 0; k < horizon_count; ++k) {
    ReductionPlan at_horizon = scenario_plan(book);
    at_horizon.first_column = horizon_first_column(program, tables) + kNumOutcomeFields * k;
    at_horizon.steps = report_horizons(book)[static_cast<std::size_t>(k)] * book.simulation.steps_per_day;
    at_horizon.collateral_shortfalls = false;  // collateral is sized at the simulated horizon
    plans.push_back(at_horizon);
  }
  std::vector<BatchReducer*> reducers;
  std::optional<ReducerOf<LegReduction>> legs;
  if (leg_figures) {
    const LegReductionPlan leg_plan{plan.paths, tables.scalars.hedge.num_legs, tables.scalars.hedge.num_accounts,
                                    leg_detail_first_column(program, tables), plan.max_call_probability};
    legs.emplace(LegReduction(leg_plan), [](LegReduction& r, const OutcomeBatch& b) { r.add(b); },
                 [leg_plan](const std::string& bytes) { return LegReduction::decode(leg_plan, bytes); });
    reducers.push_back(&*legs);
  }
  std::optional<HedgeVectorReducers> unit_legs;
  if (optimize_vector) {
    unit_legs.emplace(tables);
    for (BatchReducer* r : unit_legs->reducers()) reducers.push_back(r);
  }
  const std::vector<OutcomeReduction> reductions =
      run_path_pass(backend, tables, program, plans, book.simulation.batch_size, reducers);
  const OutcomeReduction& reduced = reductions.front();

  ScenarioRun run;
  run.result = scenario_result(scenario.name, reduced, tables, book);
  // The pass's collateral shortfall is account 0's: with several accounts no one amount is the
  // book's, and each account's is in run.accounts.
  if (tables.scalars.hedge.num_accounts > 1) run.result.margin.collateral_for_call_probability.clear();
  const std::vector<int> days = report_horizons(book);
  for (int k = 0; k < horizon_count; ++k)
    run.horizons.push_back({days[k], scenario_result(scenario.name, reductions[1 + k], tables, book)});
  run.horizons.push_back({days.back(), run.result});
  run.applied = applied_to_json(scenario);
  if (optimize) run.optimization = optimization_from(reduced, optimiser_ratio_grid(book), tables, book);
  if (optimize_vector)
    run.vector_optimization =
        optimize_hedge_vector(backend, tables, *unit_legs, book, hedge_leg_names(scenario.model, book));
  if (extras.histogram && histogram) *histogram = histogram_from(reduced);
  if (extras.contributions)
    run.contributions = contributions_from(reduced, tables, scenario.model, hedge_leg_names(scenario.model, book));
  if (leg_figures) {
    leg_figures_from(legs->value(), tables, book, hedge_leg_names(scenario.model, book), run);
    run.result.peak_tail_values += legs->value().peak_tail_values();
  }
  return run;
}

std::vector<double> band_targets(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book) {
  if (!book.risk.target_beta_grid.empty()) return book.risk.target_beta_grid;
  return {build_simulation_tables(model, portfolio, book).scalars.hedge.target_beta};
}

std::vector<BandRow> sweep_bands(PathBackend& backend, const Model& model, const PortfolioSetup& portfolio,
                                 const BookConfig& book) {
  if (!book.hedge.hedged())
    throw InputError(book_location(book, "hedge.instrument") + ": the band sweep needs a hedge instrument, not 'none'");
  // Every (target, band) pair, target-major; up to kMaxBandsPerPass pairs ride one pass over the
  // base market: the book's hedge made dynamic at each pair, on the same paths
  // (simulate_path_with_band_sweep).
  struct Pair {
    double target, band;
  };
  std::vector<Pair> pairs;
  for (double target : band_targets(model, portfolio, book))
    for (double band : book.risk.band_grid) pairs.push_back({target, band});
  BookConfig dynamic_book = book;
  dynamic_book.hedge.mode = HedgeMode::dynamic;
  // One collateral for every pair: the book's, or, unset, what the book made dynamic posts at its
  // own target (a pair at another target run on its own would post its own initial margin).
  if (!dynamic_book.margin.collateral && dynamic_book.margin.leg_collateral.empty()) {
    const HedgeView& posted = build_simulation_tables(model, portfolio, dynamic_book).scalars.hedge;
    if (isolated_accounts(book))
      dynamic_book.margin.leg_collateral.assign(posted.collateral, posted.collateral + posted.num_accounts);
    else
      dynamic_book.margin.collateral = posted.collateral[0];
  }
  std::vector<BandRow> rows;
  for (std::size_t first = 0; first < pairs.size(); first += kMaxBandsPerPass) {
    const std::size_t last = std::min(pairs.size(), first + kMaxBandsPerPass);
    dynamic_book.risk.band_grid.clear();
    for (std::size_t i = first; i < last; ++i) dynamic_book.risk.band_grid.push_back(pairs[i].band);
    SimulationTables tables = build_simulation_tables(model, portfolio, dynamic_book);
    // The tables ride every band at the book's own target; each pair's target replaces it.
    for (std::size_t i = first; i < last; ++i) tables.data[tables.offsets.sweep_targets + (i - first)] = pairs[i].target;
    std::vector<ReductionPlan> plans(last - first, scenario_plan(dynamic_book));
    for (std::size_t b = 0; b < plans.size(); ++b) {
      plans[b].first_column = kNumOutcomeFields * static_cast<int>(1 + b);
      plans[b].collateral_shortfalls = false;  // the pairs' books keep no shadow account
    }
    const std::vector<OutcomeReduction> reduced =
        run_path_pass(backend, tables, PathProgram::outcomes_with_band_sweep, plans, book.simulation.batch_size);
    for (std::size_t b = 0; b < plans.size(); ++b) {
      const ScenarioResult r = scenario_result("band", reduced[b], tables, dynamic_book);
      BandRow row;
      row.target_beta = pairs[first + b].target;
      row.band = pairs[first + b].band;
      row.mean_abs_deviation = r.beta.mean_abs_deviation;
      row.mean_rebalances = r.beta.mean_rebalances;
      row.mean_costs = r.beta.mean_costs;
      row.hedged = r.hedged;
      row.call_probability = r.margin.call_probability;
      row.within_tolerance = r.beta.mean_abs_deviation <= book.risk.tracking_tolerance;
      row.within_call_limit = r.margin.call_probability <= book.risk.max_call_probability;
      rows.push_back(row);
    }
  }
  const int level = highest_level(book.risk);
  mark_band_frontier(rows, level);
  recommend_band_pair(rows, level);
  return rows;
}

int highest_level(const RiskConfig& risk) {
  int top = 0;
  for (int l = 1; l < static_cast<int>(risk.levels.size()); ++l)
    if (risk.levels[l].value > risk.levels[top].value) top = l;
  return top;
}

void mark_band_frontier(std::vector<BandRow>& rows, int level) {
  const auto es = [level](const BandRow& r) { return r.hedged.tails[level].es; };
  for (BandRow& row : rows) {
    row.on_frontier = std::none_of(rows.begin(), rows.end(), [&](const BandRow& other) {
      return es(other) <= es(row) && other.mean_costs <= row.mean_costs &&
             (es(other) < es(row) || other.mean_costs < row.mean_costs);
    });
  }
}

BandChoice band_choice(const std::vector<BandRow>& rows) {
  if (std::any_of(rows.begin(), rows.end(), [](const BandRow& r) { return r.within_tolerance && r.within_call_limit; }))
    return BandChoice::rule;
  if (std::any_of(rows.begin(), rows.end(), [](const BandRow& r) { return r.within_tolerance; }))
    return BandChoice::least_calls;
  return BandChoice::least_deviation;
}

BandChoice recommend_band_pair(std::vector<BandRow>& rows, int level) {
  const auto es = [level](const BandRow& r) { return r.hedged.tails[level].es; };
  const BandChoice choice = band_choice(rows);
  // The first of the rows that `eligible` admits which no later one beats on `better`.
  const auto pick = [&rows](auto eligible, auto better) {
    int best = -1;
    for (int i = 0; i < static_cast<int>(rows.size()); ++i)
      if (eligible(rows[i]) && (best < 0 || better(rows[i], rows[best]))) best = i;
    return best;
  };
  int chosen = -1;
  if (choice == BandChoice::rule) {
    const auto qualifies = [](const BandRow& r) { return r.within_tolerance && r.within_call_limit; };
    double least_es = std::numeric_limits<double>::infinity();
    for (const BandRow& r : rows)
      if (qualifies(r)) least_es = std::min(least_es, es(r));
    // A desk pays for risk it does not need to carry: any qualifying pair whose ES is within
    // kBandEsSlack of the least is as good a hedge as the sweep can tell apart at a glance, and
    // the cheapest of them is the one to run.
    const double ceiling = least_es + kBandEsSlack * std::abs(least_es);
    chosen = pick([&](const BandRow& r) { return qualifies(r) && es(r) <= ceiling; },
                  [&](const BandRow& a, const BandRow& b) {
                    if (a.mean_costs != b.mean_costs) return a.mean_costs < b.mean_costs;
                    if (es(a) != es(b)) return es(a) < es(b);
                    return a.mean_abs_deviation < b.mean_abs_deviation;
                  });
  } else if (choice == BandChoice::least_calls) {
    chosen = pick([](const BandRow& r) { return r.within_tolerance; },
                  [&](const BandRow& a, const BandRow& b) {
                    if (a.call_probability != b.call_probability) return a.call_probability < b.call_probability;
                    return es(a) < es(b);
                  });
  } else {
    chosen = pick([](const BandRow&) { return true; },
                  [](const BandRow& a, const BandRow& b) { return a.mean_abs_deviation < b.mean_abs_deviation; });
  }
  for (BandRow& r : rows) r.recommended = false;
  rows[chosen].recommended = true;
  return choice;
}

std::string band_rule(const RiskConfig& risk) {
  const std::string level = risk.levels[highest_level(risk)].key;
  return formatted("a pair qualifies when its mean |beta - target| <= risk.tracking_tolerance (%g) and its call "
                   "probability <= risk.max_call_probability (%g); recommended: the least mean cost among qualifying "
                   "pairs whose hedged ES(%s) is within %g%% of the least qualifying ES(%s). If none qualifies: of "
                   "the pairs within the tolerance, the least called; if none is within it, the pair with the least "
                   "mean |beta - target|",
                   risk.tracking_tolerance, risk.max_call_probability, level.c_str(), 100.0 * kBandEsSlack,
                   level.c_str());
}

HistogramBins histogram_bins(PathBackend& backend, const SimulationTables& tables, std::uint64_t paths) {
  constexpr std::uint64_t kPilotPaths = 65536;
  const std::uint64_t n = std::min(kPilotPaths, paths);
  const std::vector<double> pilot = collect_outcomes(backend, tables, PathProgram::outcomes, n);
  auto sorted_column = [&](OutcomeField f) {
    std::vector<double> x = column_of(pilot, n, static_cast<int>(f));
    std::sort(x.begin(), x.end());
    return x;
  };
  const std::vector<double> unhedged = sorted_column(OutcomeField::pnl_unhedged);
  const std::vector<double> hedged = sorted_column(OutcomeField::pnl_hedged);
  const auto at_quantile = [n](const std::vector<double>& s, double q) {
    return s[std::min<std::uint64_t>(n - 1, static_cast<std::uint64_t>(q * static_cast<double>(n - 1)))];
  };
  const double lo = std::min(at_quantile(unhedged, 0.001), at_quantile(hedged, 0.001));
  double hi = std::max(at_quantile(unhedged, 0.999), at_quantile(hedged, 0.999));
  if (!(hi > lo)) hi = lo + 1.0;
  HistogramBins bins;
  bins.count = 100;
  bins.lo = lo;
  bins.width = (hi - lo) / bins.count;
  return bins;
}

}  // namespace betahedge

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "engine/backend_select.hpp"

namespace betahedge {
namespace {

/// Statistics are reduced batch by batch, but the loss tails the quantiles read grow with the
/// paths (n (1 - a) values per loss column; one column per evaluated ratio when optimising):
/// refuse a run whose tails cannot fit in this machine's memory before any work, rather than
/// fail (or be killed) after minutes. Under MPI every rank also holds every rank's tails while
/// they are merged.
void check_statistics_memory(const BookConfig& book, const JobStages& stages, const PathBackend& backend,
                             int num_assets) {
  const std::uint64_t n = book.simulation.paths;
  const int legs = static_cast<int>(book.hedge.legs.size());
  const int grid = stages.optimize && legs == 1 ? static_cast<int>(optimiser_ratio_grid(book).size()) : 0;
  // The hedge vector's optimiser (several legs) keeps the rows (u, M_l, K_l) of the first paths.
  const double vector_rows = stages.optimize && legs > 1
                                 ? static_cast<double>(std::min(n, HedgeRows::kDefaultCapacity)) * (1 + 2 * legs)
                                 : 0.0;
  const double losses = static_cast<double>(loss_tail_needed(n, book.risk.levels));
  const double shortfalls = static_cast<double>(shortfall_tail_needed(n, scenario_plan(book).max_call_probability));
  // Each tail up to 1.5x what it keeps between trims; under MPI every rank's tails at once.
  const int rank_count = ranks::count();
  const int horizons = static_cast<int>(report_horizons(book).size()) - 1;  // recorded on the way
  // The contributions: per component (each asset, the hedge leg) its own loss tail and a row
  // value per kept path, plus each row's loss and path id.
  const double contributions =
      static_cast<double>(loss_tail_needed(n, {contribution_level(book)})) * (2.0 * (num_assets + 1) + 2.0);
  const double tails =
      (1.5 * (losses * (2 + grid + 2 * horizons) + shortfalls * (grid > 0 ? 2 : 1) + contributions) + vector_rows) *
      (rank_count > 1 ? 1.0 + rank_count : 1.0);
  const int columns =
      kNumOutcomeFields * (1 + horizons) + (grid > 0 ? RatioGridColumns::total(grid) : 0) + num_assets;
  const std::uint64_t batch_paths = aligned_batch_size(backend, book.simulation.batch_size, columns);
  const double batch = static_cast<double>(batch_paths) * columns;
  const double bytes = (tails + batch) * sizeof(double);
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (memory > 0.0 && bytes > 0.9 * memory) {
    char text[400];
    std::snprintf(text, sizeof text,
                  "simulation.paths (or --paths): %llu paths need %.1f GiB for the tails the quantiles read (%.0f "
                  "values for each of %d loss columns, %.0f for each of %d shortfall columns%s) and a batch of %llu "
                  "paths x %d columns, more than this machine's %.1f GiB of memory; use fewer paths, higher "
                  "risk.levels or a smaller batch_size",
                  static_cast<unsigned long long>(n), bytes / (1ull << 30), losses, 2 + grid + 2 * horizons, shortfalls,
                  grid > 0 ? 2 : 1, rank_count > 1 ? ", every rank's while they merge" : "",
                  static_cast<unsigned long long>(batch_paths), columns, memory / (1ull << 30));
    throw InputError(book.source.string() + ": " + text);
  }
}

/// `work()`, its numerical failure (a NaN P&L) said of scenario `name`.
template <class Work>
auto with_scenario_named(const std::string& name, Work work) {
  try {
    return work();
  } catch (const NumericalError& e) {
    throw NumericalError("scenario " + name + ": " + e.what());
  }
}

}  // namespace

RiskReport run_risk_job(const Model& model, const BookConfig& book, const JobStages& stages,
                        const ProgressFn& progress, const PriceTable* prices, const BatchCheck& between_batches) {
  const auto start = std::chrono::steady_clock::now();
  const auto say = [&](const std::string& line) {
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "[%7.2f s] ",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    progress(elapsed + line);
  };
  // Book errors first: none may wait for a backend or a simulation.
  const JobInputs inputs = prepare_job(model, book, stages, prices);
  // Each rank chooses its own backend (its own GPU); one that fails stops every rank.
  SelectedBackend selected;
  ranks::agree_on_errors([&] { selected = select_backend(book.simulation.backend, book.simulation.threads); });
  CheckedBackend backend(*selected.backend, between_batches);
  check_statistics_memory(book, stages, backend, model.num_assets());
  const int steps = book.simulation.horizon_days * book.simulation.steps_per_day;
  say("backend " + backend.name() + " (" + backend.device_name() + ")" +
      (selected.note.empty() ? "" : "; " + selected.note) + "; " + std::to_string(book.simulation.paths) +
      " paths x " + std::to_string(steps) + " steps" +
      (ranks::count() > 1 ? " over " + std::to_string(ranks::count()) + " ranks" : ""));

  RiskReport report;
  const PortfolioSetup& portfolio = inputs.portfolio;
  describe_book(model, book, portfolio, report);

  // One collateral for every scenario and the bands: a desk posts one amount; stresses test it.
  std::uint64_t simulated_paths = 0;
  const bool sizing = !book.margin.collateral && book.hedge.hedged() && book.margin.leg_collateral.empty();
  if (sizing) say("collateral: auto: simulating the base scenario for its collateral shortfalls");
  report.collateral = with_scenario_named(inputs.scenarios.front().name, [&] {
    return choose_collateral(backend, model, inputs, book);
  });
  if (isolated_accounts(book)) {
    if (sizing) simulated_paths += book.simulation.paths;
    std::string amounts;
    for (double c : report.collateral.accounts) amounts += (amounts.empty() ? "" : " + ") + money(c);
    say("collateral: " + report.collateral.rule + ": " + amounts + " = " + money(report.collateral.amount));
  } else if (sizing) {
    simulated_paths += book.simulation.paths;
    char p[32];
    std::snprintf(p, sizeof p, "%g", book.risk.max_call_probability);
    say("collateral: auto, " + money(report.collateral.amount) + " for call probability <= " + p +
        " on the base scenario");
  } else if (book.margin.collateral) {
    say("collateral: fixed, " + money(report.collateral.amount));
  }
  BookConfig job_book = book;
  if (isolated_accounts(book))
    job_book.margin.leg_collateral = report.collateral.accounts;
  else
    job_book.margin.collateral = report.collateral.amount;

  for (const AppliedScenario& scenario : inputs.scenarios) {
    const ScenarioExtras extras{stages.optimize, stages.histogram && report.scenarios.empty()};
    const bool grid = extras.optimize && book.hedge.legs.size() == 1;
    const bool vector = extras.optimize && book.hedge.legs.size() > 1;
    say("scenario " + scenario.name +
        (grid     ? ": simulating, the ratio grid on the same paths"
         : vector ? ": simulating, each leg alone on the same paths (the hedge vector), then the min-variance "
                    "vector's margin calls"
                  : ": simulating") +
        " (" + std::to_string(report.scenarios.size()) + " of " + std::to_string(inputs.scenarios.size()) +
        " scenarios done)");
    ScenarioRun run = with_scenario_named(scenario.name, [&] {
      return run_scenario(backend, scenario, portfolio, job_book, extras, &report.histogram);
    });
    simulated_paths += book.simulation.paths * (vector && run.vector_optimization->margin_constrained ? 2 : 1);
    report.peak_tail_values = std::max(report.peak_tail_values, run.result.peak_tail_values);
    report.scenarios.push_back(std::move(run));
  }
  // Replays: one deterministic path each, on the host (every rank runs them, the same bits).
  for (const ReplayInput& replay : inputs.replays) {
    ReplayRun run = run_replay(model, portfolio, job_book, replay);
    say("replay " + run.name + ": " + run.path.front().date + " to " + run.path.back().date + " (" +
        std::to_string(run.days) + " days): unhedged " + money(run.outcome.pnl_unhedged) + ", hedged " +
        money(run.outcome.pnl_hedged) +
        (run.called() ? "; margin call on " + run.path[run.first_call_day()].date +
                            (run.outcome.liquidated != 0.0 ? " (liquidated)" : " (topped up)")
                      : "; no margin call"));
    report.replays.push_back(std::move(run));
  }
  if (stages.bands) {
    const std::size_t pairs = band_targets(model, portfolio, job_book).size() * book.risk.band_grid.size();
    say("bands: sweeping " + std::to_string(book.risk.band_grid.size()) + " bands" +
        (book.risk.target_beta_grid.empty()
             ? std::string()
             : " x " + std::to_string(book.risk.target_beta_grid.size()) + " target betas"));
    report.bands = sweep_bands(backend, model, portfolio, job_book);
    report.band_rule = band_rule(book.risk);
    simulated_paths += book.simulation.paths * ((pairs + kMaxBandsPerPass - 1) / kMaxBandsPerPass);
  }
  report.warnings = job_warnings(report, job_book, model);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.run = {book.simulation.paths, steps, book.simulation.horizon_days, book.simulation.seed, backend.name(),
                backend.device_name(), ranks::count(), elapsed,
                static_cast<double>(simulated_paths) * steps / std::max(elapsed, 1e-9),
                to_string(book.simulation.drift)};
  char kept[96];
  std::snprintf(kept, sizeof kept, "; the statistics kept at most %.1f MB of tail values",
                static_cast<double>(report.peak_tail_values) * sizeof(double) / 1e6);
  say(std::string("done") + kept);
  return report;
}

}  // namespace betahedge
