#include <cstdio>
#include <exception>
#include <filesystem>
#include <ios>
#include <iostream>
#include <new>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "betahedge/error.hpp"
#include "cli/commands.hpp"
#include "io/message_text.hpp"

int main(int argc, char** argv) {
  using namespace betahedge;
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
  cli::add_info_command(app, action);
  cli::add_bench_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << clip_for_message(e.what(), 300) << " (see betahedge --help)\n";
    return kExitInput;
  }

  // The one place where failures become exit codes (SPEC 3): one line on stderr, no trace,
  // never exit 1. Loaders turn library exceptions into InputError with the file and field;
  // what still reaches here from a library is mapped by its kind.
  const auto fail = [](int code, const std::string& line) {
    std::cerr << "error: " << line << "\n";
    return code;
  };
  try {
    if (action) action();
    return kExitOk;
  } catch (const InputError& e) {
    return fail(kExitInput, e.what());
  } catch (const NumericalError& e) {
    return fail(kExitNumerical, e.what());
  } catch (const DeviceError& e) {
    return fail(kExitDevice, e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(kExitInput, clip_for_message(e.path1().string(), 200) + ": " + e.code().message());
  } catch (const std::ios_base::failure& e) {
    return fail(kExitInput, std::string("reading or writing a file failed: ") + e.code().message());
  } catch (const nlohmann::json::exception& e) {
    return fail(kExitInput, "invalid JSON value: " + clip_for_message(e.what(), 200));
  } catch (const std::bad_alloc&) {
    return fail(kExitNumerical, "out of memory (try fewer --paths or a smaller --batch-size)");
  } catch (const std::length_error&) {
    return fail(kExitInput, "a size is too large for this machine (try fewer --paths or a smaller --batch-size)");
  } catch (const std::exception& e) {
    return fail(kExitNumerical, "internal: " + clip_for_message(e.what(), 200) + " (please report this)");
  } catch (...) {
    return fail(kExitNumerical, "internal: an unknown exception (please report this)");
  }
}
