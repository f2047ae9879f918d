#include "report/backtest_files.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "engine/risk_job.hpp"

namespace betahedge {
namespace {

/// The shortest text that reads back as exactly x.
std::string number(double x) {
  char buf[40];
  const auto result = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, result.ptr);
}

/// Every regime name of the run's fits, in the order the largest fit lists them, then any other.
std::vector<std::string> regime_columns(const BacktestRun& run) {
  std::vector<std::string> names;
  std::vector<const BacktestFit*> fits;
  for (const BacktestFit& f : run.fits) fits.push_back(&f);
  std::stable_sort(fits.begin(), fits.end(),
                   [](const BacktestFit* a, const BacktestFit* b) { return a->regime_names.size() > b->regime_names.size(); });
  for (const BacktestFit* f : fits)
    for (const std::string& name : f->regime_names)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

nlohmann::json window_json(const BacktestRun& run, const std::vector<int>& sample, const TrafficLightWindow& w) {
  return {{"from", run.dates[sample[w.first]].date},
          {"to", run.dates[sample[w.last]].date},
          {"observations", w.last - w.first + 1},
          {"exceptions", w.exceptions},
          {"cumulative_probability", w.cumulative_probability},
          {"zone", w.zone}};
}

nlohmann::json side_json(const BacktestRun& run, const BacktestEvaluation& e, const BacktestSideTests& t) {
  const CoverageTests& c = t.coverage;
  nlohmann::json j = {{"exceptions", c.exceptions},
                      {"rate", c.rate},
                      {"expected_exceptions", c.expected_exceptions},
                      {"kupiec_lr", c.kupiec_lr},
                      {"kupiec_p", c.kupiec_p},
                      {"independence_lr", c.independence_lr},
                      {"independence_p", c.independence_p},
                      {"conditional_coverage_lr", c.conditional_coverage_lr},
                      {"conditional_coverage_p", c.conditional_coverage_p},
                      {"transitions", {{c.transitions[0][0], c.transitions[0][1]}, {c.transitions[1][0], c.transitions[1][1]}}}};
  if (!t.windows.empty()) {
    j["traffic_light"] = t.traffic_light.zone;
    j["traffic_light_window"] = window_json(run, e.sample, t.traffic_light);
    nlohmann::json windows = nlohmann::json::array();
    for (const TrafficLightWindow& w : t.windows) windows.push_back(window_json(run, e.sample, w));
    j["windows"] = windows;
    j["worst_window"] = window_json(run, e.sample, t.worst_window);
  }
  j["es_test"] = {{"method", "acerbi-szekely-z2"},
                  {"z2", t.es_test.z2},
                  {"p_value", t.es_test.p_value},
                  {"simulations", t.es_test.simulations},
                  {"zone", t.es_test.zone},
                  {"critical_values_zone", t.es_test.critical_values_zone},
                  {"critical_values", {{"0.05", kZ2Critical5}, {"0.0001", kZ2Critical001}}}};
  return j;
}

/// What a value was given as: one number, or a list (per regime) as written.
nlohmann::json as_given(const std::vector<double>& values) {
  if (values.size() == 1) return values.front();
  return values;
}

nlohmann::json book_json(const BacktestRun& run) {
  const BookConfig& book = run.book;
  nlohmann::json portfolio = nlohmann::json::object();
  if (!book.holdings.empty()) {
    nlohmann::json holdings = nlohmann::json::object();
    for (const auto& [symbol, units] : book.holdings) holdings[symbol] = units;
    portfolio["holdings"] = holdings;
  } else {
    nlohmann::json weights = nlohmann::json::object();
    for (const auto& [symbol, weight] : book.weights) weights[symbol] = weight;
    portfolio["notional"] = book.notional.value_or(0.0);
    portfolio["weights"] = weights;
  }

  const HedgeConfig& h = book.hedge;
  const bool several = h.legs.size() > 1;
  nlohmann::json hedge = {{"instrument", !h.hedged() ? "none" : several ? "legs" : instrument_word(h.legs.front())}};
  // What the hedge trades: the book's hedge.benchmark; the model's benchmark (run.benchmark, which
  // --benchmark sets) only where the book names none, as the engine reads it (hedge_benchmark_index).
  const std::string hedged_asset = h.benchmark.empty() ? run.benchmark : h.benchmark;
  if (h.hedged()) {
    hedge["benchmark"] = hedged_asset;
    hedge["mode"] = h.mode == HedgeMode::dynamic ? "dynamic" : "static";
    if (h.mode == HedgeMode::dynamic) {
      hedge["target_beta"] = h.target_beta;
      hedge["band"] = h.band;
      hedge["rebalance_every_days"] = h.rebalance_every_days;
      if (several) hedge["allocation"] = h.allocation == HedgeAllocation::weights ? "weights" : "min_variance";
    } else if (!several) {
      hedge["ratio"] = h.legs.front().ratio;
    }
    hedge["beta_estimate"] = h.beta_estimate;
    if (!several) add_instrument_terms(h.legs.front(), hedge, as_given);
    if (several) {
      nlohmann::json legs = nlohmann::json::array();
      for (const HedgeLegConfig& leg : h.legs) {
        nlohmann::json t = {{"name", leg_name(leg, hedged_asset)},
                            {"instrument", instrument_word(leg)},
                            {"benchmark", leg.benchmark.empty() ? hedged_asset : leg.benchmark}};
        if (h.mode == HedgeMode::static_ratio) t["ratio"] = leg.ratio;
        else if (h.allocation == HedgeAllocation::weights) t["weight"] = leg.weight;
        add_instrument_terms(leg, t, as_given);
        legs.push_back(std::move(t));
      }
      hedge["legs"] = std::move(legs);
    }
  }

  const MarginConfig& m = book.margin;
  const bool isolated_legs = several && m.mode == MarginMode::isolated;
  const bool automatic = isolated_legs ? m.leg_collateral.empty() : !m.collateral.has_value();
  nlohmann::json margin = {{"mode", m.mode == MarginMode::isolated ? "isolated" : "cross"}};
  if (automatic) margin["collateral"] = "auto";
  else if (isolated_legs) margin["collateral"] = m.leg_collateral;
  else margin["collateral"] = *m.collateral;
  margin["collateral_sizing"] =
      automatic ? "each test date: the least collateral whose forecast call probability is at most "
                  "max_call_probability, sized from that date's simulation (backtest.csv: collateral)"
                : "fixed: the same collateral on every test date";
  margin["max_call_probability"] = book.risk.max_call_probability;
  margin["initial_rate"] = m.initial_rate;
  margin["maintenance_rate"] = m.maintenance_rate;
  margin["on_call"] = m.on_call == MarginAction::top_up ? "top_up" : "liquidate";

  nlohmann::json levels = nlohmann::json::array();
  for (const RiskLevel& l : run.levels) levels.push_back(l.key);
  return {{"config", book.source.string()},
          {"portfolio", portfolio},
          {"hedge", hedge},
          {"margin", margin},
          {"risk_levels", levels},
          {"horizon_days", run.options.horizon_days},
          {"steps_per_day", book.simulation.steps_per_day},
          {"drift", to_string(book.simulation.drift)}};
}

}  // namespace

std::string backtest_csv(const BacktestRun& run, const BacktestEvaluation& evaluation) {
  std::ostringstream out;
  const std::vector<std::string> regimes = regime_columns(run);
  out << "date,realised_unhedged,realised_hedged";
  for (const RiskLevel& l : run.levels)
    out << ",var_unhedged_" << l.key << ",var_hedged_" << l.key << ",es_unhedged_" << l.key << ",es_hedged_" << l.key
        << ",exception_unhedged_" << l.key << ",exception_hedged_" << l.key;
  out << ",end_date,sampled,stdev_unhedged,stdev_hedged,predicted_hedge_effectiveness,portfolio_value,collateral,"
         "hedge_notional,rebalances,margin_called,predicted_call_probability,fit_date";
  for (const std::string& r : regimes) out << ",p_" << r;
  out << "\n";
  std::vector<char> sampled(run.dates.size(), 0);
  for (int i : evaluation.sample) sampled[i] = 1;
  for (std::size_t i = 0; i < run.dates.size(); ++i) {
    const BacktestDate& d = run.dates[i];
    out << d.date << "," << number(d.realised_unhedged) << "," << number(d.realised_hedged);
    for (std::size_t l = 0; l < run.levels.size(); ++l)
      out << "," << number(d.unhedged.tails[l].var) << "," << number(d.hedged.tails[l].var) << ","
          << number(d.unhedged.tails[l].es) << "," << number(d.hedged.tails[l].es) << ","
          << run.exception(i, l, false) << "," << run.exception(i, l, true);
    const BacktestFit& fit = run.fits[d.fit];
    out << "," << d.end_date << "," << int(sampled[i]) << "," << number(d.unhedged.stdev) << ","
        << number(d.hedged.stdev) << "," << number(d.predicted_hedge_effectiveness) << ","
        << number(d.portfolio_value) << "," << number(d.collateral) << "," << number(d.hedge_notional) << ","
        << d.rebalances << "," << d.margin_called << ","
        << number(d.predicted_call_probability) << "," << fit.window_end;
    for (const std::string& r : regimes) {
      out << ",";
      const auto at = std::find(fit.regime_names.begin(), fit.regime_names.end(), r);
      if (at != fit.regime_names.end()) out << number(d.regime_probabilities[at - fit.regime_names.begin()]);
    }
    out << "\n";
  }
  return out.str();
}

nlohmann::json backtest_json(const BacktestRun& run, const BacktestEvaluation& evaluation) {
  nlohmann::json levels = nlohmann::json::object();
  for (const BacktestLevelTests& l : evaluation.levels)
    levels[l.level.key] = {{"unhedged", side_json(run, evaluation, l.unhedged)},
                           {"hedged", side_json(run, evaluation, l.hedged)}};
  const BacktestOptions& o = run.options;
  nlohmann::json fits = nlohmann::json::array();
  for (const BacktestFit& f : run.fits)
    fits.push_back({{"date", f.date},
                    {"window_start", f.window_start},
                    {"window_end", f.window_end},
                    {"regimes", f.regime_names},
                    {"loglik", f.loglik},
                    {"converged", f.converged},
                    {"iterations", f.iterations}});
  nlohmann::json j = {
      {"format", "betahedge.backtest/1"},
      {"observations", evaluation.sample.size()},
      {"test_dates", run.dates.size()},
      {"levels", levels},
      {"hedge_effectiveness",
       {{"predicted", evaluation.predicted_hedge_effectiveness},
        {"realised", evaluation.realised_hedge_effectiveness},
        {"realised_se", evaluation.realised_hedge_effectiveness_se}}},
      {"margin_calls", evaluation.margin_calls},
      {"margin_call_test",
       {{"realised", evaluation.margin_calls},
        {"expected", evaluation.expected_margin_calls},
        {"p_value", evaluation.margin_calls_p}}},
      {"run",
       {{"prices", run.prices},
        {"benchmark", run.benchmark},
        {"assets", run.assets},
        {"filled_cells", run.filled_cells},
        {"from", run.dates.empty() ? "" : run.dates.front().date},
        {"to", run.dates.empty() ? "" : run.dates.back().date},
        {"window_days", o.window_days},
        {"refit_every", o.refit_every},
        {"horizon_days", o.horizon_days},
        {"sampling_step", evaluation.sampling_step},
        {"regimes", o.num_regimes ? std::to_string(*o.num_regimes) : std::string("auto")},
        {"distribution", o.distribution == Distribution::student_t ? "student-t" : "gaussian"},
        {"paths", o.paths},
        {"seed", run.seed},
        {"backend", run.backend},
        {"device", run.device},
        {"ranks", run.ranks},
        {"elapsed_s", run.elapsed_s}}},
      {"book", book_json(run)},
      {"fits", fits},
      {"warnings", evaluation.warnings}};
  return j;
}

}  // namespace betahedge
