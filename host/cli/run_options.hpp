#pragma once
/// The options every simulating command shares (SPEC 3); the command line overrides the config.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/progress_bar.hpp"
#include "config/book_config.hpp"

namespace betahedge::cli {

struct RunOptions {
  std::optional<std::uint64_t> paths;
  std::optional<int> horizon_days;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> backend;
  std::optional<int> threads;
  std::optional<std::uint64_t> batch_size;
  bool quiet = false;
  /// Where progress() draws: shared by the copies of these options, and alive as long as the
  /// command's arguments (the CLI app's, until main() has the command's outcome), so its status
  /// line is closed before the error line is printed.
  std::shared_ptr<ProgressDisplay> display = std::make_shared<ProgressDisplay>();
};

void add_run_options(CLI::App& command, RunOptions& options);

/// Digits with an optional sign, checked before a Range validator: without it CLI11 says
/// "Value abc not in range" of text that is no number, or of 1.5.
CLI::Validator whole_number();

/// --out (required) and --force, for the commands that write an output directory.
void add_output_options(CLI::App& command, std::filesystem::path& out, bool& force);

/// Applies the command-line overrides to the config's simulation block; throws InputError.
void apply_run_options(const RunOptions& options, SimulationConfig& simulation);

/// Reports a progress event on stderr unless --quiet: a line, or the status line on a terminal
/// (ProgressDisplay).
void progress(const RunOptions& options, const std::string& line);

}  // namespace betahedge::cli
