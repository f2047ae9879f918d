#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "betahedge/error.hpp"
#include "cli/commands.hpp"

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
    std::cerr << "error: " << e.what() << " (see betahedge --help)\n";
    return kExitInput;
  }

  // The one place where failures become exit codes (SPEC 3): one line on stderr, no trace.
  try {
    if (action) action();
    return kExitOk;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInput;
  } catch (const NumericalError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitNumerical;
  } catch (const DeviceError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitDevice;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory (try fewer --paths or a smaller --batch-size)\n";
    return kExitNumerical;
  } catch (const std::exception& e) {
    std::cerr << "error: internal: " << e.what() << "\n";
    return 1;
  }
}
