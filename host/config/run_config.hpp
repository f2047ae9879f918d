#pragma once
/// run.yaml: the overnight job. Paths are relative to the run.yaml file.
///
///   book: book.yaml            # required
///   calibrate:                 # optional; without it the book's model: is used
///     prices: prices.csv       # SPEC 4 prices CSV
///     benchmark: BTC
///     assets: [BTC, ETH, SOL]  # optional, at most 64, no repeats; default every column
///     regimes: 2               # 1..8 or auto
///     distribution: gaussian   # or student-t
///     start: 2020-01-01        # optional window, YYYY-MM-DD
///     end: 2024-12-31          # not before start
///     fill_forward: false
///     seed: 42                 # 0..2^63
///     starts: 10               # 1..1000
///   backtest:                  # optional; needs calibrate: (it walks forward over its prices,
///                              # the whole file: calibrate.start/end bound the run's model only)
///     window_days: 730         # returns per calibration window
///     refit_every: 20          # test dates between refits
///     horizon_days: 1
///     from: 2024-01-01         # optional test period, YYYY-MM-DD
///     to: 2024-12-31          # default: the last close with a full horizon (past calibrate.end)
///     paths: 100000            # per test date
///   report: true               # render report.html (default true)
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace betahedge {

struct RunCalibration {
  std::filesystem::path prices;
  std::string benchmark;
  std::vector<std::string> assets;
  std::optional<int> regimes = 2;  ///< none = auto (BIC)
  bool student_t = false;
  std::optional<std::string> start;
  std::optional<std::string> end;
  bool fill_forward = false;
  /// How fill_forward is set, for messages (the Python package says `fill="forward"`).
  std::string fill_forward_setting = "calibrate.fill_forward: true";
  std::uint64_t seed = 42;
  int starts = 10;
};

/// The run's walk-forward backtest (betahedge backtest's options; the calibration's prices,
/// benchmark, regimes, distribution, seed and starts).
struct RunBacktest {
  int window_days = 730;
  int refit_every = 20;
  int horizon_days = 1;
  std::optional<std::string> from;
  std::optional<std::string> to;  ///< none: the last close with a full horizon, past calibrate.end if need be
  std::uint64_t paths = 100000;
  /// Where each option is written, for messages "run.yaml:14: backtest.window_days: ...": the
  /// file as given, the line of backtest: and of each field written (window_days, ..., and the
  /// calibration's benchmark and regimes, which the backtest uses).
  std::string config;
  int block_line = 0;
  std::map<std::string, int> lines;
};

struct RunConfig {
  std::filesystem::path source;
  std::filesystem::path book;
  std::optional<RunCalibration> calibrate;
  std::optional<RunBacktest> backtest;
  bool report = true;
};

/// Loads run.yaml (a regular file of at most kMaxConfigBytes); throws InputError
/// "FILE:LINE: FIELD: what is wrong".
RunConfig load_run_config(const std::filesystem::path& path);

/// Parses run.yaml text; `source` names it in messages and anchors the relative paths.
/// Returns a config or throws InputError, whatever the bytes.
RunConfig parse_run_config(const std::string& yaml_text, const std::filesystem::path& source);

}  // namespace betahedge
