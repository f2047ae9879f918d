#include "cpu_backend/cpu_backend.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "betahedge/error.hpp"
#include "betahedge/path_simulation.hpp"
#include "cpu_backend/philox_block_stream.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

/// 2^13 paths a batch: the ratio grid's 131 columns are then 8.6 MB, which stay in the cache
/// between the paths' writes and the statistics' reads (measured: `optimize` of the demo book
/// 12% faster than with 2^16, `simulate` 6%).
constexpr std::uint64_t kDefaultBatch = 1u << 13;

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "CPU";
}

/// Words a path takes from its stream: a uniform for today's and each day's regime (when
/// there are several), a normal per asset per step, and for Student-t about three per step
/// for the chi-square (two per Marsaglia-Tsang attempt, one more for a shape below 1).
int expected_words_per_path(const MarketView& m) {
  const std::int64_t steps = static_cast<std::int64_t>(m.num_days) * m.steps_per_day;
  std::int64_t words = (m.num_regimes > 1 ? 1 + m.num_days : 0) + steps * m.num_assets;
  if (m.student_t) words += 3 * steps;
  return static_cast<int>(std::min<std::int64_t>(words, std::numeric_limits<int>::max() / 2));
}

/// Paths [first, last) of a batch that starts at path id `batch_first`, one after another,
/// their draws computed in blocks by `fill`: the body every instruction-set variant below
/// compiles. Path p's outcomes go to index p - batch_first of `out`.
template <int kCapacity, PathProgram kProgram>
inline void run_path_range(const SimulationView& view, std::uint64_t batch_first, std::uint64_t first,
                           std::uint64_t last, const OutcomeColumns& out, FillDrawBlock fill) {
  DrawBlock block{};  // zeroed once per range: the compiler cannot see that fill writes it before any read
  const int expected_words = expected_words_per_path(view.market);
  const auto run = [&]<int kLegs>(const SimulationView& v) {
    for (std::uint64_t path_id = first; path_id < last; ++path_id) {
      PhiloxBlockStream gen(v.seed, path_id, expected_words, block, fill);
      run_path_program<kProgram, kCapacity, kLegs>(v, gen, out, path_id - batch_first);
    }
  };
  // The common case, a hedge of one perpetual on daily steps of a gaussian model, with those
  // facts constants the compiler sees: the loops over legs and accounts, the tests of the
  // instrument, the step loop and the chi-square draw fold away. Same code, same numbers; one
  // more copy of it in the binary. Every other book runs the general copy, legs and all.
  const HedgeView& h = view.hedge;
  if (h.num_legs == 1 && h.legs[0].kind == HedgeKind::perpetual && view.market.steps_per_day == 1 &&
      !view.market.student_t) {
    SimulationView daily_perpetual = view;
    daily_perpetual.hedge.num_legs = 1;
    daily_perpetual.hedge.num_accounts = 1;
    daily_perpetual.hedge.legs[0].kind = HedgeKind::perpetual;
    daily_perpetual.market.steps_per_day = 1;
    daily_perpetual.market.student_t = false;
    run.template operator()<1>(daily_perpetual);
  } else if constexpr (kProgram == PathProgram::outcomes_with_ratio_grid) {
    run.template operator()<1>(view);  // the ratio grid varies one leg's ratio: one-leg books only
  } else {
    run.template operator()<kMaxHedgeLegs>(view);
  }
}

using PathRangeFn = void (*)(const SimulationView&, std::uint64_t, std::uint64_t, std::uint64_t,
                            const OutcomeColumns&);

/// The Philox pass of every variant, compiled for baseline x86-64 (SSE2, as GCC vectorises
/// philox4x32_10). Measured on the machine of benchmarks/RESULTS.md: GCC's AVX2 loop ran at 4.5
/// ns a word against SSE2's 2.6 (its 32 x 32 -> 64-bit products shuffle lanes), and a
/// hand-written AVX2 version at 2.4 made the whole hedged benchmark slower, not faster.
[[gnu::noinline, gnu::flatten]] void fill_philox_words_sse2(DrawBlock& block, PhiloxKey key, std::uint64_t sub,
                                                            std::uint64_t counter, int blocks) {
  fill_philox_words(block, key, sub, counter, blocks);
}

/// One instruction-set variant: the draw-block fill and every (capacity, program) path range,
/// compiled for `target` with everything they call inlined (flatten), so the vectorisable
/// loops (the normals of a block, the market step's and mark_portfolio's lanes) use that
/// instruction set. The fill stays a call of its own (noinline) rather than a copy at every
/// draw site of the path code. -ffp-contract=off (CMakeLists) keeps every variant's arithmetic
/// the same IEEE operations, so all return the same bits.
#define BETAHEDGE_CPU_ISA_VARIANT(space, target)                                                            \
  namespace space {                                                                                        \
  target [[gnu::noinline, gnu::flatten]] void fill_normals_here(DrawBlock& block, int words) {             \
    fill_normals(block, words);                                                                            \
  }                                                                                                        \
  inline void fill(DrawBlock& block, PhiloxKey key, std::uint64_t sub, std::uint64_t counter, int blocks) {\
    fill_philox_words_sse2(block, key, sub, counter, blocks);                                              \
    fill_normals_here(block, 4 * blocks);                                                                  \
  }                                                                                                        \
  template <int kCapacity, PathProgram kProgram>                                                           \
  target [[gnu::flatten]] void range(const SimulationView& view, std::uint64_t batch_first,                \
                                     std::uint64_t first, std::uint64_t last, const OutcomeColumns& out) { \
    run_path_range<kCapacity, kProgram>(view, batch_first, first, last, out, &fill);                       \
  }                                                                                                        \
  }

BETAHEDGE_CPU_ISA_VARIANT(isa_x86_64, )
#if defined(__x86_64__)
BETAHEDGE_CPU_ISA_VARIANT(isa_avx2, __attribute__((target("avx2,fma,bmi,bmi2"))))
BETAHEDGE_CPU_ISA_VARIANT(isa_avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi,bmi2"))))
#endif

/// The path ranges of one variant, indexed by kPathCapacities' position.
struct IsaPrograms {
  const char* name;
  PathRangeFn outcomes[4];
  PathRangeFn outcomes_with_ratio_grid[4];
  PathRangeFn outcomes_with_band_sweep[4];
  PathRangeFn outcomes_with_unit_legs[4];

  /// The path range of `program` at capacity slot `slot`.
  PathRangeFn of(PathProgram program, std::ptrdiff_t slot) const {
    switch (program) {
      case PathProgram::outcomes_with_ratio_grid: return outcomes_with_ratio_grid[slot];
      case PathProgram::outcomes_with_band_sweep: return outcomes_with_band_sweep[slot];
      case PathProgram::outcomes_with_unit_legs: return outcomes_with_unit_legs[slot];
      default: return outcomes[slot];
    }
  }
};

constexpr PathProgram kGrid = PathProgram::outcomes_with_ratio_grid;
constexpr PathProgram kBands = PathProgram::outcomes_with_band_sweep;
constexpr PathProgram kUnitLegs = PathProgram::outcomes_with_unit_legs;

#define BETAHEDGE_ISA_PROGRAMS(label, space)                                                                 \
  IsaPrograms {                                                                                              \
    label,                                                                                                   \
        {&space::range<4, PathProgram::outcomes>, &space::range<8, PathProgram::outcomes>,                   \
         &space::range<16, PathProgram::outcomes>, &space::range<64, PathProgram::outcomes>},                \
        {&space::range<4, kGrid>, &space::range<8, kGrid>, &space::range<16, kGrid>, &space::range<64, kGrid>},  \
        {&space::range<4, kBands>, &space::range<8, kBands>, &space::range<16, kBands>, &space::range<64, kBands>}, \
        {&space::range<4, kUnitLegs>, &space::range<8, kUnitLegs>, &space::range<16, kUnitLegs>,                 \
         &space::range<64, kUnitLegs>}                                                                           \
  }

static_assert(std::size(kPathCapacities) == 4 && kPathCapacities[0] == 4 && kPathCapacities[1] == 8 &&
                  kPathCapacities[2] == 16 && kPathCapacities[3] == 64,
              "IsaPrograms lists the path capacities in this order");

const IsaPrograms kIsaPrograms[] = {
#if defined(__x86_64__)
    BETAHEDGE_ISA_PROGRAMS("avx512", isa_avx512),
    BETAHEDGE_ISA_PROGRAMS("avx2", isa_avx2),
#endif
    BETAHEDGE_ISA_PROGRAMS("x86-64", isa_x86_64),
};

bool cpu_runs(const std::string& name) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
  if (name == "avx2") return avx2;
  if (name == "avx512")
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#endif
  return name == "x86-64";
}

/// The chosen variant, and whether BETAHEDGE_CPU_ISA chose it.
struct IsaChoice {
  const IsaPrograms& programs;
  bool from_environment;
};

/// The variant `requested` names, or else BETAHEDGE_CPU_ISA's, or else the best this CPU runs.
IsaChoice choose_isa(const std::string& requested) {
  std::string name = requested;
  std::string source = "CPU instruction set";
  if (name.empty()) {
    if (const char* env = std::getenv("BETAHEDGE_CPU_ISA"); env != nullptr && *env != '\0') {
      name = env;
      source = "BETAHEDGE_CPU_ISA";
    }
  }
  std::string known, runs;
  for (const IsaPrograms& p : kIsaPrograms) {
    known += (known.empty() ? "" : ", ") + std::string(p.name);
    if (cpu_runs(p.name)) runs += (runs.empty() ? "" : ", ") + std::string(p.name);
  }
  for (const IsaPrograms& p : kIsaPrograms) {
    if (name.empty() ? cpu_runs(p.name) : name == p.name) {
      if (!cpu_runs(p.name))
        throw InputError(source + " " + quoted_for_message(name) + ": this CPU does not support it (it runs " + runs +
                         ")");
      return {p, source == "BETAHEDGE_CPU_ISA"};
    }
  }
  throw InputError(source + " " + quoted_for_message(name) + " is not one of " + known + " (this CPU runs " + runs +
                   ")");
}

class CpuBackend final : public PathBackend {
 public:
  CpuBackend(int threads, IsaChoice isa)
      : threads_(threads > 0 ? threads : omp_get_num_procs()),
        isa_(isa.programs),
        isa_from_environment_(isa.from_environment) {}

  std::string name() const override { return "cpu"; }
  std::string device_name() const override {
    return cpu_model_name() + " (" + std::to_string(threads_) + (threads_ == 1 ? " thread, " : " threads, ") +
           isa_.name + " instruction set" + (isa_from_environment_ ? " from BETAHEDGE_CPU_ISA)" : ")");
  }

  std::uint64_t default_batch_size(int /*columns*/) const override { return kDefaultBatch; }

  /// Runs every path id of `range`, batch by batch, each thread a contiguous share of a batch,
  /// into one buffer of batch_size x columns reused by every batch.
  void run(const SimulationTables& tables, PathProgram program, PathIdRange range, std::uint64_t batch_size,
           const BatchConsumer& consume) override {
    const std::uint64_t batch = batch_size > 0 ? batch_size : kDefaultBatch;
    const int columns = program_columns(program, tables);
    const SimulationView view = tables.view(tables.data.data());
    const int capacity = path_capacity_for(view.market.num_assets);
    const auto at = std::find(std::begin(kPathCapacities), std::end(kPathCapacities), capacity);
    const std::ptrdiff_t slot = at == std::end(kPathCapacities) ? 3 : at - std::begin(kPathCapacities);
    const PathRangeFn path_range = isa_.of(program, slot);
    const std::uint64_t largest = std::min(batch, range.size());
    buffer_.assign(padded_stride(largest) * columns, 0.0);
    for (std::uint64_t first = range.first; first < range.last; first += batch) {
      const std::uint64_t count = std::min(batch, range.last - first);
      const OutcomeColumns out{buffer_.data(), padded_stride(count)};
#pragma omp parallel num_threads(threads_)
      {
        const auto share = [&](int t) { return first + count * t / omp_get_num_threads(); };
        const int t = omp_get_thread_num();
        path_range(view, first, share(t), share(t + 1), out);
      }
      consume({first, count, columns, buffer_.data(), out.stride});
    }
  }

 private:
  /// The distance between columns, in doubles: the paths rounded up to a cache line, plus one.
  /// A batch of 2^13 paths would otherwise start every column 64 KiB after the last, the same
  /// cache set in L1 and L2, and a path writing a column per grid ratio would evict its own lines.
  static std::uint64_t padded_stride(std::uint64_t paths) { return (paths + 7) / 8 * 8 + 8; }

  int threads_;
  const IsaPrograms& isa_;
  bool isa_from_environment_;
  std::vector<double> buffer_;  ///< the current batch's columns
};

}  // namespace

std::vector<CpuIsaVariant> cpu_isa_variants() {
  std::vector<CpuIsaVariant> variants;
  for (const IsaPrograms& p : kIsaPrograms) variants.push_back({p.name, cpu_runs(p.name)});
  return variants;
}

std::unique_ptr<PathBackend> make_cpu_backend(int threads, const std::string& isa) {
  return std::make_unique<CpuBackend>(threads, choose_isa(isa));
}

}  // namespace betahedge
