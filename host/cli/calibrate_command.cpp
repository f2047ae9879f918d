/// `betahedge calibrate`: prices CSV -> model.json and regimes.csv beside it (SPEC 3, 4).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "betahedge/error.hpp"
#include "calibration/calibrate.hpp"
#include "cli/commands.hpp"
#include "cli/run_options.hpp"
#include "io/atomic_write.hpp"
#include "io/input_file.hpp"
#include "io/message_text.hpp"
#include "market/prices_csv.hpp"
#include "market/returns.hpp"
#include "ranks/ranks.hpp"
#include "report/finite_check.hpp"

namespace betahedge::cli {
namespace {

struct CalibrateArgs {
  std::string prices;
  std::string benchmark;
  std::string regimes = "2";
  std::string dist = "gaussian";
  std::string out = "model.json";
  std::string fill;
  std::string start;
  std::string end;
  std::vector<std::string> assets;
  std::uint64_t seed = 42;
  int starts = 10;
  int max_iterations = 1000;
  double tolerance = 1e-8;
  double ewma_lambda = 0.94;
  int rolling_window = 60;
  std::string initial = "stationary";
  bool shared_covariance = false;
  double covariance_floor = 1e-3;
  bool accept_unconverged = false;
  bool force = false;
  bool quiet = false;
  std::shared_ptr<ProgressDisplay> display = std::make_shared<ProgressDisplay>();
};

std::optional<int> parse_regimes(const std::string& text) {
  if (text == "auto") return std::nullopt;
  int k = 0;
  std::size_t used = 0;
  try {
    k = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || k < 1 || k > kMaxRegimes)
    throw InputError("--regimes: '" + text + "' must be auto or an integer 1.." + std::to_string(kMaxRegimes));
  return k;
}

CalibrationOptions calibration_options(const CalibrateArgs& a) {
  CalibrationOptions o;
  o.num_regimes = parse_regimes(a.regimes);
  o.fit.distribution = a.dist == "student-t" ? Distribution::student_t : Distribution::gaussian;
  o.fit.shared_covariance = a.shared_covariance;
  o.fit.initial = a.initial == "estimated" ? InitialDistribution::estimated : InitialDistribution::stationary;
  o.fit.num_starts = a.starts;
  o.fit.max_iterations = a.max_iterations;
  o.fit.tolerance = a.tolerance;
  o.fit.covariance_floor = a.covariance_floor;
  o.fit.seed = a.seed;
  o.ewma_lambda = a.ewma_lambda;
  o.rolling_window = a.rolling_window;
  o.accept_unconverged = a.accept_unconverged;
  return o;
}

int selected_asset_count(const PriceTable& table, const ReturnWindowOptions& window) {
  if (window.assets.empty()) return table.num_symbols();
  int count = static_cast<int>(window.assets.size());
  bool has_benchmark = false;
  for (const auto& a : window.assets) has_benchmark = has_benchmark || a == window.benchmark;
  return has_benchmark ? count : count + 1;
}

/// An existing file is replaced only when betahedge wrote it (or with --force): a model.json
/// says so in its "format", a regimes.csv in its header.
bool is_betahedge_model_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) > kMaxModelBytes || ec) return false;  // no model is that large
  std::ifstream in(path);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  return doc.is_object() && doc.value("format", "") == "betahedge.model/1";
}

bool is_betahedge_regimes_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  return header.rfind("date,filtered_", 0) == 0;
}

/// --out names a file: not empty, not a directory, neither it nor regimes.csv beside it may be
/// the prices file, and neither may replace a file that betahedge did not write (unless
/// --force). Returns the model path and the regimes.csv path.
std::pair<std::filesystem::path, std::filesystem::path> calibrate_output_paths(const CalibrateArgs& args) {
  namespace fs = std::filesystem;
  const fs::path out = normalized_output_path(args.out);
  const std::string shown = clip_for_message(args.out, 200);
  if (!args.out.empty() && args.out.back() == '/')
    throw InputError("--out: '" + shown + "' ends with '/', so it names a directory; give the model file to write (e.g. " +
                     (out / "model.json").string() + ")");
  if (fs::is_directory(out))
    throw InputError("--out: '" + shown + "' is a directory; give the model file to write (e.g. " +
                     (out / "model.json").string() + ")");
  const fs::path regimes = out.parent_path() / "regimes.csv";
  if (regimes == out)
    throw InputError("--out: '" + shown + "' would be overwritten by regimes.csv; choose another name");
  check_output_clear_of_inputs(out, {args.prices});
  check_output_clear_of_inputs(regimes, {args.prices}, "--out (regimes.csv beside it)");
  check_output_file_replaceable(out, is_betahedge_model_file, args.force);
  check_output_file_replaceable(regimes, is_betahedge_regimes_file, args.force, "--out (regimes.csv beside it)");
  for (fs::path p = out.parent_path(); !p.empty() && p != p.parent_path(); p = p.parent_path())
    if (fs::exists(p) && !fs::is_directory(p))
      throw InputError("--out: '" + p.string() + "' is not a directory, so '" + shown + "' cannot be written");
  return {out, regimes};
}

void run_calibrate(const CalibrateArgs& args) {
  if (args.fill != "" && args.fill != "forward") throw InputError("--fill: only 'forward' is supported");
  if (!(args.ewma_lambda > 0.0 && args.ewma_lambda < 1.0)) throw InputError("--ewma-lambda must be in (0, 1)");
  if (!(args.tolerance > 0.0 && std::isfinite(args.tolerance)))
    throw InputError("--tolerance: must be a positive number");
  if (!(args.covariance_floor >= 1e-12 && args.covariance_floor <= 1.0))
    throw InputError("--covariance-floor: must be in [1e-12, 1]");
  const auto [out, regimes_path] = calibrate_output_paths(args);
  const CalibrationOptions options = calibration_options(args);
  const PriceTable table = read_prices_csv(args.prices);

  ReturnWindowOptions window;
  window.benchmark = args.benchmark;
  window.assets = args.assets;
  if (!args.start.empty()) window.start = args.start;
  if (!args.end.empty()) window.end = args.end;
  window.fill_forward = args.fill == "forward";
  window.min_returns = minimum_returns(selected_asset_count(table, window), options);
  const ReturnData data = log_returns_on_common_window(table, window);

  auto say = [&](const std::string& line) {
    if (!args.quiet) args.display->event("calibrate: " + line);
  };
  if (table.converted_fractional_years)
    say("the 'time' column holds fractional years (260 business days a year); day i of a year is read as its i-th "
        "weekday");
  for (const auto& note : data.notes) say(note);

  const Calibration calibration = calibrate(data, options);

  // Everything is computed and checked before the first byte is written; each file lands by rename.
  const nlohmann::json model_json = calibration_to_json(calibration);
  require_finite_json(model_json, "model.json");
  const std::string model_text = model_json.dump(2) + "\n";
  const std::string regimes_text = regimes_csv(calibration, data);
  require_finite_csv(regimes_text, "regimes.csv");
  std::error_code ec;
  std::filesystem::create_directories(out.parent_path(), ec);
  if (ec) throw InputError("--out: cannot create the directory " + out.parent_path().string() + " (" + ec.message() + ")");
  write_file_atomically(regimes_path, regimes_text);
  try {
    write_file_atomically(out, model_text);
  } catch (...) {
    // The regimes.csv of a run whose model.json could not be written is not left behind.
    std::error_code ignored;
    std::filesystem::remove(regimes_path, ignored);
    throw;
  }
  say(calibration_summary(calibration, data));
  for (const std::string& w : calibration_warnings(calibration)) std::cerr << "warning: " << w << "\n";
  say("wrote " + out.string() + " and " + regimes_path.string());
}

}  // namespace

void add_calibrate_command(CLI::App& app, CommandAction& action) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand("calibrate", "fit betas and the regime model from a prices CSV");
  cmd->add_option("--prices", args->prices, "prices CSV: date,<SYM>,... (SPEC 4)")->required();
  cmd->add_option("--benchmark", args->benchmark, "benchmark column (the hedge's underlying)")->required();
  cmd->add_option("--regimes", args->regimes, "number of regimes 1..8, or auto (BIC over 1..4)")
      ->capture_default_str();
  cmd->add_option("--dist", args->dist, "emission distribution")
      ->check(CLI::IsMember({"gaussian", "student-t"}))
      ->capture_default_str();
  cmd->add_option("--out", args->out, "model file to write; regimes.csv goes beside it")->capture_default_str();
  cmd->add_option("--fill", args->fill, "fill empty cells: forward (repeat the previous close)")
      ->check(CLI::IsMember({"forward"}));
  cmd->add_option("--start", args->start, "first date of the window (YYYY-MM-DD)");
  cmd->add_option("--end", args->end, "last date of the window (YYYY-MM-DD)");
  cmd->add_option("--assets", args->assets, "assets to model, comma-separated (benchmark added if absent)")
      ->delimiter(',');
  cmd->add_option("--seed", args->seed, "seed of the EM starts (0..2^63)")
      ->check(whole_number())
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 63))
      ->capture_default_str();
  cmd->add_option("--starts", args->starts, "EM starts (volatility quantiles and k-means++, perturbed)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--max-iterations", args->max_iterations, "EM iteration cap per start")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--tolerance", args->tolerance, "EM stops when the relative log-likelihood change is below this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--ewma-lambda", args->ewma_lambda, "decay of the EWMA beta")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--rolling-window", args->rolling_window, "returns in the rolling OLS beta")
      ->check(CLI::Range(3, 100000))
      ->capture_default_str();
  cmd->add_option("--initial", args->initial,
                  "distribution of the first regime in EM: stationary (of the transition matrix, as statsmodels "
                  "and Stata) or estimated (as hmmlearn)")
      ->check(CLI::IsMember({"stationary", "estimated"}))
      ->capture_default_str();
  cmd->add_flag("--shared-covariance", args->shared_covariance, "one covariance for every regime (switching means)");
  cmd->add_option("--covariance-floor", args->covariance_floor,
                  "floor on each regime covariance's eigenvalues, relative to the sample variances")
      ->check(CLI::Range(1e-12, 1.0))
      ->capture_default_str();
  cmd->add_flag("--accept-unconverged", args->accept_unconverged,
                "write the model even when EM hits --max-iterations (converged: false)");
  cmd->add_flag("--force", args->force,
                "overwrite an existing --out file (or regimes.csv beside it) that betahedge did not write");
  cmd->add_flag("--quiet", args->quiet, "no progress lines on stderr");
  // Calibration simulates no paths: under mpirun rank 0 does all of it, the others wait for its outcome.
  cmd->callback([&action, args] { action = [args] { ranks::run_on_root([&] { run_calibrate(*args); }); }; });
}

}  // namespace betahedge::cli
