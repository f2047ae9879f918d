#include <iostream>

#include "cli/commands.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/backend_select.hpp"
#include "ranks/ranks.hpp"

namespace betahedge::cli {

void add_info_command(CLI::App& app, CommandAction& action) {
  CLI::App* cmd = app.add_subcommand("info", "version, backends compiled in, devices seen");
  cmd->callback([&action] {
    action = [] {
      std::cout << "betahedge " << BETAHEDGE_VERSION << "\n";
      std::cout << "backends: ";
      const auto backends = compiled_backends();
      for (std::size_t i = 0; i < backends.size(); ++i) std::cout << (i ? ", " : "") << backends[i];
      std::cout << "\ncuda devices: " << describe_cuda_devices() << "\n";
      const std::string mpi = ranks::mpi_library();
      std::cout << "mpi: " << (mpi.empty() ? "not compiled in (BETAHEDGE_MPI=OFF)" : mpi + " (compiled in)")
                << ", ranks: " << ranks::count() << "\n";
      // The variants first: if BETAHEDGE_CPU_ISA names a wrong one, the error that follows
      // comes after the list of right ones.
      std::cout << "cpu instruction sets compiled in (the best one this CPU runs is used; BETAHEDGE_CPU_ISA picks one): ";
      const auto variants = cpu_isa_variants();
      for (std::size_t i = 0; i < variants.size(); ++i)
        std::cout << (i ? ", " : "") << variants[i].name << (variants[i].supported ? "" : " (not on this CPU)");
      std::cout << "\n" << std::flush;
      const std::string cpu = select_backend(BackendChoice::cpu, 0).backend->device_name();
      std::cout << "cpu: " << cpu << "\n";
    };
  });
}

}  // namespace betahedge::cli
