#include "cli/run_options.hpp"

#include <iostream>

#include "betahedge/error.hpp"

namespace betahedge::cli {

void add_run_options(CLI::App& command, RunOptions& o) {
  command.add_option("--paths", o.paths, "number of Monte Carlo paths")->check(CLI::PositiveNumber);
  command.add_option("--horizon-days", o.horizon_days, "horizon in days")->check(CLI::Range(1, 3650));
  command.add_option("--seed", o.seed, "random seed (Philox key)");
  command.add_option("--backend", o.backend, "auto | cuda | cpu")->check(CLI::IsMember({"auto", "cuda", "cpu"}));
  command.add_option("--threads", o.threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  command.add_option("--batch-size", o.batch_size, "paths per batch (0 = automatic)");
  command.add_flag("--quiet", o.quiet, "no progress lines on stderr");
}

void apply_run_options(const RunOptions& o, SimulationConfig& s) {
  if (o.paths) s.paths = *o.paths;
  if (o.horizon_days) s.horizon_days = *o.horizon_days;
  if (o.seed) s.seed = *o.seed;
  if (o.backend) s.backend = parse_backend_choice(*o.backend, "--backend");
  if (o.threads) s.threads = *o.threads;
  if (o.batch_size) s.batch_size = *o.batch_size;
  if (s.paths < 2) throw InputError("--paths: at least 2 paths are needed for statistics");
}

void progress(const RunOptions& o, const std::string& line) {
  if (!o.quiet) std::cerr << line << "\n";
}

}  // namespace betahedge::cli
