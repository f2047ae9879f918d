// betahedge._core: the engine for Python (nanobind). Every function takes the same texts the CLI
// reads from files (a book's YAML, model.json, a prices CSV), runs the same host functions as
// the CLI's commands and returns the files they would write, as text: the Python package
// (python/betahedge) turns them into dicts and DataFrames. Errors are the CLI's, raised as
// InputError, NumericalError and DeviceError.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/walk_forward.hpp"
#include "betahedge/error.hpp"
#include "config/book_config.hpp"
#include "config/run_config.hpp"
#include "config/simulation_limits.hpp"
#include "engine/backend_select.hpp"
#include "engine/risk_job.hpp"
#include "engine/simulation_setup.hpp"
#include "market/prices_csv.hpp"
#include "model/model_json.hpp"
#include "pipeline/overnight_job.hpp"
#include "report/output_files.hpp"

namespace nb = nanobind;
using namespace betahedge;

namespace {

/// Raises the pending KeyboardInterrupt (or the exception a signal handler raised) as a C++
/// exception that unwinds the engine. Needs the GIL.
void check_signals() {
  if (PyErr_CheckSignals() != 0) throw nb::python_error();
}

/// A progress callable (or None) as the engine's ProgressFn, for a call that runs the engine
/// with the GIL released: each line takes the GIL back, checks for Ctrl-C, then calls it. An
/// exception it raises ends the run and propagates. `progress` must outlive the run (the
/// call's argument does); it is held by pointer so that copies of the function never touch its
/// reference count without the GIL.
ProgressFn progress_of(const nb::object& progress) {
  return [p = &progress](const std::string& line) {
    nb::gil_scoped_acquire gil;
    check_signals();
    if (!p->is_none()) (*p)(line);
  };
}

/// The engine's check between batches (BatchCheck): Ctrl-C stops a long pass at the first batch
/// boundary 50 ms or more after the last check. Taking the GIL back waits for a busy Python
/// thread to yield it (its switch interval, 5 ms): once per batch, that would slow the CPU
/// backend's batches of a few ms several times over.
BatchCheck interrupt_check() {
  return [last = std::chrono::steady_clock::now()]() mutable {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(50)) return;
    last = now;
    nb::gil_scoped_acquire gil;
    check_signals();
  };
}

template <class T>
std::optional<T> optional_key(const nb::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none()) return std::nullopt;
  try {
    return nb::cast<T>(d[key]);
  } catch (const nb::cast_error&) {
    throw InputError(std::string(key) + ": has the wrong type");
  }
}

/// d[key], a Python int in lo..hi (any size: 2^63 and above too), or `value` when absent.
std::uint64_t whole_in(const nb::dict& d, const char* key, std::uint64_t lo, std::uint64_t hi, std::uint64_t value) {
  if (!d.contains(key) || d[key].is_none()) return value;
  const nb::object v = d[key];
  if (!PyLong_Check(v.ptr()) || PyBool_Check(v.ptr())) throw InputError(std::string(key) + ": has the wrong type");
  const auto outside = [&] {
    return InputError(std::string(key) + ": " + nb::cast<std::string>(nb::str(v)) + " is outside " + std::to_string(lo) +
                      ".." + std::to_string(hi));
  };
  const unsigned long long u = PyLong_AsUnsignedLongLong(v.ptr());  // negative or above 2^64-1: an error
  if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw outside();
  }
  if (u < lo || u > hi) throw outside();
  return u;
}

/// The CLI's common options (SPEC 3) on the book's simulation block, with the CLI's limits.
void apply_overrides(const nb::dict& o, SimulationConfig& s) {
  for (auto [key, value] : o) {
    static const std::set<std::string> known{"paths", "horizon_days", "seed", "backend", "threads", "batch_size"};
    const std::string name = nb::cast<std::string>(nb::str(key));
    if (!known.count(name)) throw InputError(name + ": not an option (paths, horizon_days, seed, backend, threads, batch_size)");
  }
  s.paths = whole_in(o, "paths", kMinPaths, kMaxPaths, s.paths);
  s.horizon_days = static_cast<int>(whole_in(o, "horizon_days", 1, kMaxHorizonDays, s.horizon_days));
  s.seed = whole_in(o, "seed", 0, kMaxSeed, s.seed);
  s.threads = static_cast<int>(whole_in(o, "threads", 0, kMaxThreads, s.threads));
  s.batch_size = whole_in(o, "batch_size", 0, kMaxBatchSize, s.batch_size);
  if (const auto backend = optional_key<std::string>(o, "backend")) s.backend = parse_backend_choice(*backend, "backend");
  if (static_cast<long long>(s.horizon_days) * s.steps_per_day > kMaxSteps)
    throw InputError("horizon_days: " + std::to_string(s.horizon_days) + " days x " + std::to_string(s.steps_per_day) +
                     " steps per day is more than " + std::to_string(kMaxSteps) + " steps");
}

PriceTable prices_of(const std::string& csv, const std::string& source) {
  std::istringstream in(csv);
  return parse_prices_csv(in, source);
}

/// The book of a call. With the model passed as text (`model_json`) the book need not name one,
/// and the book's model path becomes the model's name, so that messages name the model used.
BookConfig book_of(const std::string& book_yaml, const std::string& book_source,
                   const std::optional<std::string>& model_json, const std::string& model_source) {
  if (!model_json) return parse_book(book_yaml, book_source);
  BookConfig book = parse_book(book_yaml, book_source, ModelKey::optional);
  book.model_path = model_source;
  return book;
}

Model model_of(const std::optional<std::string>& model_json, const std::string& model_source, const BookConfig& book) {
  return model_json ? parse_model_json(*model_json, model_source) : load_model(book.model_path);
}

nb::dict files_dict(const std::vector<OutputFile>& files) {
  nb::dict d;
  for (const OutputFile& f : files) d[f.name.c_str()] = f.contents;
  return d;
}

nb::dict calibrate_py(const std::string& prices_csv, const std::string& prices_source, const std::string& benchmark,
                   const std::vector<std::string>& assets, std::optional<int> regimes, const std::string& distribution,
                   std::uint64_t seed, int starts, std::optional<std::string> start, std::optional<std::string> end,
                   bool fill_forward, const nb::object& progress) {
  if (regimes && (*regimes < 1 || *regimes > 8)) throw InputError("regimes: must be 1..8 or auto");
  if (distribution != "gaussian" && distribution != "student-t")
    throw InputError("dist: '" + distribution + "' is not gaussian or student-t");
  if (seed > kMaxSeed) throw InputError("seed: must be 0..2^63");
  if (starts < 1 || starts > 1000) throw InputError("starts: must be 1..1000");
  for (const auto& date : {start, end})
    if (date && !is_iso_date(*date)) throw InputError(std::string(date == start ? "start" : "end") + ": '" + *date + "' is not a date (YYYY-MM-DD)");
  RunCalibration c;
  c.benchmark = benchmark;
  c.assets = assets;
  c.regimes = regimes;
  c.student_t = distribution == "student-t";
  c.start = start;
  c.end = end;
  c.fill_forward = fill_forward;
  c.fill_forward_setting = "fill=\"forward\"";
  c.seed = seed;
  c.starts = starts;
  std::optional<CalibratedModel> calibrated;
  std::string model_json;
  std::vector<std::string> warnings;
  {
    nb::gil_scoped_release released;
    calibrated = calibrate_from_prices(prices_of(prices_csv, prices_source), c);
    model_json = calibration_to_json(calibrated->calibration).dump(2) + "\n";
    warnings = calibration_warnings(calibrated->calibration);
    const ProgressFn say = progress_of(progress);
    for (const std::string& note : calibrated->notes) say(note);
  }
  nb::dict out;
  out["model_json"] = model_json;
  out["regimes_csv"] = calibrated->regimes_csv;
  out["notes"] = calibrated->notes;
  out["warnings"] = warnings;
  return out;
}

JobStages stages_of(const std::string& command) {
  if (command == "simulate") return {};
  if (command == "stress") return {.stresses = true};
  if (command == "optimize") return {.stresses = true, .optimize = true};
  if (command == "bands") return {.bands = true};
  throw InputError("command: '" + command + "' is not simulate, stress, optimize or bands");
}

nb::dict risk_job_py(const std::string& command, const std::string& book_yaml, const std::string& book_source,
                  const std::optional<std::string>& model_json, const std::string& model_source,
                  const std::optional<std::string>& prices_csv, const std::string& prices_source, const nb::dict& overrides,
                  const nb::object& progress) {
  const JobStages stages = stages_of(command);
  BookConfig book = book_of(book_yaml, book_source, model_json, model_source);
  apply_overrides(overrides, book.simulation);
  std::vector<OutputFile> files;
  std::vector<std::string> warnings;
  {
    nb::gil_scoped_release released;
    const Model model = model_of(model_json, model_source, book);
    std::optional<PriceTable> prices;
    if (prices_csv) prices = prices_of(*prices_csv, prices_source);
    const RiskReport report =
        run_risk_job(model, book, stages, progress_of(progress), prices ? &*prices : nullptr, interrupt_check());
    files = risk_output_files(report, book, stages);
    warnings = report.warnings;
  }
  nb::dict out;
  out["files"] = files_dict(files);
  out["warnings"] = warnings;
  return out;
}

nb::dict outcomes_py(const std::string& book_yaml, const std::string& book_source, const std::optional<std::string>& model_json,
                  const std::string& model_source, const nb::dict& overrides, const nb::object& progress) {
  BookConfig book = book_of(book_yaml, book_source, model_json, model_source);
  apply_overrides(overrides, book.simulation);
  book.risk.horizons_days.clear();  // the intermediate horizons' columns are not returned: not kept
  const std::uint64_t paths = book.simulation.paths;
  auto values = std::make_unique<std::vector<double>>();
  double collateral_amount = 0.0;
  {
    nb::gil_scoped_release released;
    const Model model = model_of(model_json, model_source, book);
    const JobInputs inputs = prepare_job(model, book, JobStages{});
    SelectedBackend selected = select_backend(book.simulation.backend, book.simulation.threads);
    CheckedBackend backend(*selected.backend, interrupt_check());
    progress_of(progress)("outcomes: the base scenario's " + std::to_string(paths) + " paths on " + backend.name());
    // The collateral `simulate` posts, then the base scenario's paths with every outcome column kept.
    const CollateralChoice collateral = choose_collateral(backend, model, inputs, book);
    if (collateral.accounts.empty()) book.margin.collateral = collateral.amount;
    else book.margin.leg_collateral = collateral.accounts;
    const SimulationTables tables = build_simulation_tables(model, inputs.portfolio, book);
    *values = collect_outcomes(backend, tables, PathProgram::outcomes, paths, book.simulation.batch_size);
    values->resize(static_cast<std::size_t>(kNumOutcomeFields) * paths);  // the outcome fields, column-major
    collateral_amount = collateral.amount;
  }
  std::vector<double>* data = values.release();
  nb::capsule owner(data, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
  const std::size_t shape[2] = {static_cast<std::size_t>(kNumOutcomeFields), static_cast<std::size_t>(paths)};
  nb::dict out;
  out["columns"] = std::vector<std::string>{"pnl_unhedged", "pnl_hedged", "collateral_shortfall", "min_equity",
                                            "first_call_step", "liquidated", "costs", "rebalances", "beta_deviation"};
  out["values"] = nb::ndarray<nb::numpy, double, nb::ndim<2>, nb::c_contig>(data->data(), 2, shape, owner);
  out["collateral"] = collateral_amount;
  return out;
}

nb::dict run_py(const std::string& run_yaml, const std::string& run_source, const nb::dict& overrides,
             const nb::object& progress) {
  const RunConfig config = parse_run_config(run_yaml, run_source);
  BookConfig book = load_run_book(config);
  apply_overrides(overrides, book.simulation);
  std::vector<OutputFile> files;
  std::vector<std::string> warnings;
  {
    nb::gil_scoped_release released;
    const OvernightJob job = run_overnight_job(config, book, progress_of(progress), interrupt_check());
    warnings = job.report.warnings;
    if (job.backtest_tests)
      warnings.insert(warnings.end(), job.backtest_tests->warnings.begin(), job.backtest_tests->warnings.end());
    files = overnight_output_files(job, book);
  }
  nb::dict out;
  out["files"] = files_dict(files);
  out["warnings"] = warnings;
  out["report"] = config.report;
  return out;
}

nb::dict backtest_py(const std::string& prices_csv, const std::string& prices_source, const std::string& book_yaml,
                  const std::string& book_source, const nb::dict& options, const nb::dict& overrides,
                  const nb::object& progress) {
  static const std::set<std::string> known{"benchmark",   "regimes",      "distribution", "window_days", "refit_every",
                                           "horizon_days", "from",        "to",           "paths",       "fill_forward"};
  for (auto [key, value] : options) {
    const std::string name = nb::cast<std::string>(nb::str(key));
    if (!known.count(name)) throw InputError(name + ": not a backtest option");
  }
  BookConfig book = parse_book(book_yaml, book_source, ModelKey::optional);  // each date's model is fitted
  for (const char* key : {"paths", "horizon_days"})
    if (overrides.contains(key)) throw InputError(std::string(key) + ": a backtest option, not an override");
  apply_overrides(overrides, book.simulation);
  BacktestOptions o;
  o.benchmark = optional_key<std::string>(options, "benchmark").value_or("");
  o.fill_forward = optional_key<bool>(options, "fill_forward").value_or(false);
  o.fill_forward_setting = "fill=\"forward\"";
  o.names.keywords = true;  // messages name backtest()'s keywords, not the CLI's flags
  if (options.contains("regimes")) {
    o.num_regimes = optional_key<int>(options, "regimes");
    if (o.num_regimes && (*o.num_regimes < 1 || *o.num_regimes > 8)) throw InputError("regimes: must be 1..8 or auto");
  }
  const std::string distribution = optional_key<std::string>(options, "distribution").value_or("gaussian");
  if (distribution != "gaussian" && distribution != "student-t")
    throw InputError("dist: '" + distribution + "' is not gaussian or student-t");
  o.distribution = distribution == "student-t" ? Distribution::student_t : Distribution::gaussian;
  o.window_days = static_cast<int>(whole_in(options, "window_days", 1, 100000, o.window_days));
  o.refit_every = static_cast<int>(whole_in(options, "refit_every", 1, 1000000, o.refit_every));
  o.horizon_days = static_cast<int>(whole_in(options, "horizon_days", 1, kMaxHorizonDays, o.horizon_days));
  o.from = optional_key<std::string>(options, "from");
  o.to = optional_key<std::string>(options, "to");
  o.paths = whole_in(options, "paths", kMinPaths, kMaxPaths, o.paths);
  std::vector<OutputFile> files;
  std::vector<std::string> warnings, lines;
  {
    // Ctrl-C stops the walk forward before a date or between the batches of its passes.
    nb::gil_scoped_release released;
    BacktestRun result =
        run_backtest(prices_of(prices_csv, prices_source), book, o, progress_of(progress), interrupt_check());
    // Errors above name backtest()'s keywords; backtest.json's warnings name the CLI's flags, so
    // that .summary equals the CLI's backtest.json for the same inputs (SPEC 6, Python).
    result.options.names.keywords = false;
    const BacktestEvaluation evaluation = evaluate_backtest(result);
    files = backtest_output_files(result, evaluation);
    warnings = evaluation.warnings;
    lines = backtest_result_lines(evaluation);
  }
  nb::dict out;
  out["files"] = files_dict(files);
  out["warnings"] = warnings;
  out["lines"] = lines;
  return out;
}

/// Validates model.json text as the CLI does when it loads a model (InputError naming the
/// field); `source` names it in messages.
void check_model_py(const std::string& model_json, const std::string& source) {
  nb::gil_scoped_release released;
  parse_model_json(model_json, source);
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "betahedge's engine: the CLI's commands on texts, returning the files they write";
  nb::exception<InputError>(m, "InputError", PyExc_ValueError);
  nb::exception<NumericalError>(m, "NumericalError", PyExc_ArithmeticError);
  nb::exception<DeviceError>(m, "DeviceError", PyExc_RuntimeError);
  m.def("version", [] { return std::string(BETAHEDGE_VERSION); });
  m.def("backends", &compiled_backends);
  m.def("calibrate", &calibrate_py, nb::arg("prices_csv"), nb::arg("prices_source"), nb::arg("benchmark"),
        nb::arg("assets"), nb::arg("regimes").none(), nb::arg("distribution"), nb::arg("seed"), nb::arg("starts"),
        nb::arg("start").none(), nb::arg("end").none(), nb::arg("fill_forward"), nb::arg("progress").none());
  m.def("risk_job", &risk_job_py, nb::arg("command"), nb::arg("book_yaml"), nb::arg("book_source"),
        nb::arg("model_json").none(), nb::arg("model_source"), nb::arg("prices_csv").none(), nb::arg("prices_source"),
        nb::arg("overrides"), nb::arg("progress").none());
  m.def("outcomes", &outcomes_py, nb::arg("book_yaml"), nb::arg("book_source"), nb::arg("model_json").none(),
        nb::arg("model_source"), nb::arg("overrides"), nb::arg("progress").none());
  m.def("run", &run_py, nb::arg("run_yaml"), nb::arg("run_source"), nb::arg("overrides"), nb::arg("progress").none());
  m.def("check_model", &check_model_py, nb::arg("model_json"), nb::arg("source"));
  m.def("backtest", &backtest_py, nb::arg("prices_csv"), nb::arg("prices_source"), nb::arg("book_yaml"),
        nb::arg("book_source"), nb::arg("options"), nb::arg("overrides"), nb::arg("progress").none());
}
