#include <exception>
#include <filesystem>
#include <ios>
#include <iostream>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "betahedge/error.hpp"
#include "cli/commands.hpp"
#include "io/message_text.hpp"
#include "ranks/ranks.hpp"

namespace {
using namespace betahedge;

/// The one place where failures become exit codes (SPEC 3): never exit 1. Loaders turn library
/// exceptions into InputError with the file and field; what still reaches here from a library
/// is mapped by its kind.
ranks::Outcome outcome_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const InputError& e) {
    return {kExitInput, e.what()};
  } catch (const NumericalError& e) {
    return {kExitNumerical, e.what()};
  } catch (const DeviceError& e) {
    return {kExitDevice, e.what()};
  } catch (const std::filesystem::filesystem_error& e) {
    return {kExitInput, clip_for_message(e.path1().string(), 200) + ": " + e.code().message()};
  } catch (const std::ios_base::failure& e) {
    return {kExitInput, std::string("reading or writing a file failed: ") + e.code().message()};
  } catch (const nlohmann::json::exception& e) {
    return {kExitInput, "invalid JSON value: " + clip_for_message(e.what(), 200)};
  } catch (const std::bad_alloc&) {
    return {kExitNumerical, "out of memory (try fewer --paths or a smaller --batch-size)"};
  } catch (const std::length_error&) {
    return {kExitInput, "a size is too large for this machine (try fewer --paths or a smaller --batch-size)"};
  } catch (const std::exception& e) {
    return {kExitNumerical, "internal: " + clip_for_message(e.what(), 200) + " (please report this)"};
  } catch (...) {
    return {kExitNumerical, "internal: an unknown exception (please report this)"};
  }
}

/// Parses the command line and runs the command it names, on this rank.
ranks::Outcome parse_and_run(int argc, char** argv) {
  CLI::App app{"betahedge: Monte Carlo risk engine for beta-hedged portfolios", "betahedge"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(BETAHEDGE_VERSION));

  cli::CommandAction action;
  cli::add_calibrate_command(app, action);
  cli::add_simulate_command(app, action);
  cli::add_stress_command(app, action);
  cli::add_optimize_command(app, action);
  cli::add_bands_command(app, action);
  cli::add_run_command(app, action);
  cli::add_backtest_command(app, action);
  cli::add_info_command(app, action);
  cli::add_bench_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return {app.exit(e), ""};
  } catch (const CLI::CallForVersion& e) {
    return {app.exit(e), ""};
  } catch (const CLI::ParseError& e) {
    // The help of the command the mistake was made in, when it got that far.
    const std::vector<CLI::App*> commands = app.get_subcommands();
    const std::string help = commands.empty() ? "betahedge --help" : "betahedge " + commands.back()->get_name() + " --help";
    return {kExitInput, clip_for_message(e.what(), 300) + " (see " + help + ")"};
  }
  try {
    if (action) action();
    return {kExitOk, ""};
  } catch (...) {
    return outcome_of(std::current_exception());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Under mpirun every rank runs this; MPI is finished when `session` goes, on every return.
  ranks::Session session(argc, argv);
  // Rank 0 speaks for the job (progress, results, the one error line); the others stay silent.
  // A null buffer makes every write to the stream a no-op.
  if (!ranks::is_root()) {
    std::cout.rdbuf(nullptr);
    std::cerr.rdbuf(nullptr);
  }
  // Every rank ends with the job's outcome: an error met on one rank alone (rank 0 writing the
  // outputs) fails them all, with one line on stderr, starting with `error:`.
  const ranks::Outcome job = ranks::agree_on_outcome(parse_and_run(argc, argv));
  if (job.exit_code != kExitOk) std::cerr << "error: " << job.error << "\n";
  return job.exit_code;
}
