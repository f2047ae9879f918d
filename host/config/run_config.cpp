#include "config/run_config.hpp"

#include <set>

#include "betahedge/error.hpp"
#include "config/simulation_limits.hpp"
#include "config/yaml_fields.hpp"
#include "io/input_file.hpp"
#include "io/message_text.hpp"
#include "market/prices_csv.hpp"  // is_iso_date: the dates of the prices CSV

namespace betahedge {
namespace {

constexpr WholeRange kRegimesRange{1, 8};
constexpr WholeRange kSeedRange{0, kMaxSeed};
constexpr WholeRange kStartsRange{1, 1000};
constexpr LengthRange kAssets{1, 64};
constexpr std::size_t kMaxSymbolChars = 256;
constexpr std::size_t kMaxPathChars = 4096;

std::optional<std::string> iso_date(const Fields& c, const std::string& key) {
  if (!c.has(key)) return std::nullopt;
  const std::string text = c.text(key, "");
  if (!is_iso_date(text)) c.fail(key, quoted_for_message(text) + " must be a date YYYY-MM-DD");
  return text;
}

RunCalibration parse_calibration(const Fields& c, const std::filesystem::path& dir) {
  c.allow_only({"prices", "benchmark", "assets", "regimes", "distribution", "start", "end", "fill_forward", "seed",
                "starts"});
  RunCalibration cal;
  cal.prices = dir / c.name("prices", kMaxPathChars);
  cal.benchmark = c.name("benchmark", kMaxSymbolChars);
  if (c.has("assets")) {
    const YAML::Node list = c.sequence("assets", kAssets, "symbols");
    std::set<std::string> seen;
    std::size_t i = 0;
    for (const YAML::Node& item : list) {
      const std::string where = c.field("assets") + "[" + std::to_string(i++) + "]";
      const std::string symbol = c.name_of(item, where, kMaxSymbolChars);
      if (!seen.insert(symbol).second) c.fail_at(item, where, quoted_for_message(symbol) + " is listed twice");
      cal.assets.push_back(symbol);
    }
  }
  if (c.has("regimes")) {
    if (c.text("regimes", "") == "auto") cal.regimes.reset();
    else cal.regimes = static_cast<int>(c.whole_number("regimes", 2, kRegimesRange, "or auto"));
  }
  cal.student_t = c.choice("distribution", "gaussian", {"gaussian", "student-t"}) == "student-t";
  cal.start = iso_date(c, "start");
  cal.end = iso_date(c, "end");
  // ISO dates order as text.
  if (cal.start && cal.end && *cal.end < *cal.start) c.fail("end", "must not be before calibrate.start " + *cal.start);
  cal.fill_forward = c.boolean("fill_forward", cal.fill_forward);
  cal.seed = c.whole_number("seed", cal.seed, kSeedRange);
  cal.starts = static_cast<int>(c.whole_number("starts", static_cast<std::uint64_t>(cal.starts), kStartsRange));
  return cal;
}

RunBacktest parse_backtest(const Fields& b) {
  b.allow_only({"window_days", "refit_every", "horizon_days", "from", "to", "paths"});
  RunBacktest bt;
  bt.window_days = static_cast<int>(b.whole_number("window_days", static_cast<std::uint64_t>(bt.window_days), {1, 100000}));
  bt.refit_every = static_cast<int>(b.whole_number("refit_every", static_cast<std::uint64_t>(bt.refit_every), {1, 1000000}));
  bt.horizon_days = static_cast<int>(
      b.whole_number("horizon_days", static_cast<std::uint64_t>(bt.horizon_days), {1, static_cast<std::uint64_t>(kMaxHorizonDays)}));
  bt.from = iso_date(b, "from");
  bt.to = iso_date(b, "to");
  if (bt.from && bt.to && *bt.to < *bt.from) b.fail("to", "must not be before backtest.from " + *bt.from);
  bt.paths = b.whole_number("paths", bt.paths, {kMinPaths, kMaxPaths});
  bt.config = b.file();
  for (const char* key : {"window_days", "refit_every", "horizon_days", "from", "to", "paths"})
    if (b.has(key)) bt.lines[key] = line_of(b.get(key));
  return bt;
}

RunConfig parse_run_root(const YAML::Node& root, const std::filesystem::path& source) {
  const std::string file = source.string();
  if (!root.IsMap()) throw InputError(file + ": must be a mapping with at least 'book:'");
  const Fields top(root, file, "");
  top.allow_only({"book", "calibrate", "backtest", "report"});
  RunConfig rc;
  rc.source = source;
  if (!top.has("book")) top.fail("book", "is missing (path of book.yaml, relative to this file)");
  rc.book = source.parent_path() / top.name("book", kMaxPathChars);
  rc.report = top.boolean("report", rc.report);
  if (top.has("calibrate")) rc.calibrate = parse_calibration(top.sub("calibrate"), source.parent_path());
  if (top.has("backtest")) {
    if (!rc.calibrate) top.fail("backtest", "needs calibrate: in this file (the backtest walks forward over its prices)");
    rc.backtest = parse_backtest(top.sub("backtest"));
    // The backtest's benchmark and regime count are the calibration's: messages point there.
    for (const Fields::Entry& e : top.entries())
      if (e.key == "backtest") rc.backtest->block_line = line_of(e.key_node);
    const Fields calibrate = top.sub("calibrate");
    for (const char* key : {"benchmark", "regimes"})
      if (calibrate.has(key)) rc.backtest->lines[key] = line_of(calibrate.get(key));
  }
  return rc;
}

}  // namespace

RunConfig parse_run_config(const std::string& yaml_text, const std::filesystem::path& source) {
  const std::string file = source.string();
  const YAML::Node root = load_yaml(yaml_text, file);
  try {
    return parse_run_root(root, source);
  } catch (const YAML::Exception& e) {
    throw_yaml_error(e, file);
  }
}

RunConfig load_run_config(const std::filesystem::path& path) {
  return parse_run_config(read_input_file(path, "config file", kMaxConfigBytes), path);
}

}  // namespace betahedge
