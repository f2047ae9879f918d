#include "config/book_config.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "betahedge/error.hpp"

namespace betahedge {
namespace {

/// Reads one YAML mapping with its location, so every message carries FILE:LINE: FIELD.
class Fields {
 public:
  Fields(const YAML::Node& node, std::string file, std::string prefix)
      : node_(node), file_(std::move(file)), prefix_(std::move(prefix)) {
    if (!node_.IsMap()) fail_at(node_, prefix_.empty() ? "(top level)" : prefix_, "must be a mapping");
  }

  /// Rejects keys outside `allowed`.
  void allow_only(std::initializer_list<const char*> allowed) const {
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (!ok.count(key)) fail_at(kv.first, field(key), "unknown key");
    }
  }

  bool has(const std::string& key) const { return static_cast<bool>(node_[key]); }
  YAML::Node get(const std::string& key) const { return node_[key]; }

  const YAML::Node& require(const std::string& key) const {
    if (!node_[key]) fail_at(node_, field(key), "is missing");
    required_ = node_[key];
    return required_;
  }

  double number(const std::string& key, double fallback) const {
    return has(key) ? number_of(node_[key], field(key)) : fallback;
  }
  double number_of(const YAML::Node& n, const std::string& where) const {
    if (!n.IsScalar()) fail_at(n, where, "must be a number");
    try {
      std::size_t used = 0;
      const std::string text = n.Scalar();
      double x = std::stod(text, &used);
      if (used != text.size() || !std::isfinite(x)) throw std::invalid_argument(text);
      return x;
    } catch (const std::exception&) {
      fail_at(n, where, "'" + n.Scalar() + "' is not a number");
    }
  }
  long long integer(const std::string& key, long long fallback) const {
    if (!has(key)) return fallback;
    const YAML::Node n = node_[key];
    double x = number_of(n, field(key));
    if (x != std::floor(x) || std::abs(x) > 9.0e15) fail_at(n, field(key), "must be a whole number");
    return static_cast<long long>(x);
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const YAML::Node n = node_[key];
    if (!n.IsScalar()) fail_at(n, field(key), "must be a string");
    return n.Scalar();
  }
  std::string choice(const std::string& key, const std::string& fallback,
                     std::initializer_list<const char*> options) const {
    const std::string value = text(key, fallback);
    std::string list;
    for (const char* o : options) {
      if (value == o) return value;
      list += std::string(list.empty() ? "" : ", ") + o;
    }
    fail_at(node_[key], field(key), "'" + value + "' is not one of: " + list);
  }
  /// A number or a list of numbers (per-regime values).
  std::vector<double> numbers(const std::string& key) const {
    std::vector<double> out;
    if (!has(key)) return out;
    const YAML::Node n = node_[key];
    if (n.IsScalar()) return {number_of(n, field(key))};
    if (!n.IsSequence()) fail_at(n, field(key), "must be a number or a list of numbers");
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(number_of(n[i], field(key) + "[" + std::to_string(i) + "]"));
    return out;
  }
  Fields sub(const std::string& key) const { return Fields(node_[key], file_, field(key)); }
  std::string field(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

  [[noreturn]] void fail_at(const YAML::Node& n, const std::string& where, const std::string& what) const {
    std::ostringstream msg;
    msg << file_;
    if (n.IsDefined() && n.Mark().line >= 0) msg << ":" << n.Mark().line + 1;
    msg << ": " << where << ": " << what;
    throw InputError(msg.str());
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    fail_at(has(key) ? node_[key] : node_, field(key), what);
  }

  const YAML::Node& node() const { return node_; }
  const std::string& file() const { return file_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string prefix_;
  mutable YAML::Node required_;
};

void require_range(const Fields& f, const std::string& key, double value, double lo, double hi, const std::string& what) {
  if (!(value >= lo && value <= hi)) f.fail(key, what);
}

HedgeConfig parse_hedge(const Fields& f) {
  f.allow_only({"instrument", "benchmark", "mode", "ratio", "target_beta", "band", "rebalance_every_days",
                "beta_estimate", "fee_bps", "slippage_bps", "funding_rate_8h", "future", "option"});
  HedgeConfig h;
  const std::string instrument = f.choice("instrument", "none", {"perpetual", "future", "put", "call", "option", "none"});
  h.instrument = instrument == "perpetual" ? HedgeInstrument::perpetual
                 : instrument == "future"  ? HedgeInstrument::future
                 : instrument == "none"    ? HedgeInstrument::none
                                           : HedgeInstrument::option;
  h.benchmark = f.text("benchmark", "");
  h.mode = f.choice("mode", "static", {"static", "dynamic"}) == "static" ? HedgeMode::static_ratio : HedgeMode::dynamic;
  h.ratio = f.number("ratio", 1.0);
  require_range(f, "ratio", h.ratio, -10.0, 10.0, "must be between -10 and 10");
  h.target_beta = f.number("target_beta", 0.0);
  h.band = f.number("band", 0.05);
  require_range(f, "band", h.band, 0.0, 10.0, "must be >= 0");
  h.rebalance_every_days = static_cast<int>(f.integer("rebalance_every_days", 1));
  if (h.rebalance_every_days < 1) f.fail("rebalance_every_days", "must be at least 1");
  h.beta_estimate = f.text("beta_estimate", "model");
  if (h.beta_estimate != "model" && h.beta_estimate != "ols" && h.beta_estimate != "ewma" && h.beta_estimate != "kalman")
    h.beta_estimate_value = f.number_of(f.get("beta_estimate"), f.field("beta_estimate"));
  h.fee_bps = f.number("fee_bps", 0.0);
  require_range(f, "fee_bps", h.fee_bps, 0.0, 1e4, "must be >= 0");
  h.slippage_bps = f.number("slippage_bps", 0.0);
  require_range(f, "slippage_bps", h.slippage_bps, 0.0, 1e4, "must be >= 0");
  h.funding_rate_8h = f.numbers("funding_rate_8h");
  if (f.has("future")) {
    Fields g = f.sub("future");
    g.allow_only({"expiry_days", "annual_basis", "roll_days_before", "roll_cost_bps"});
    h.future.expiry_days = static_cast<int>(g.integer("expiry_days", 90));
    if (h.future.expiry_days < 1) g.fail("expiry_days", "must be at least 1");
    h.future.annual_basis = g.numbers("annual_basis");
    h.future.roll_days_before = static_cast<int>(g.integer("roll_days_before", 2));
    if (h.future.roll_days_before < 0 || h.future.roll_days_before >= h.future.expiry_days)
      g.fail("roll_days_before", "must be in [0, expiry_days)");
    h.future.roll_cost_bps = g.number("roll_cost_bps", 0.0);
    require_range(g, "roll_cost_bps", h.future.roll_cost_bps, 0.0, 1e4, "must be >= 0");
  }
  if (f.has("option")) {
    Fields g = f.sub("option");
    g.allow_only({"kind", "strike", "tenor_days", "implied_vol_premium", "rate"});
    h.option.is_call = g.choice("kind", instrument == "call" ? "call" : "put", {"put", "call"}) == "call";
    h.option.strike = g.number("strike", 1.0);
    require_range(g, "strike", h.option.strike, 1e-6, 1e6, "must be positive");
    h.option.tenor_days = static_cast<int>(g.integer("tenor_days", 30));
    if (h.option.tenor_days < 1) g.fail("tenor_days", "must be at least 1");
    h.option.implied_vol_premium = g.number("implied_vol_premium", 1.0);
    require_range(g, "implied_vol_premium", h.option.implied_vol_premium, 1e-6, 100.0, "must be positive");
    h.option.rate = g.number("rate", 0.0);
  } else {
    h.option.is_call = instrument == "call";
  }
  if (instrument == "put" && h.option.is_call) f.fail("option", "kind 'call' contradicts instrument 'put'");
  if (instrument == "call" && !h.option.is_call) f.fail("option", "kind 'put' contradicts instrument 'call'");
  return h;
}

MarginConfig parse_margin(const Fields& f) {
  f.allow_only({"collateral", "initial_rate", "maintenance_rate", "on_call"});
  MarginConfig m;
  if (f.has("collateral")) {
    m.collateral = f.number("collateral", 0.0);
    require_range(f, "collateral", *m.collateral, 0.0, 1e300, "must be >= 0");
  }
  m.initial_rate = f.number("initial_rate", 0.10);
  require_range(f, "initial_rate", m.initial_rate, 0.0, 1.0, "must be in [0, 1]");
  m.maintenance_rate = f.number("maintenance_rate", 0.05);
  require_range(f, "maintenance_rate", m.maintenance_rate, 0.0, 1.0, "must be in [0, 1]");
  if (m.maintenance_rate > m.initial_rate) f.fail("maintenance_rate", "must not exceed initial_rate");
  m.on_call = f.choice("on_call", "liquidate", {"liquidate", "top_up"}) == "liquidate" ? MarginAction::liquidate
                                                                                       : MarginAction::top_up;
  return m;
}

SimulationConfig parse_simulation(const Fields& f) {
  f.allow_only({"paths", "horizon_days", "steps_per_day", "seed", "backend", "threads", "batch_size"});
  SimulationConfig s;
  const long long paths = f.integer("paths", 100000);
  if (paths < 1) f.fail("paths", "must be a positive number of paths");
  s.paths = static_cast<std::uint64_t>(paths);
  s.horizon_days = static_cast<int>(f.integer("horizon_days", 30));
  if (s.horizon_days < 1 || s.horizon_days > 3650) f.fail("horizon_days", "must be in 1..3650");
  s.steps_per_day = static_cast<int>(f.integer("steps_per_day", 1));
  if (s.steps_per_day < 1 || s.steps_per_day > 1440) f.fail("steps_per_day", "must be in 1..1440");
  const long long seed = f.integer("seed", 42);
  if (seed < 0) f.fail("seed", "must be >= 0");
  s.seed = static_cast<std::uint64_t>(seed);
  s.backend = parse_backend_choice(f.text("backend", "auto"), f.file() + ": " + f.field("backend"));
  s.threads = static_cast<int>(f.integer("threads", 0));
  if (s.threads < 0) f.fail("threads", "must be >= 0 (0 = all cores)");
  const long long batch = f.integer("batch_size", 0);
  if (batch < 0) f.fail("batch_size", "must be >= 0 (0 = automatic)");
  s.batch_size = static_cast<std::uint64_t>(batch);
  return s;
}

RiskConfig parse_risk(const Fields& f) {
  f.allow_only({"levels", "hedge_ratio_grid", "band_grid", "max_call_probability", "tracking_tolerance"});
  RiskConfig r;
  if (f.has("levels")) {
    const YAML::Node n = f.get("levels");
    if (!n.IsSequence() || n.size() == 0) f.fail("levels", "must be a non-empty list of levels in (0, 1)");
    r.levels.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string where = f.field("levels") + "[" + std::to_string(i) + "]";
      const double v = f.number_of(n[i], where);
      if (!(v > 0.0 && v < 1.0)) f.fail_at(n[i], where, "must be in (0, 1)");
      r.levels.push_back({n[i].Scalar(), v});
    }
  }
  if (f.has("hedge_ratio_grid")) {
    Fields g = f.sub("hedge_ratio_grid");
    g.allow_only({"from", "to", "step"});
    r.hedge_ratio_grid.from = g.number("from", 0.0);
    r.hedge_ratio_grid.to = g.number("to", 1.5);
    r.hedge_ratio_grid.step = g.number("step", 0.05);
    if (!(r.hedge_ratio_grid.step > 0.0)) g.fail("step", "must be positive");
    if (r.hedge_ratio_grid.to < r.hedge_ratio_grid.from) g.fail("to", "must be >= from");
    if ((r.hedge_ratio_grid.to - r.hedge_ratio_grid.from) / r.hedge_ratio_grid.step + 1 > 64 + 1e-9)
      g.fail("step", "gives more than 64 grid points (one pass evaluates at most 64 ratios)");
  }
  if (f.has("band_grid")) {
    r.band_grid = f.numbers("band_grid");
    if (r.band_grid.empty()) f.fail("band_grid", "must not be empty");
    for (double b : r.band_grid)
      if (!(b >= 0.0)) f.fail("band_grid", "bands must be >= 0");
  }
  r.max_call_probability = f.number("max_call_probability", 0.01);
  require_range(f, "max_call_probability", r.max_call_probability, 0.0, 1.0, "must be in [0, 1]");
  r.tracking_tolerance = f.number("tracking_tolerance", 0.05);
  require_range(f, "tracking_tolerance", r.tracking_tolerance, 0.0, 100.0, "must be >= 0");
  return r;
}

std::vector<std::pair<std::string, double>> parse_symbol_map(const Fields& f) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& kv : f.node()) {
    const std::string key = kv.first.as<std::string>();
    out.emplace_back(key, f.number_of(kv.second, f.field(key)));
  }
  return out;
}

StressScenario parse_stress(const YAML::Node& n, const std::string& file, std::size_t index) {
  Fields f(n, file, "stress[" + std::to_string(index) + "]");
  f.allow_only({"name", "correlation_blend", "correlation_set", "force_regime", "shock", "vol_multiplier",
                "funding_multiplier"});
  StressScenario s;
  s.name = f.text("name", "");
  if (s.name.empty()) f.fail("name", "is missing");
  if (f.has("correlation_blend")) {
    s.correlation_blend = f.number("correlation_blend", 0.0);
    require_range(f, "correlation_blend", *s.correlation_blend, 0.0, 1.0, "must be in [0, 1]");
  }
  if (f.has("correlation_set")) {
    Fields g = f.sub("correlation_set");
    for (const auto& kv : g.node()) {
      const std::string key = kv.first.as<std::string>();
      const auto comma = key.find(',');
      if (comma == std::string::npos || key.find(',', comma + 1) != std::string::npos)
        g.fail_at(kv.first, g.field(key), "must name a pair as \"A,B\"");
      const double rho = g.number_of(kv.second, g.field(key));
      if (!(rho >= -1.0 && rho <= 1.0)) g.fail_at(kv.second, g.field(key), "must be a correlation in [-1, 1]");
      s.correlation_set.push_back({{key.substr(0, comma), key.substr(comma + 1)}, rho});
    }
  }
  if (f.has("force_regime")) s.force_regime = f.text("force_regime", "");
  if (f.has("shock")) {
    s.shock = parse_symbol_map(f.sub("shock"));
    for (const auto& [symbol, r] : s.shock)
      if (!(r > -1.0)) f.fail("shock", "shock of " + symbol + " must be above -1 (a price cannot go below zero)");
  }
  if (f.has("vol_multiplier")) {
    s.vol_multiplier = f.number("vol_multiplier", 1.0);
    require_range(f, "vol_multiplier", *s.vol_multiplier, 1e-6, 100.0, "must be positive");
  }
  if (f.has("funding_multiplier")) s.funding_multiplier = f.number("funding_multiplier", 1.0);
  return s;
}

}  // namespace

BackendChoice parse_backend_choice(const std::string& text, const std::string& where) {
  if (text == "auto") return BackendChoice::automatic;
  if (text == "cuda") return BackendChoice::cuda;
  if (text == "cpu") return BackendChoice::cpu;
  throw InputError(where + ": '" + text + "' is not one of: auto, cuda, cpu");
}

std::string to_string(BackendChoice choice) {
  switch (choice) {
    case BackendChoice::cuda: return "cuda";
    case BackendChoice::cpu: return "cpu";
    default: return "auto";
  }
}

BookConfig parse_book(const std::string& yaml_text, const std::filesystem::path& source) {
  const std::string file = source.string();
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw InputError(file + ": empty config");
  try {
    Fields top(root, file, "");
    top.allow_only({"model", "portfolio", "hedge", "margin", "simulation", "risk", "stress"});
    BookConfig book;
    book.source = source;
    const std::string model = top.text("model", "");
    if (model.empty()) top.fail("model", "is missing (path of model.json, relative to this file)");
    book.model_path = source.parent_path() / model;

    Fields portfolio = top.sub("portfolio");
    top.require("portfolio");
    portfolio.allow_only({"holdings"});
    portfolio.require("holdings");
    book.holdings = parse_symbol_map(portfolio.sub("holdings"));
    if (book.holdings.empty()) portfolio.fail("holdings", "must hold at least one asset");

    if (top.has("hedge")) book.hedge = parse_hedge(top.sub("hedge"));
    if (top.has("margin")) book.margin = parse_margin(top.sub("margin"));
    if (top.has("simulation")) book.simulation = parse_simulation(top.sub("simulation"));
    if (top.has("risk")) book.risk = parse_risk(top.sub("risk"));
    if (top.has("stress")) {
      const YAML::Node list = root["stress"];
      if (!list.IsSequence()) top.fail("stress", "must be a list of scenarios");
      std::set<std::string> names{"base"};
      for (std::size_t i = 0; i < list.size(); ++i) {
        StressScenario s = parse_stress(list[i], file, i);
        if (!names.insert(s.name).second)
          throw InputError(file + ":" + std::to_string(list[i].Mark().line + 1) + ": stress[" + std::to_string(i) +
                           "].name: '" + s.name + "' is used twice (or is the reserved name 'base')");
        book.stress.push_back(std::move(s));
      }
    }
    return book;
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

BookConfig load_book(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_book(ss.str(), path);
}

}  // namespace betahedge
