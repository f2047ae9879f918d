#include "config/run_config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "betahedge/error.hpp"

namespace betahedge {
namespace {

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& field, const std::string& what) {
  std::string where = file;
  if (n.IsDefined() && n.Mark().line >= 0) where += ":" + std::to_string(n.Mark().line + 1);
  throw InputError(where + ": " + field + ": " + what);
}

void allow_only(const std::string& file, const YAML::Node& map, const std::string& prefix,
                std::initializer_list<const char*> keys) {
  const std::set<std::string> ok(keys.begin(), keys.end());
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!ok.count(key)) fail(file, kv.first, prefix + key, "unknown key");
  }
}

std::string scalar(const std::string& file, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) fail(file, n, field, "must be a single value");
  return n.Scalar();
}

long long whole_number(const std::string& file, const YAML::Node& n, const std::string& field, long long lo,
                       long long hi) {
  const std::string text = scalar(file, n, field);
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= lo && v <= hi) return v;
  } catch (const std::exception&) {
  }
  fail(file, n, field, "'" + text + "' must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi));
}

bool boolean(const std::string& file, const YAML::Node& n, const std::string& field) {
  const std::string text = scalar(file, n, field);
  if (text == "true") return true;
  if (text == "false") return false;
  fail(file, n, field, "must be true or false");
}

}  // namespace

RunConfig load_run_config(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw InputError(file + ": cannot open run config");
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (!root.IsMap()) throw InputError(file + ": must be a mapping with at least 'book:'");
  allow_only(file, root, "", {"book", "calibrate", "report"});
  RunConfig rc;
  rc.source = path;
  if (!root["book"]) throw InputError(file + ": book: is missing (path of book.yaml, relative to this file)");
  rc.book = path.parent_path() / scalar(file, root["book"], "book");
  if (root["report"]) rc.report = boolean(file, root["report"], "report");
  if (const YAML::Node c = root["calibrate"]) {
    if (!c.IsMap()) fail(file, c, "calibrate", "must be a mapping");
    allow_only(file, c, "calibrate.",
               {"prices", "benchmark", "assets", "regimes", "distribution", "start", "end", "fill_forward", "seed",
                "starts"});
    RunCalibration cal;
    if (!c["prices"]) fail(file, c, "calibrate.prices", "is missing");
    cal.prices = path.parent_path() / scalar(file, c["prices"], "calibrate.prices");
    if (!c["benchmark"]) fail(file, c, "calibrate.benchmark", "is missing");
    cal.benchmark = scalar(file, c["benchmark"], "calibrate.benchmark");
    if (const YAML::Node a = c["assets"]) {
      if (!a.IsSequence()) fail(file, a, "calibrate.assets", "must be a list of symbols");
      for (std::size_t i = 0; i < a.size(); ++i)
        cal.assets.push_back(scalar(file, a[i], "calibrate.assets[" + std::to_string(i) + "]"));
    }
    if (const YAML::Node r = c["regimes"]) {
      if (scalar(file, r, "calibrate.regimes") == "auto") cal.regimes.reset();
      else cal.regimes = static_cast<int>(whole_number(file, r, "calibrate.regimes", 1, 8));
    }
    if (const YAML::Node d = c["distribution"]) {
      const std::string dist = scalar(file, d, "calibrate.distribution");
      if (dist != "gaussian" && dist != "student-t") fail(file, d, "calibrate.distribution", "must be gaussian or student-t");
      cal.student_t = dist == "student-t";
    }
    if (c["start"]) cal.start = scalar(file, c["start"], "calibrate.start");
    if (c["end"]) cal.end = scalar(file, c["end"], "calibrate.end");
    if (c["fill_forward"]) cal.fill_forward = boolean(file, c["fill_forward"], "calibrate.fill_forward");
    if (c["seed"]) cal.seed = static_cast<std::uint64_t>(whole_number(file, c["seed"], "calibrate.seed", 0, 1LL << 62));
    if (c["starts"]) cal.starts = static_cast<int>(whole_number(file, c["starts"], "calibrate.starts", 1, 1000));
    rc.calibrate = cal;
  }
  return rc;
}

}  // namespace betahedge
