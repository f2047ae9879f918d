#pragma once
/// Each `betahedge` subcommand registers itself on the CLI11 app and, when chosen, stores
/// the work to do in `action`; main() runs it inside the one place that maps errors to exit codes.
#include <functional>

#include <CLI/CLI.hpp>

namespace betahedge::cli {

using CommandAction = std::function<void()>;

void add_calibrate_command(CLI::App& app, CommandAction& action);
void add_simulate_command(CLI::App& app, CommandAction& action);
void add_stress_command(CLI::App& app, CommandAction& action);
void add_optimize_command(CLI::App& app, CommandAction& action);
void add_bands_command(CLI::App& app, CommandAction& action);
void add_run_command(CLI::App& app, CommandAction& action);
void add_info_command(CLI::App& app, CommandAction& action);
void add_bench_command(CLI::App& app, CommandAction& action);
void add_backtest_command(CLI::App& app, CommandAction& action);

}  // namespace betahedge::cli

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/book_config.hpp"
#include "report/output_files.hpp"

namespace betahedge::cli {

/// --regimes / calibrate.regimes text: 1..8, or auto (none). Throws InputError naming `option`.
std::optional<int> parse_regime_count(const std::string& text, const std::string& option);

/// Prints each warning on stderr as one `warning: ...` line (--quiet or not: a warning is no
/// progress line).
void print_warnings(const std::vector<std::string>& warnings);

}  // namespace betahedge::cli
