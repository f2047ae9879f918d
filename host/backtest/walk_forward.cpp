#include "backtest/walk_forward.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "betahedge/error.hpp"
#include "calibration/calibrate.hpp"
#include "calibration/regime_model.hpp"
#include "engine/backend_select.hpp"
#include "engine/path_pass.hpp"
#include "engine/replay.hpp"
#include "engine/risk_job.hpp"
#include "engine/simulation_setup.hpp"
#include "io/message_text.hpp"
#include "market/returns.hpp"
#include "ranks/ranks.hpp"

namespace betahedge {
namespace {

/// The assets a backtest needs: the benchmark, the book's holdings (or weights), each leg's
/// underlying, in that order, each once.
std::vector<std::string> backtest_assets(const BookConfig& book, const std::string& benchmark) {
  std::vector<std::string> assets{benchmark};
  const auto add = [&](const std::string& symbol) {
    if (!symbol.empty() && std::find(assets.begin(), assets.end(), symbol) == assets.end()) assets.push_back(symbol);
  };
  for (const auto& [symbol, units] : book.holdings) add(symbol);
  for (const auto& [symbol, weight] : book.weights) add(symbol);
  for (const HedgeLegConfig& leg : book.hedge.legs) add(leg.benchmark);
  return assets;
}

/// The book as each date simulates it: the backtest's horizon and paths, the date's seed, no
/// stresses and no intermediate horizons (a forecast is the horizon's figures only).
BookConfig forecast_book(const BookConfig& book, const BacktestOptions& options) {
  BookConfig b = book;
  b.simulation.horizon_days = options.horizon_days;
  b.simulation.paths = options.paths;
  b.risk.horizons_days.clear();
  b.stress.clear();
  return b;
}

/// Today's returns of the window, rows [first, last) of the history's.
ReturnData window_of(const ReturnData& history, int first, int last) {
  ReturnData w;
  w.source = history.source;
  w.assets = history.assets;
  w.benchmark_index = history.benchmark_index;
  w.price_dates.assign(history.price_dates.begin() + first, history.price_dates.begin() + last + 1);
  w.log_returns = history.log_returns.middleRows(first, last - first);
  w.closes = history.closes.middleRows(first, last - first + 1);
  w.spot.resize(history.assets.size());
  for (int i = 0; i < history.num_assets(); ++i) w.spot[i] = history.closes(last, i);
  return w;
}

/// The loss quantiles at a + (1 - a)(k + 1/2)/M of a pass's sorted loss tail: order statistic
/// ceil(u n) (1-based), as VaR is read.
std::vector<double> tail_quantiles(const TailSample& tail, double level, int m) {
  std::vector<double> q(static_cast<std::size_t>(m));
  const std::uint64_t n = tail.size();
  for (int k = 0; k < m; ++k) {
    const double u = level + (1.0 - level) * (k + 0.5) / m;
    const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(u * n)));
    q[k] = tail.at(std::min(rank, n) - 1);
  }
  return q;
}

/// "WHERE: what", the option named as options.names says.
std::string option_error(const BacktestOptions& options, const std::string& key, const std::string& what) {
  return options.names.where(key) + ": " + what;
}

/// The test dates' close indices [first, last] within the history, from --from/--to, and the
/// testable range [first_testable, last_testable].
struct TestRange {
  int first = 0, last = 0;
  int first_testable = 0, last_testable = 0;
};

TestRange test_range(const ReturnData& history, const BacktestOptions& options, const std::string& prices) {
  const BacktestOptionNames& names = options.names;
  const int closes = static_cast<int>(history.price_dates.size());
  const int first_testable = options.window_days;
  const int last_testable = closes - 1 - options.horizon_days;
  if (first_testable > last_testable)
    throw InputError(option_error(options, "window_days",
                                  std::to_string(options.window_days) + " returns before a test date and " +
                                      std::to_string(options.horizon_days) + " day" +
                                      (options.horizon_days == 1 ? "" : "s") + " after it (" +
                                      names.field("horizon_days") + ") need at least " +
                                      std::to_string(options.window_days + options.horizon_days + 1) +
                                      " closes; the common window " + history.price_dates.front() + " .. " +
                                      history.price_dates.back() + " of " +
                                      [&] {
                                        std::string s;
                                        for (const std::string& a : history.assets) s += (s.empty() ? "" : ",") + a;
                                        return s;
                                      }() +
                                      " in " + prices + " has " + std::to_string(closes)));
  const std::string testable = "the testable dates are " + history.price_dates[first_testable] + " .. " +
                               history.price_dates[last_testable] + " (a " + std::to_string(options.window_days) +
                               "-day window before, " + std::to_string(options.horizon_days) +
                               (options.horizon_days == 1 ? " day after)" : " days after)");
  TestRange range{first_testable, last_testable, first_testable, last_testable};
  const auto& dates = history.price_dates;
  if (options.from) {
    if (!is_iso_date(*options.from))
      throw InputError(option_error(options, "from", "'" + *options.from + "' is not a date (YYYY-MM-DD)"));
    if (*options.from < dates[first_testable] || *options.from > dates[last_testable])
      throw InputError(option_error(options, "from", *options.from + " is outside the test period: " + testable));
    range.first = static_cast<int>(std::lower_bound(dates.begin(), dates.end(), *options.from) - dates.begin());
  }
  if (options.to) {
    if (!is_iso_date(*options.to))
      throw InputError(option_error(options, "to", "'" + *options.to + "' is not a date (YYYY-MM-DD)"));
    if (*options.to < dates[first_testable] || *options.to > dates[last_testable])
      throw InputError(option_error(options, "to", *options.to + " is outside the test period: " + testable));
    range.last = static_cast<int>(std::upper_bound(dates.begin(), dates.end(), *options.to) - dates.begin()) - 1;
  }
  if (options.from && options.to && *options.to < *options.from)
    throw InputError(option_error(options, "to", *options.to + " is before " + names.field("from") + " " + *options.from));
  if (range.first > range.last)
    throw InputError(option_error(options, "from", "no close between " + *options.from + " and " +
                                                       (options.to ? *options.to : dates[last_testable])));
  return range;
}

/// The book's per-regime terms against the regime count every refit will have: one value, or
/// one per regime of a fixed --regimes; under auto, where a refit may choose another count than
/// the last, one value only. Checked before the first fit, not at the refit that changes K.
void check_per_regime_terms(const BookConfig& book, const BacktestOptions& options) {
  for (const HedgeLegConfig& leg : book.hedge.legs)
    for (const auto& [field, values] : {std::pair{leg.field + ".funding_rate_8h", &leg.funding_rate_8h},
                                        std::pair{leg.field + ".future.annual_basis", &leg.future.annual_basis}}) {
      const int count = static_cast<int>(values->size());
      if (count <= 1) continue;
      if (!options.num_regimes)
        throw InputError(book_location(book, field) + ": has " + std::to_string(count) +
                         " per-regime values, but " + options.names.field("regimes") +
                         " auto may choose another count at each refit: give one value, or a fixed " +
                         options.names.field("regimes") + " " + std::to_string(count));
      if (count != *options.num_regimes)
        throw InputError(book_location(book, field) + ": has " + std::to_string(count) +
                         " values; give one, or one per regime (" + options.names.field("regimes") + " " +
                         std::to_string(*options.num_regimes) + ")");
    }
}

void check_options(const BacktestOptions& options) {
  if (options.horizon_days < 1) throw InputError(option_error(options, "horizon_days", "must be at least 1 day"));
  if (options.window_days < 1) throw InputError(option_error(options, "window_days", "must be at least 1 day"));
  if (options.refit_every < 1) throw InputError(option_error(options, "refit_every", "must be at least 1 date"));
  if (options.paths < 1) throw InputError(option_error(options, "paths", "must be at least 1"));
  if (options.tail_quantiles < 1) throw InputError("tail_quantiles: must be at least 1");
}

}  // namespace

std::string BacktestOptionNames::field(const std::string& key) const {
  if (keywords) return key == "from" ? "from_" : key;
  if (config.empty()) {
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
  }
  return (key == "benchmark" || key == "regimes" ? "calibrate." : "backtest.") + key;
}

std::string BacktestOptionNames::where(const std::string& key) const {
  if (config.empty()) return field(key);
  const auto found = lines.find(key);
  const bool in_block = key != "benchmark" && key != "regimes";
  const int line = found != lines.end() && found->second > 0 ? found->second : in_block ? block_line : 0;
  return config + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + field(key);
}

bool BacktestRun::exception(std::size_t date, std::size_t level, bool hedged) const {
  const BacktestDate& d = dates[date];
  const double loss = -(hedged ? d.realised_hedged : d.realised_unhedged);
  return loss > (hedged ? d.hedged : d.unhedged).tails[level].var;
}

namespace {

/// What a walk forward reads, checked: the benchmark, the calibration options, the history and
/// the test dates' close indices [first, last].
struct BacktestHistory {
  std::string benchmark;
  CalibrationOptions calibration;
  ReturnData returns;
  TestRange range;
};

BacktestHistory backtest_history(const PriceTable& prices, const BookConfig& book, const BacktestOptions& options) {
  check_options(options);
  BacktestHistory h;
  h.benchmark = !options.benchmark.empty() ? options.benchmark : book.hedge.benchmark;
  if (h.benchmark.empty())
    throw InputError(option_error(options, "benchmark", "is needed: the book names no hedge.benchmark"));
  h.calibration.num_regimes = options.num_regimes;
  h.calibration.fit.distribution = options.distribution;
  h.calibration.fit.seed = options.calibration_seed;
  h.calibration.fit.num_starts = options.calibration_starts;
  // A walk forward fits hundreds of windows: one whose EM stops at the iteration cap is kept
  // (its fit says so, and the evaluation warns) rather than ending the test.
  h.calibration.accept_unconverged = true;
  // A symbol the prices lack: name the option or the book's field that asked for it (the prices
  // reader names only its header).
  const auto no_column = [&](const std::string& symbol) {
    return "'" + symbol + "' has no column in " + prices.source + " (its columns: " +
           comma_separated(prices.symbols) + ")";
  };
  const auto need_column = [&](const std::string& symbol, const std::string& field) {
    if (!symbol.empty() && prices.column(symbol) < 0)
      throw InputError(book_location(book, field) + ": " + no_column(symbol));
  };
  if (!options.benchmark.empty() && prices.column(options.benchmark) < 0)
    throw InputError(option_error(options, "benchmark", no_column(options.benchmark)));
  for (const auto& [symbol, units] : book.holdings) need_column(symbol, "portfolio.holdings." + symbol);
  for (const auto& [symbol, weight] : book.weights) need_column(symbol, "portfolio.weights." + symbol);
  need_column(book.hedge.benchmark, "hedge.benchmark");
  for (const HedgeLegConfig& leg : book.hedge.legs) need_column(leg.benchmark, leg.field + ".benchmark");
  ReturnWindowOptions window;
  window.benchmark = h.benchmark;
  window.assets = backtest_assets(book, h.benchmark);
  window.fill_forward = options.fill_forward;
  window.fill_forward_setting = options.fill_forward_setting;
  h.returns = log_returns_on_common_window(prices, window);
  const int min_returns = minimum_returns(h.returns.num_assets(), h.calibration);
  if (options.window_days < min_returns)
    throw InputError(option_error(options, "window_days", std::to_string(options.window_days) +
                                                       " returns are too few to fit " +
                                                       std::to_string(h.returns.num_assets()) + " assets: at least " +
                                                       std::to_string(min_returns)));
  h.range = test_range(h.returns, options, prices.source);
  check_per_regime_terms(book, options);
  return h;
}

}  // namespace

void check_backtest_inputs(const PriceTable& prices, const BookConfig& book, const BacktestOptions& options) {
  backtest_history(prices, book, options);
}

std::uint64_t date_seed(std::uint64_t seed, int price_index) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(price_index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

BacktestRun run_backtest(const PriceTable& prices, const BookConfig& book, const BacktestOptions& options,
                         const BacktestProgress& progress, const BatchCheck& between_batches) {
  const auto start = std::chrono::steady_clock::now();
  const BacktestHistory checked = backtest_history(prices, book, options);
  const ReturnData& history = checked.returns;
  const CalibrationOptions& calibration = checked.calibration;
  const int first = checked.range.first, last = checked.range.last;
  for (const std::string& note : history.notes) progress(note);
  BacktestRun run;
  run.options = options;
  run.prices = prices.source;
  run.book = book;
  run.testable_from = history.price_dates[checked.range.first_testable];
  run.testable_to = history.price_dates[checked.range.last_testable];
  run.testable_dates = checked.range.last_testable - checked.range.first_testable + 1;
  run.levels = book.risk.levels;
  run.seed = book.simulation.seed;
  run.benchmark = checked.benchmark;
  run.assets = history.assets;
  for (int c = std::max(first - options.window_days, 0); c <= last + options.horizon_days; ++c)
    run.filled_cells += history.filled_per_close[c];

  // The closes of the history, aligned with its dates (spot on each test date, and the realised
  // path): the ones its returns are taken from, so a filled gap's previous close.
  const Eigen::MatrixXd& closes = history.closes;

  SelectedBackend selected;
  ranks::agree_on_errors([&] { selected = select_backend(book.simulation.backend, book.simulation.threads); });
  CheckedBackend backend(*selected.backend, between_batches);
  run.backend = backend.name();
  run.device = backend.device_name();
  run.ranks = ranks::count();
  const BookConfig base_book = forecast_book(book, options);
  progress("backtest: " + std::to_string(last - first + 1) + " test dates " + history.price_dates[first] + " .. " +
           history.price_dates[last] + ", " + std::to_string(options.window_days) + "-day window refitted every " +
           std::to_string(options.refit_every) + " dates, " + std::to_string(options.horizon_days) + "-day horizon, " +
           std::to_string(options.paths) + " paths a date on " + backend.name() + " (" + backend.device_name() + ")" +
           (selected.note.empty() ? "" : "; " + selected.note));

  Calibration fit;
  int fit_first = 0;  // the fit's first return
  for (int t = first; t <= last; ++t) {
    if (between_batches) between_batches();  // a refit can take longer than a batch
    const int test_index = t - first;
    if (test_index % options.refit_every == 0) {
      fit_first = t - options.window_days;
      fit = calibrate(window_of(history, fit_first, t), calibration);
      BacktestFit record;
      record.date = history.price_dates[t];
      record.window_start = history.price_dates[fit_first];
      record.window_end = history.price_dates[t];
      for (const Regime& r : fit.model.regimes) record.regime_names.push_back(r.name);
      record.loglik = fit.fit.filter.loglik;
      record.converged = fit.fit.converged;
      record.iterations = fit.fit.iterations;
      run.fits.push_back(record);
    }
    int filled_closes = 0;
    for (int c = t; c <= t + options.horizon_days; ++c) filled_closes += history.filled_per_close[c] > 0;
    // Today's model: the fit's parameters, today's closes and today's filtered regime probabilities.
    Model model = fit.model;
    for (int i = 0; i < history.num_assets(); ++i) model.spot[i] = closes(t, i);
    if (model.num_regimes() > 1) {
      const RegimeFilter filter =
          filter_regimes(history.log_returns.middleRows(fit_first, t - fit_first), fit.fit.params, options.distribution);
      const Eigen::RowVectorXd today = filter.filtered.bottomRows(1);
      for (int k = 0; k < model.num_regimes(); ++k) model.initial_probabilities[k] = today[k] / today.sum();
    }

    BookConfig date_book = base_book;
    date_book.simulation.seed = date_seed(book.simulation.seed, t);
    const JobInputs inputs = prepare_job(model, date_book, JobStages{});
    const CollateralChoice collateral = choose_collateral(backend, model, inputs, date_book);
    if (collateral.accounts.empty())
      date_book.margin.collateral = collateral.amount;
    else
      date_book.margin.leg_collateral = collateral.accounts;

    const SimulationTables tables = build_simulation_tables(model, inputs.portfolio, date_book);
    const OutcomeReduction reduced =
        run_path_pass(backend, tables, PathProgram::outcomes, scenario_plan(date_book), date_book.simulation.batch_size);
    const ScenarioResult forecast = scenario_result("base", reduced, tables, date_book);

    BacktestDate d;
    d.filled_closes = filled_closes;
    d.date = history.price_dates[t];
    d.end_date = history.price_dates[t + options.horizon_days];
    d.fit = static_cast<int>(run.fits.size()) - 1;
    d.regime_probabilities = model.initial_probabilities;
    d.portfolio_value = inputs.portfolio.value;
    d.collateral = collateral.amount;
    d.unhedged = forecast.unhedged;
    d.hedged = forecast.hedged;
    d.predicted_hedge_effectiveness = forecast.hedge_effectiveness;
    d.predicted_call_probability = forecast.margin.call_probability;
    d.hedge_notional = start_hedge_notional(tables);
    const TailSample unhedged_tail = reduced.unhedged_losses(), hedged_tail = reduced.hedged_losses();
    for (const RiskLevel& level : run.levels) {
      d.unhedged_tail_quantiles.push_back(tail_quantiles(unhedged_tail, level.value, options.tail_quantiles));
      d.hedged_tail_quantiles.push_back(tail_quantiles(hedged_tail, level.value, options.tail_quantiles));
    }

    // What happened: the same book through the actual closes of t .. t + h.
    ReplayInput realised;
    realised.name = "backtest";
    realised.window = {d.date, d.end_date};
    realised.prices = prices.source;
    realised.dates.assign(history.price_dates.begin() + t, history.price_dates.begin() + t + options.horizon_days + 1);
    realised.log_returns = history.log_returns.middleRows(t, options.horizon_days);
    realised.regimes = replay_regimes(model, realised.log_returns);
    const ReplayRun replay = run_replay(model, inputs.portfolio, date_book, realised);
    d.realised_unhedged = replay.outcome.pnl_unhedged;
    d.realised_hedged = replay.outcome.pnl_hedged;
    d.margin_called = replay.called();
    d.rebalances = static_cast<int>(replay.outcome.rebalances);
    run.dates.push_back(std::move(d));

    const int done = test_index + 1, total = last - first + 1;
    if (done == total || (done * 10) / total != (test_index * 10) / total)
      progress("backtest: " + std::to_string(done) + " of " + std::to_string(total) + " dates (" +
               history.price_dates[t] + "), " + std::to_string(run.fits.size()) + " fits");
  }
  run.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace betahedge
