#include "cli/run_options.hpp"

#include "betahedge/error.hpp"
#include "config/simulation_limits.hpp"
#include "io/message_text.hpp"

namespace betahedge::cli {

CLI::Validator whole_number() {
  return CLI::Validator(
      [](std::string& text) {
        const std::size_t digits = text.find_first_not_of("+-") == 1 ? 1 : 0;
        const bool whole = text.size() > digits && text.find_first_not_of("0123456789", digits) == std::string::npos;
        return whole ? std::string() : "must be a whole number, got '" + clip_for_message(text) + "'";
      },
      "", "whole_number");  // no description: the help shows the type and its range only
}

void add_run_options(CLI::App& command, RunOptions& o) {
  // Ranges are checked by CLI11 on the parsed value (no wrap-around: "-1" is no seed).
  command.add_option("--paths", o.paths, "number of Monte Carlo paths (2..2^40)")
      ->check(whole_number())->check(CLI::Range(kMinPaths, kMaxPaths));
  command.add_option("--horizon-days", o.horizon_days, "horizon in days (1..3650)")
      ->check(whole_number())
      ->check(CLI::Range(1, kMaxHorizonDays));
  command.add_option("--seed", o.seed, "random seed, the Philox key (0..2^63)")->check(whole_number())
      ->check(CLI::Range(std::uint64_t{0}, kMaxSeed));
  command.add_option("--backend", o.backend, "auto | cuda | cpu")->check(CLI::IsMember({"auto", "cuda", "cpu"}));
  command.add_option("--threads", o.threads, "CPU threads (0 = all cores; at most 1024)")->check(whole_number())
      ->check(CLI::Range(0, kMaxThreads));
  command.add_option("--batch-size", o.batch_size, "paths per batch (0 = automatic; rounded up to a multiple of 4096; at most 2^40)")
      ->check(whole_number())
      ->check(CLI::Range(std::uint64_t{0}, kMaxBatchSize));
  command.add_flag("--quiet", o.quiet, "no progress lines on stderr");
}

void add_output_options(CLI::App& command, std::filesystem::path& out, bool& force) {
  command.add_option("--out", out, "output directory (written completely or not at all)")->required();
  command.add_flag("--force", force,
                   "replace an existing --out directory even if betahedge did not write it (never one holding an input)");
}

void apply_run_options(const RunOptions& o, SimulationConfig& s) {
  if (o.paths) s.paths = *o.paths;
  if (o.horizon_days) s.horizon_days = *o.horizon_days;
  if (o.seed) s.seed = *o.seed;
  if (o.backend) s.backend = parse_backend_choice(*o.backend, "--backend");
  if (o.threads) s.threads = *o.threads;
  if (o.batch_size) s.batch_size = *o.batch_size;
  if (static_cast<long long>(s.horizon_days) * s.steps_per_day > kMaxSteps)
    throw InputError("--horizon-days: " + std::to_string(s.horizon_days) + " days x " +
                     std::to_string(s.steps_per_day) + " steps per day is more than " + std::to_string(kMaxSteps) +
                     " steps");
}

void progress(const RunOptions& o, const std::string& line) {
  if (!o.quiet) o.display->event(line);
}

}  // namespace betahedge::cli
