#include "engine/replay.hpp"

#include <algorithm>
#include <cmath>

#include "betahedge/error.hpp"
#include "betahedge/path_simulation.hpp"
#include "calibration/regime_model.hpp"

namespace betahedge {
namespace {

int most_likely(const std::vector<double>& probabilities) {
  return static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
}

/// Records the replay's daily path from simulate_market_path's day-end hook.
template <int kCapacity>
struct ReplayRecorder {
  const SimulationView* v;
  const ReplayInput* input;
  std::vector<ReplayDay>* days;

  void on_day(int /*day*/, int /*regime*/) const {}
  void on_beta_check(int /*day*/, double /*before*/, double /*after*/) const {}
  template <class Book>
  void on_day_end(int day, const Book& book, const double (&log_price)[kCapacity]) const {
    const double value = mark_portfolio<kCapacity>(*v, log_price).value;
    const PathOutcome so_far = book.finish(v->hedge, value, v->portfolio.initial_value);
    days->push_back({input->dates[day], day, input->regimes[day], so_far.pnl_unhedged, so_far.pnl_hedged,
                     book.total_equity(v->hedge)});
  }
};

}  // namespace

int ReplayRun::first_call_day() const {
  return called() ? static_cast<int>(std::ceil(outcome.first_call_step / steps_per_day)) : 0;
}

std::vector<int> replay_regimes(const Model& model, const Eigen::MatrixXd& log_returns) {
  const int k_count = model.num_regimes();
  const int n = model.num_assets();
  std::vector<int> regimes{most_likely(model.initial_probabilities)};
  if (k_count == 1) {
    regimes.resize(log_returns.rows() + 1, 0);
    return regimes;
  }
  RegimeParameters p;
  p.transition.resize(k_count, k_count);
  p.initial = Eigen::VectorXd::Zero(k_count);
  for (int i = 0; i < k_count; ++i)
    for (int j = 0; j < k_count; ++j) {
      p.transition(i, j) = model.transition[i][j];
      // Day 1's prior: today's distribution moved one day on, as the simulation draws day 1.
      p.initial(j) += model.initial_probabilities[i] * model.transition[i][j];
    }
  for (const Regime& r : model.regimes) {
    p.mean.push_back(Eigen::Map<const Eigen::VectorXd>(r.mean.data(), n));
    Eigen::MatrixXd cov = regime_covariance(r);
    // The model's vols are the returns' standard deviations; a Student-t density's scale
    // matrix is the covariance times (dof - 2) / dof.
    if (model.distribution == Distribution::student_t) {
      cov *= (*r.dof - 2.0) / *r.dof;
      p.dof.push_back(*r.dof);
    }
    p.scale.push_back(cov);
  }
  const RegimeFilter f = filter_regimes(log_returns, p, model.distribution);
  for (Eigen::Index d = 0; d < f.filtered.rows(); ++d) {
    Eigen::Index best = 0;
    f.filtered.row(d).maxCoeff(&best);
    regimes.push_back(static_cast<int>(best));
  }
  return regimes;
}

ReplayInput prepare_replay(const Model& model, const BookConfig& book, int index, const PriceTable& prices) {
  const StressScenario& stress = book.stress[index];
  const std::string field = "stress[" + std::to_string(index) + "].replay";
  const ReplayWindow& w = *stress.replay;
  ReplayInput in;
  in.stress_index = index;
  in.name = stress.name;
  in.window = w;
  in.prices = prices.source;
  in.funding_multiplier = stress.funding_multiplier.value_or(1.0);
  const std::string span = prices.num_rows() > 0 ? prices.dates.front() + " to " + prices.dates.back() : "no dates";
  if (prices.num_rows() == 0 || w.from < prices.dates.front() || w.from > prices.dates.back())
    throw InputError(book_location(book, field + ".from") + ": " + w.from + " is outside the dates of " +
                     prices.source + " (" + span + ")");
  if (w.to > prices.dates.back())
    throw InputError(book_location(book, field + ".to") + ": " + w.to + " is outside the dates of " + prices.source +
                     " (" + span + ")");
  const auto first = std::lower_bound(prices.dates.begin(), prices.dates.end(), w.from) - prices.dates.begin();
  const auto last = std::upper_bound(prices.dates.begin(), prices.dates.end(), w.to) - prices.dates.begin();
  if (last - first < 2)
    throw InputError(book_location(book, field) + ": " + prices.source + " has " + std::to_string(last - first) +
                     " row(s) from " + w.from + " to " + w.to + "; a replay needs at least 2 (a day's return)");
  const int n = model.num_assets();
  const int rows = static_cast<int>(last - first);
  Eigen::MatrixXd closes(rows, n);
  for (int i = 0; i < n; ++i) {
    const int column = prices.column(model.assets[i]);
    if (column < 0)
      throw InputError(prices.source + ": " + model.assets[i] + ": the model's asset has no column, so stress '" +
                       stress.name + "' (" + field + ") cannot replay it");
    for (int r = 0; r < rows; ++r) {
      const double close = prices.closes(first + r, column);
      if (!std::isfinite(close))
        throw InputError(prices.source + ":" + std::to_string(prices.lines[first + r]) + ": " + model.assets[i] +
                         ": no close on " + prices.dates[first + r] + " (stress '" + stress.name +
                         "' replays every model asset on every row from " + w.from + " to " + w.to + ")");
      closes(r, i) = close;
    }
  }
  in.dates.assign(prices.dates.begin() + first, prices.dates.begin() + last);
  in.log_returns.resize(rows - 1, n);
  for (int d = 1; d < rows; ++d)
    for (int i = 0; i < n; ++i) in.log_returns(d - 1, i) = std::log(closes(d, i) / closes(d - 1, i));
  in.regimes = replay_regimes(model, in.log_returns);
  return in;
}

ReplayRun run_replay(const Model& model, const PortfolioSetup& portfolio, const BookConfig& book,
                     const ReplayInput& input) {
  BookConfig replay_book = book;
  replay_book.simulation.horizon_days = input.days();
  replay_book.risk.horizons_days.clear();  // the daily path says it all
  const SimulationTables tables =
      build_simulation_tables(model, portfolio, replay_book, ScenarioShocks{{}, input.funding_multiplier});
  const SimulationView v = tables.view(tables.data.data());
  const int n = model.num_assets();
  const int lanes = path_capacity_for(n);
  std::vector<double> day_log_return(static_cast<std::size_t>(input.days()) * lanes, 0.0);
  for (int d = 0; d < input.days(); ++d)
    for (int i = 0; i < n; ++i) day_log_return[static_cast<std::size_t>(d) * lanes + i] = input.log_returns(d, i);
  const HistoricalMarket market{input.regimes.data(), day_log_return.data()};

  ReplayRun run;
  run.name = input.name;
  run.window = input.window;
  run.days = input.days();
  run.steps_per_day = v.market.steps_per_day;
  run.funding_multiplier = input.funding_multiplier;
  run.collateral = total_collateral(v.hedge);
  for (int regime : input.regimes) run.regime_names.push_back(model.regimes[regime].name);
  with_path_capacity(n, [&](auto capacity) {
    constexpr int kCapacity = decltype(capacity)::value;
    // Day 0: the hedge just opened (its costs paid), nothing moved yet.
    double zero[kCapacity] = {};
    HedgeBook<> opened;
    LegPrices<kMaxHedgeLegs> spot{};
    for (int l = 0; l < v.hedge.num_legs; ++l) spot.s[l] = v.market.spot[v.hedge.legs[l].benchmark];
    if (v.hedge.num_legs > 0)
      opened.open(v.hedge, programme_of(v.hedge), spot, input.regimes[0], mark_portfolio<kCapacity>(v, zero));
    run.path.push_back(
        {input.dates[0], 0, input.regimes[0], 0.0, opened.hedge_pnl(v.hedge), opened.total_equity(v.hedge)});
    HistoricalMarket replayed = market;
    const ReplayRecorder<kCapacity> recorder{&v, &input, &run.path};
    run.outcome = simulate_market_path<kCapacity>(v, replayed, recorder);
  });
  return run;
}

}  // namespace betahedge
