#include "config/book_config.hpp"

#include <cmath>
#include <set>
#include <string>

#include "betahedge/error.hpp"
#include "betahedge/path_types.hpp"
#include "config/simulation_limits.hpp"
#include "config/yaml_fields.hpp"
#include "io/input_file.hpp"
#include "io/message_text.hpp"
#include "market/prices_csv.hpp"

namespace betahedge {
namespace {

// The ranges of book.yaml (docs list them; SPEC 4 names the keys). Whole numbers are range
// checked on the parsed 64-bit value, before any narrowing cast.
constexpr WholeRange kPathsRange{kMinPaths, kMaxPaths};
constexpr WholeRange kSeedRange{0, kMaxSeed};
constexpr WholeRange kHorizonRange{1, static_cast<std::uint64_t>(kMaxHorizonDays)};
constexpr WholeRange kStepsPerDayRange{1, static_cast<std::uint64_t>(kMaxStepsPerDay)};
constexpr WholeRange kThreadsRange{0, static_cast<std::uint64_t>(kMaxThreads)};
constexpr WholeRange kBatchRange{0, kMaxBatchSize};
constexpr WholeRange kDaysRange{1, 3650};  ///< rebalance_every_days, expiry_days, tenor_days

constexpr Interval kUnits{-1e12, 1e12};              ///< holdings, units per asset
constexpr Interval kBeta{-10.0, 10.0};               ///< ratio, target_beta, hedge_ratio_grid
constexpr Interval kBetaEstimate{-100.0, 100.0};     ///< beta_estimate given as a number
constexpr Interval kBand{0.0, 10.0};                 ///< band, band_grid
constexpr Interval kBps{0.0, 1e4};                   ///< fee_bps, slippage_bps, roll_cost_bps
constexpr Interval kFunding8h{-0.05, 0.05};          ///< funding_rate_8h, per 8 hours
constexpr Interval kAnnualBasis{-5.0, 5.0};          ///< future.annual_basis, per year
constexpr Interval kStrike{0.0, 100.0, true};        ///< option.strike, fraction of spot
constexpr Interval kVolPremium{0.0, 100.0, true};    ///< option.implied_vol_premium
constexpr Interval kRate{-1.0, 1.0};                 ///< option.rate, per year
constexpr Interval kCollateral{0.0, 1e15};
constexpr Interval kNotional{0.0, 1e15, true};       ///< portfolio.notional
constexpr Interval kWeight{-10.0, 10.0};              ///< portfolio.weights, fraction of notional
constexpr Interval kUnit{0.0, 1.0};                  ///< rates and probabilities
constexpr Interval kLevel{0.0, 1.0, true, true};     ///< risk.levels
constexpr Interval kTolerance{0.0, 100.0};           ///< risk.tracking_tolerance
constexpr Interval kPositive{0.0, 1e300, true};      ///< hedge_ratio_grid.step (the point count bounds it)
constexpr Interval kShock{-1.0, 10.0, true};         ///< simple return at t = 0+: a price stays above 0
constexpr Interval kVolMultiplier{0.0, 100.0, true};
constexpr Interval kFundingMultiplier{-100.0, 100.0};
constexpr Interval kCorrelation{-1.0, 1.0};

constexpr LengthRange kPerRegime{1, 8};    ///< funding_rate_8h, annual_basis
constexpr LengthRange kLevels{1, 16};
constexpr LengthRange kBandGrid{1, 64};
constexpr LengthRange kTargetBetaGrid{1, 16};
constexpr LengthRange kHorizonList{1, 16};
constexpr LengthRange kStressList{0, 64};
constexpr std::size_t kMaxGridPoints = 64;  ///< the optimiser evaluates 2 x 64 - 1 ratios (kMaxGridRatios 128)
constexpr std::size_t kMaxNameChars = 64;   ///< stress name, force_regime
constexpr std::size_t kMaxSymbolChars = 256;

/// The instrument keys of a leg (the one-instrument form: in hedge: itself).
HedgeLegConfig parse_leg_instrument(const Fields& f, const std::string& field, bool in_legs_list) {
  HedgeLegConfig leg;
  leg.field = field;
  if (in_legs_list && !f.has("instrument")) f.fail("instrument", "is missing (perpetual | future | put | call)");
  const std::string instrument = in_legs_list ? f.choice("instrument", "", {"perpetual", "future", "put", "call"})
                                              : f.choice("instrument", "none", {"perpetual", "future", "put", "call",
                                                                                "option", "none"});
  leg.instrument = instrument == "perpetual" ? HedgeInstrument::perpetual
                   : instrument == "future"  ? HedgeInstrument::future
                   : instrument == "none"    ? HedgeInstrument::none
                                             : HedgeInstrument::option;
  if (f.has("benchmark")) leg.benchmark = f.name("benchmark", kMaxSymbolChars);
  leg.fee_bps = f.number("fee_bps", 0.0, kBps);
  leg.slippage_bps = f.number("slippage_bps", 0.0, kBps);
  leg.funding_rate_8h = f.numbers("funding_rate_8h", kPerRegime, kFunding8h);
  if (f.has("future")) {
    const Fields g = f.sub("future");
    g.allow_only({"expiry_days", "annual_basis", "roll_days_before", "roll_cost_bps"});
    leg.future.expiry_days = static_cast<int>(g.whole_number("expiry_days", 90, kDaysRange));
    leg.future.annual_basis = g.numbers("annual_basis", kPerRegime, kAnnualBasis);
    leg.future.roll_days_before = static_cast<int>(g.whole_number("roll_days_before", 2, {0, kDaysRange.hi - 1}));
    if (leg.future.roll_days_before >= leg.future.expiry_days)
      g.fail("roll_days_before", "must be in [0, expiry_days) = [0, " + std::to_string(leg.future.expiry_days) + ")");
    leg.future.roll_cost_bps = g.number("roll_cost_bps", 0.0, kBps);
  }
  if (f.has("option")) {
    const Fields g = f.sub("option");
    g.allow_only({"kind", "strike", "tenor_days", "implied_vol_premium", "rate"});
    leg.option.is_call = g.choice("kind", instrument == "call" ? "call" : "put", {"put", "call"}) == "call";
    // A leg of several names its strike: a collar's put and call differ only there.
    if (in_legs_list && !g.has("strike")) g.fail("strike", "is missing (fraction of the underlying's price at purchase)");
    leg.option.strike = g.number("strike", 1.0, kStrike);
    leg.option.tenor_days = static_cast<int>(g.whole_number("tenor_days", 30, kDaysRange));
    leg.option.implied_vol_premium = g.number("implied_vol_premium", 1.0, kVolPremium);
    leg.option.rate = g.number("rate", 0.0, kRate);
  } else {
    if (in_legs_list && leg.instrument == HedgeInstrument::option)
      f.fail("option", "is missing: an option leg needs its terms, at least {strike: ...}");
    leg.option.is_call = instrument == "call";
  }
  if (instrument == "put" && leg.option.is_call) f.fail("option", "kind 'call' contradicts instrument 'put'");
  if (instrument == "call" && !leg.option.is_call) f.fail("option", "kind 'put' contradicts instrument 'call'");
  return leg;
}

/// hedge.ratios or hedge.weights: one number per leg.
std::vector<double> per_leg_numbers(const Fields& f, const std::string& key, std::size_t legs, const Interval& range) {
  const std::vector<double> values = f.numbers(key, {1, kMaxHedgeLegs}, range);
  if (values.size() != legs)
    f.fail(key, "has " + std::to_string(values.size()) + (values.size() == 1 ? " value" : " values") + " for " +
                    std::to_string(legs) + " legs: give one per leg, in the order of hedge.legs");
  return values;
}

HedgeConfig parse_hedge(const Fields& f) {
  HedgeConfig h;
  const bool has_legs = f.has("legs");
  if (has_legs)
    for (const char* key : {"instrument", "ratio", "fee_bps", "slippage_bps", "funding_rate_8h", "future", "option"})
      if (f.has(key))
        f.fail(key, std::string(key) == "ratio"
                        ? std::string("with hedge.legs, static ratios go in hedge.ratios: [one per leg]")
                        : std::string("with hedge.legs, each leg has its own: hedge.legs[i].") + key);
  if (has_legs)
    f.allow_only({"legs", "benchmark", "mode", "ratios", "weights", "allocation", "target_beta", "band",
                  "rebalance_every_days", "beta_estimate"});
  else
    f.allow_only({"instrument", "benchmark", "mode", "ratio", "target_beta", "band", "rebalance_every_days",
                  "beta_estimate", "fee_bps", "slippage_bps", "funding_rate_8h", "future", "option"});
  if (f.has("benchmark")) h.benchmark = f.name("benchmark", kMaxSymbolChars);
  h.mode = f.choice("mode", "static", {"static", "dynamic"}) == "static" ? HedgeMode::static_ratio : HedgeMode::dynamic;
  h.target_beta = f.number("target_beta", 0.0, kBeta);
  h.band = f.number("band", 0.05, kBand);
  h.rebalance_every_days = static_cast<int>(f.whole_number("rebalance_every_days", 1, kDaysRange));
  h.beta_estimate = f.text("beta_estimate", "model");
  if (h.beta_estimate != "model" && h.beta_estimate != "ols" && h.beta_estimate != "ewma" && h.beta_estimate != "kalman")
    h.beta_estimate_value = f.number("beta_estimate", 0.0, kBetaEstimate);

  if (!has_legs) {
    HedgeLegConfig leg = parse_leg_instrument(f, "hedge", false);
    leg.ratio = f.number("ratio", 1.0, kBeta);
    if (leg.instrument != HedgeInstrument::none) h.legs.push_back(std::move(leg));
    return h;
  }

  const YAML::Node list = f.sequence("legs", {1, kMaxHedgeLegs},
                                     "legs (the engine is compiled for at most " + std::to_string(kMaxHedgeLegs) + ")");
  std::map<std::string, std::size_t> names;  // leg_name with the benchmark as written -> index
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string field = "hedge.legs[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) f.fail_at(list[i], field, "must be a mapping {instrument: ..., benchmark: ..., ...}");
    const Fields g(list[i], f.file(), field);
    g.allow_only({"instrument", "benchmark", "name", "fee_bps", "slippage_bps", "funding_rate_8h", "future", "option"});
    HedgeLegConfig leg = parse_leg_instrument(g, field, true);
    if (g.has("name")) leg.name = g.name("name", kMaxNameChars);
    const std::string name = leg_name(leg, h.benchmark.empty() ? "(benchmark)" : h.benchmark);
    const auto [at, fresh] = names.emplace(name, i);
    if (!fresh)
      g.fail_at(list[i], field,
                "duplicate leg " + quoted_for_message(name) + " (also hedge.legs[" + std::to_string(at->second) +
                    "]): one leg per instrument and underlying, or give each its own name");
    h.legs.push_back(std::move(leg));
  }

  if (f.has("ratios")) {
    const std::vector<double> ratios = per_leg_numbers(f, "ratios", h.legs.size(), kBeta);
    for (std::size_t i = 0; i < h.legs.size(); ++i) h.legs[i].ratio = ratios[i];
  } else if (h.mode == HedgeMode::static_ratio) {
    f.fail("legs", "a static hedge of legs needs hedge.ratios, one ratio per leg");
  }
  const std::string allocation = f.choice("allocation", "min_variance", {"min_variance", "weights"});
  h.allocation = allocation == "weights" ? HedgeAllocation::weights : HedgeAllocation::min_variance;
  if (f.has("weights")) {
    if (h.allocation != HedgeAllocation::weights)
      f.fail("weights", "apply with allocation: weights (allocation is " + allocation + ")");
    const std::vector<double> weights = per_leg_numbers(f, "weights", h.legs.size(), kBeta);
    double sum = 0.0;
    for (double w : weights) sum += w;
    if (std::fabs(sum - 1.0) > 1e-9)
      f.fail("weights", "sum to " + std::to_string(sum) + ": the shares of the beta trade must sum to 1");
    for (std::size_t i = 0; i < h.legs.size(); ++i) h.legs[i].weight = weights[i];
  } else if (h.allocation == HedgeAllocation::weights) {
    f.fail("allocation", "weights needs hedge.weights, one share per leg summing to 1");
  }
  return h;
}

MarginConfig parse_margin(const Fields& f) {
  f.allow_only({"collateral", "initial_rate", "maintenance_rate", "on_call", "mode"});
  MarginConfig m;
  m.mode = f.choice("mode", "cross", {"cross", "isolated"}) == "cross" ? MarginMode::cross : MarginMode::isolated;
  if (f.has("collateral") && f.get("collateral").IsSequence()) {
    // Isolated margin: one account per leg (parse_book checks the count against the legs).
    m.leg_collateral = f.numbers("collateral", {1, kMaxHedgeLegs}, kCollateral);
  } else if (f.has("collateral") && !(f.get("collateral").IsScalar() && f.get("collateral").Scalar() == "auto")) {
    try {
      m.collateral = f.number("collateral", 0.0, kCollateral);
    } catch (const InputError& e) {  // a word ('AUTO', 'lots'): name both forms; out of range stays as it is
      if (std::string(e.what()).find("is not a number") == std::string::npos) throw;
      f.fail("collateral", quoted_for_message(f.get("collateral").IsScalar() ? f.get("collateral").Scalar() : "") +
                               " is neither auto nor a number in " + kCollateral.describe());
    }
  }
  m.initial_rate = f.number("initial_rate", 0.10, kUnit);
  m.maintenance_rate = f.number("maintenance_rate", 0.05, kUnit);
  if (m.maintenance_rate > m.initial_rate) f.fail("maintenance_rate", "must not exceed initial_rate");
  m.on_call = f.choice("on_call", "liquidate", {"liquidate", "top_up"}) == "liquidate" ? MarginAction::liquidate
                                                                                       : MarginAction::top_up;
  return m;
}

SimulationConfig parse_simulation(const Fields& f) {
  f.allow_only({"paths", "horizon_days", "steps_per_day", "seed", "backend", "threads", "batch_size", "drift"});
  SimulationConfig s;
  s.paths = f.whole_number("paths", s.paths, kPathsRange, "at least 2 paths are needed for statistics");
  s.horizon_days = static_cast<int>(f.whole_number("horizon_days", 30, kHorizonRange));
  s.steps_per_day = static_cast<int>(f.whole_number("steps_per_day", 1, kStepsPerDayRange));
  const std::int64_t steps = std::int64_t{s.horizon_days} * s.steps_per_day;
  if (steps > kMaxSteps)
    f.fail(f.has("steps_per_day") ? "steps_per_day" : "horizon_days",
           "horizon_days x steps_per_day = " + std::to_string(steps) + " steps, more than the limit of " +
               std::to_string(kMaxSteps));
  s.seed = f.whole_number("seed", s.seed, kSeedRange);
  const std::string backend = f.choice("backend", "auto", {"auto", "cuda", "cpu"});
  s.backend = parse_backend_choice(backend, f.file() + ": " + f.field("backend"));
  s.threads = static_cast<int>(f.whole_number("threads", 0, kThreadsRange, "0 = all cores"));
  s.batch_size = f.whole_number("batch_size", 0, kBatchRange, "0 = automatic");
  const std::string drift = f.choice("drift", "martingale", {"martingale", "zero", "model"});
  s.drift = drift == "martingale" ? DriftRule::martingale : drift == "zero" ? DriftRule::zero : DriftRule::model;
  return s;
}

RiskConfig parse_risk(const Fields& f) {
  f.allow_only({"levels", "hedge_ratio_grid", "band_grid", "max_call_probability", "tracking_tolerance",
                "horizons_days", "target_beta_grid"});
  RiskConfig r;
  if (f.has("levels")) {
    const YAML::Node n = f.sequence("levels", kLevels, "levels in (0, 1)");
    r.levels.clear();
    std::size_t i = 0;
    for (const YAML::Node& item : n) {
      const std::string where = f.field("levels") + "[" + std::to_string(i++) + "]";
      const double v = f.number_of(item, where, kLevel);
      for (const RiskLevel& earlier : r.levels)
        if (earlier.value == v) f.fail_at(item, where, quoted_for_message(item.Scalar()) + " is listed twice");
      r.levels.push_back({item.Scalar(), v});
    }
  }
  if (f.has("hedge_ratio_grid")) {
    const Fields g = f.sub("hedge_ratio_grid");
    g.allow_only({"from", "to", "step"});
    HedgeRatioGrid& grid = r.hedge_ratio_grid;
    grid.from = g.number("from", grid.from, kBeta);
    grid.to = g.number("to", grid.to, kBeta);
    grid.step = g.number("step", grid.step, kPositive);
    if (grid.to < grid.from) g.fail("to", "must be >= from");
    if ((grid.to - grid.from) / grid.step + 1 > kMaxGridPoints + 1e-9)
      g.fail("step", "gives more than " + std::to_string(kMaxGridPoints) +
                         " grid points (one pass evaluates at most " + std::to_string(kMaxGridPoints) + " ratios)");
  }
  if (f.has("band_grid")) r.band_grid = f.numbers("band_grid", kBandGrid, kBand);
  r.max_call_probability = f.number("max_call_probability", 0.01, kUnit);
  r.tracking_tolerance = f.number("tracking_tolerance", 0.05, kTolerance);
  if (f.has("horizons_days")) {
    const YAML::Node n = f.sequence("horizons_days", kHorizonList, "days, ascending");
    std::size_t i = 0;
    for (const YAML::Node& item : n) {
      const std::string where = f.field("horizons_days") + "[" + std::to_string(i++) + "]";
      const int day = static_cast<int>(f.whole_number_of(item, where, kHorizonRange, "days"));
      if (!r.horizons_days.empty() && day <= r.horizons_days.back())
        f.fail_at(item, where, std::to_string(day) + " must be above the horizon before it (ascending, distinct)");
      r.horizons_days.push_back(day);
    }
  }
  if (f.has("target_beta_grid")) {
    r.target_beta_grid = f.numbers("target_beta_grid", kTargetBetaGrid, kBeta);
    for (std::size_t i = 0; i < r.target_beta_grid.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (r.target_beta_grid[i] == r.target_beta_grid[j])
          f.fail("target_beta_grid", "lists " + std::to_string(r.target_beta_grid[i]) + " twice");
  }
  return r;
}

/// {SYMBOL: number, ...}: printable symbols, each value in `range`.
std::vector<std::pair<std::string, double>> parse_symbol_map(const Fields& f, const Interval& range) {
  std::vector<std::pair<std::string, double>> out;
  out.reserve(f.entries().size());
  for (const Fields::Entry& e : f.entries()) {
    const std::string where = f.field(clip_for_message(e.key));
    f.name_of(e.key_node, where, kMaxSymbolChars);
    out.emplace_back(e.key, f.number_of(e.value, where, range));
  }
  return out;
}

StressScenario parse_stress(const YAML::Node& n, const std::string& file, std::size_t index) {
  const Fields f(n, file, "stress[" + std::to_string(index) + "]");
  f.allow_only({"name", "correlation_blend", "correlation_set", "force_regime", "shock", "vol_multiplier",
                "funding_multiplier", "replay"});
  StressScenario s;
  s.name = f.name("name", kMaxNameChars);
  if (f.has("correlation_blend")) s.correlation_blend = f.number("correlation_blend", 0.0, kUnit);
  if (f.has("correlation_set")) {
    const Fields g = f.sub("correlation_set");
    for (const Fields::Entry& e : g.entries()) {
      const std::string where = g.field(clip_for_message(e.key));
      const auto comma = e.key.find(',');
      if (comma == std::string::npos || e.key.find(',', comma + 1) != std::string::npos)
        g.fail_at(e.key_node, where, "must name a pair as \"A,B\"");
      const std::string a = e.key.substr(0, comma);
      const std::string b = e.key.substr(comma + 1);
      if (a.empty() || b.empty() || a.size() > kMaxSymbolChars || b.size() > kMaxSymbolChars ||
          !is_printable_name(e.key))
        g.fail_at(e.key_node, where, "must name a pair of printable symbols as \"A,B\"");
      s.correlation_set.push_back({{a, b}, g.number_of(e.value, where, kCorrelation)});
    }
  }
  if (f.has("force_regime")) s.force_regime = f.name("force_regime", kMaxNameChars);
  if (f.has("shock")) s.shock = parse_symbol_map(f.sub("shock"), kShock);
  if (f.has("vol_multiplier")) s.vol_multiplier = f.number("vol_multiplier", 1.0, kVolMultiplier);
  if (f.has("funding_multiplier")) s.funding_multiplier = f.number("funding_multiplier", 1.0, kFundingMultiplier);
  if (f.has("replay")) {
    // A replay is the market that happened: keys that change the model's market do not apply.
    for (const char* key : {"correlation_blend", "correlation_set", "force_regime", "shock", "vol_multiplier"})
      if (f.has(key)) f.fail(key, "does not apply to a replay (history is the market; funding_multiplier does)");
    const Fields g = f.sub("replay");
    g.allow_only({"from", "to"});
    ReplayWindow w;
    for (const char* key : {"from", "to"}) {
      if (!g.has(key)) g.fail(key, "is missing (a date YYYY-MM-DD of the prices file)");
      const std::string date = g.name(key, 10);
      if (!is_iso_date(date)) g.fail(key, quoted_for_message(date) + " is not a date YYYY-MM-DD");
      (std::string(key) == "from" ? w.from : w.to) = date;
    }
    if (!(w.from < w.to)) g.fail("to", w.to + " must be after from " + w.from);
    s.replay = w;
  }
  return s;
}

/// Every mapping key's line under `node`, by dotted field ("stress[2].shock.ETH").
void record_field_lines(const YAML::Node& node, const std::string& prefix, std::map<std::string, int>& lines) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;
      const std::string field = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
      lines.emplace(field, line_of(kv.first));
      record_field_lines(kv.second, field, lines);
    }
  } else if (node.IsSequence()) {
    std::size_t i = 0;
    for (const YAML::Node& item : node) {
      const std::string field = prefix + "[" + std::to_string(i++) + "]";
      lines.emplace(field, line_of(item));
      record_field_lines(item, field, lines);
    }
  }
}

/// margin.collateral against the accounts: a list gives isolated margin's accounts, one per leg.
void check_margin_accounts(const BookConfig& book, const Fields& top) {
  const MarginConfig& m = book.margin;
  if (m.leg_collateral.empty()) {
    if (m.mode == MarginMode::isolated && m.collateral && book.hedge.legs.size() > 1)
      top.sub("margin").fail("collateral", "isolated margin has one account per leg: give [one amount per leg] or auto");
    return;
  }
  const Fields margin = top.sub("margin");
  if (m.mode != MarginMode::isolated)
    margin.fail("collateral", "a list (one account per leg) needs mode: isolated; cross margin has one account");
  if (m.leg_collateral.size() != book.hedge.legs.size())
    margin.fail("collateral", "has " + std::to_string(m.leg_collateral.size()) + " accounts for " +
                                  std::to_string(book.hedge.legs.size()) + " hedge legs: give one per leg");
}

BookConfig parse_book_root(const YAML::Node& root, const std::filesystem::path& source, ModelKey model_key) {
  const std::string file = source.string();
  if (!root || root.IsNull()) throw InputError(file + ": empty config");
  const Fields top(root, file, "");
  top.allow_only({"model", "portfolio", "hedge", "margin", "simulation", "risk", "stress"});
  BookConfig book;
  book.source = source;
  if (top.has("model")) book.model_path = source.parent_path() / top.name("model", 4096);
  else if (model_key == ModelKey::required) top.fail("model", "is missing (path of model.json, relative to this file)");

  const Fields portfolio = top.sub("portfolio");
  portfolio.allow_only({"holdings", "notional", "weights"});
  const bool by_weight = portfolio.has("notional") || portfolio.has("weights");
  if (portfolio.has("holdings") && by_weight)
    portfolio.fail(portfolio.has("notional") ? "notional" : "weights",
                   "give either holdings or notional and weights, not both");
  if (by_weight) {
    if (!portfolio.has("notional")) portfolio.fail("weights", "needs portfolio.notional (base currency at spot)");
    if (!portfolio.has("weights")) portfolio.fail("notional", "needs portfolio.weights ({ASSET: fraction, ...})");
    book.notional = portfolio.number("notional", 0.0, kNotional);
    book.weights = parse_symbol_map(portfolio.sub("weights"), kWeight);
    if (book.weights.empty()) portfolio.fail("weights", "must weigh at least one asset");
  } else {
    if (!portfolio.has("holdings"))
      portfolio.fail("holdings", "is missing (units per asset; or notional and weights)");
    book.holdings = parse_symbol_map(portfolio.sub("holdings"), kUnits);
    if (book.holdings.empty()) portfolio.fail("holdings", "must hold at least one asset");
  }

  if (top.has("hedge")) book.hedge = parse_hedge(top.sub("hedge"));
  if (top.has("margin")) book.margin = parse_margin(top.sub("margin"));
  check_margin_accounts(book, top);
  if (top.has("simulation")) book.simulation = parse_simulation(top.sub("simulation"));
  if (top.has("risk")) book.risk = parse_risk(top.sub("risk"));
  if (!book.risk.horizons_days.empty() && book.risk.horizons_days.back() > book.simulation.horizon_days) {
    const Fields risk = top.sub("risk");
    risk.fail("horizons_days", std::to_string(book.risk.horizons_days.back()) +
                                   " days is beyond simulation.horizon_days " +
                                   std::to_string(book.simulation.horizon_days));
  }
  if (top.has("stress")) {
    const YAML::Node list = top.sequence("stress", kStressList, "scenarios");
    std::set<std::string> names{"base"};
    std::size_t i = 0;
    for (const YAML::Node& item : list) {
      StressScenario s = parse_stress(item, file, i);
      if (!names.insert(s.name).second)
        throw InputError(file + ":" + std::to_string(line_of(item)) + ": stress[" + std::to_string(i) +
                         "].name: " + quoted_for_message(s.name) + " is used twice (or is the reserved name 'base')");
      book.stress.push_back(std::move(s));
      ++i;
    }
  }
  record_field_lines(root, "", book.field_lines);
  return book;
}

}  // namespace

std::string instrument_word(const HedgeLegConfig& leg) {
  switch (leg.instrument) {
    case HedgeInstrument::perpetual: return "perpetual";
    case HedgeInstrument::future: return "future";
    case HedgeInstrument::option: return leg.option.is_call ? "call" : "put";
    default: return "none";
  }
}

std::string leg_name(const HedgeLegConfig& leg, const std::string& default_benchmark) {
  if (!leg.name.empty()) return leg.name;
  return (leg.benchmark.empty() ? default_benchmark : leg.benchmark) + "-" + instrument_word(leg);
}

BackendChoice parse_backend_choice(const std::string& text, const std::string& where) {
  if (text == "auto") return BackendChoice::automatic;
  if (text == "cuda") return BackendChoice::cuda;
  if (text == "cpu") return BackendChoice::cpu;
  throw InputError(where + ": '" + clip_for_message(text) + "' is not one of: auto, cuda, cpu");
}

std::vector<int> report_horizons(const BookConfig& book) {
  std::vector<int> days;
  for (int d : book.risk.horizons_days)
    if (d < book.simulation.horizon_days) days.push_back(d);
  days.push_back(book.simulation.horizon_days);
  return days;
}

std::string book_location(const BookConfig& book, const std::string& field) {
  // The field itself, else the nearest enclosing field the file names: cut at the last '.' or '['.
  for (std::string at = field; !at.empty();) {
    const auto found = book.field_lines.find(at);
    if (found != book.field_lines.end() && found->second > 0)
      return book.source.string() + ":" + std::to_string(found->second) + ": " + field;
    const std::size_t cut = at.find_last_of(".[");
    if (cut == std::string::npos) break;
    at.resize(cut);
  }
  return book.source.string() + ": " + field;
}

std::string to_string(DriftRule rule) {
  switch (rule) {
    case DriftRule::zero: return "zero";
    case DriftRule::model: return "model";
    default: return "martingale";
  }
}

std::string to_string(BackendChoice choice) {
  switch (choice) {
    case BackendChoice::cuda: return "cuda";
    case BackendChoice::cpu: return "cpu";
    default: return "auto";
  }
}

BookConfig parse_book(const std::string& yaml_text, const std::filesystem::path& source, ModelKey model_key) {
  const std::string file = source.string();
  const YAML::Node root = load_yaml(yaml_text, file);
  try {
    return parse_book_root(root, source, model_key);
  } catch (const YAML::Exception& e) {
    throw_yaml_error(e, file);
  }
}

BookConfig load_book(const std::filesystem::path& path, ModelKey model_key) {
  return parse_book(read_input_file(path, "config file", kMaxConfigBytes), path, model_key);
}

}  // namespace betahedge
