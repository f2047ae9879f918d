// The CPU backend's SIMD path against the scalar one: every instruction-set variant this CPU
// runs must return, path by path and bit for bit, what simulate_path returns with PhiloxStream
// and the branchy inverse_normal_cdf (the code the GPU runs). Also the pieces: the block
// stream's words and normals, the tail-word bounds, the AS241 tail formula, the ISA choice.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "cpu_backend/philox_block_stream.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "hedged_test_book.hpp"
#include "model/model_json.hpp"

namespace betahedge {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void fill_here(DrawBlock& block, PhiloxKey key, std::uint64_t sub, std::uint64_t counter, int blocks) {
  fill_philox_words(block, key, sub, counter, blocks);
  fill_normals(block, 4 * blocks);
}

TEST(PhiloxBlockStream, WordsAndNormalsEqualTheScalarStream) {
  // Block sizes around the refills: a first block shorter, equal to and longer than the path,
  // and more than one full block of kMaxBlocks.
  for (int expected : {0, 1, 5, 64, 271, 513, 2000}) {
    for (std::uint64_t path : {0ull, 7ull, (1ull << 32) + 3}) {
      const std::uint64_t seed = 0x123456789abcdefull;
      DrawBlock block{};
      PhiloxBlockStream blocked(seed, path, expected, block, &fill_here);
      PhiloxStream scalar(seed, path);
      RandomDraws<PhiloxStream> reference(scalar);
      for (int i = 0; i < 3000; ++i) {
        // Alternate words and normals, as the path code does (a regime uniform, then normals).
        if (i % 9 == 0) {
          ASSERT_EQ(blocked.next_word(), reference.next_word()) << "expected " << expected << " draw " << i;
        } else {
          const double a = blocked.next_normal(), b = reference.normal();
          ASSERT_TRUE(same_bits(a, b)) << "expected " << expected << " draw " << i << ": " << a << " vs " << b;
        }
      }
    }
  }
}

TEST(PhiloxBlockStream, TailWordBoundsAreTheExactEdgesOfTheTailTest) {
  const auto tail_by_double = [](std::uint32_t w) { return std::fabs(uniform_from_word(w) - 0.5) > 0.425; };
  for (std::int64_t edge : {std::int64_t{kTailBelow}, std::int64_t{kTailFrom}})
    for (std::int64_t w = edge - 2000; w <= edge + 2000; ++w)
      ASSERT_EQ(is_tail_word(static_cast<std::uint32_t>(w)), tail_by_double(static_cast<std::uint32_t>(w))) << w;
  for (std::uint32_t w : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
    EXPECT_EQ(is_tail_word(w), tail_by_double(w)) << w;
  EXPECT_FALSE(tail_by_double(kTailBelow));
  EXPECT_TRUE(tail_by_double(kTailBelow - 1));
  EXPECT_TRUE(tail_by_double(kTailFrom));
  EXPECT_FALSE(tail_by_double(kTailFrom - 1));
}

TEST(PhiloxBlockStream, TailFormulaEqualsInverseNormalCdfOnEveryTailWordChecked) {
  // The most extreme words (r = 4.79, the far tail's r > 5 never reached), the edges, and a
  // sweep with a stride prime to 2^32.
  std::vector<std::uint32_t> words = {0u, 1u, 2u, 0xffffffffu, 0xfffffffeu, kTailBelow - 1, kTailFrom};
  for (std::uint64_t w = 3; w < (1ull << 32); w += 7919) words.push_back(static_cast<std::uint32_t>(w));
  int tails = 0;
  for (std::uint32_t w : words) {
    if (!is_tail_word(w)) continue;
    ++tails;
    const double p = uniform_from_word(w);
    ASSERT_TRUE(same_bits(inverse_normal_cdf_tail(p), inverse_normal_cdf(p))) << w;
  }
  EXPECT_GT(tails, 70000);
  EXPECT_LT(std::sqrt(-std::log(uniform_from_word(0))), 5.0);  // why the far tail never occurs
}

TEST(UniformFromWord, SignedConversionIsExact) {
  for (std::uint64_t w = 0; w < (1ull << 32); w += 65537)
    ASSERT_EQ(uniform_from_word(static_cast<std::uint32_t>(w)), (static_cast<double>(w) + 0.5) / 4294967296.0) << w;
  EXPECT_EQ(uniform_from_word(0xffffffffu), (4294967295.0 + 0.5) / 4294967296.0);
}

/// What simulate_path returns with the scalar generator, in the backend's column layout.
std::vector<std::vector<double>> scalar_outcomes(const SimulationTables& tables, std::uint64_t paths) {
  std::vector<std::vector<double>> columns(kNumOutcomeFields, std::vector<double>(paths));
  std::vector<double> flat(kNumOutcomeFields * paths);
  const SimulationView view = tables.view(tables.data.data());
  with_path_capacity(view.market.num_assets, [&](auto capacity) {
    for (std::uint64_t p = 0; p < paths; ++p) {
      PhiloxStream gen(view.seed, p);
      store_outcome({flat.data(), paths}, p, simulate_path<decltype(capacity)::value>(view, gen));
    }
  });
  for (int f = 0; f < kNumOutcomeFields; ++f)
    for (std::uint64_t p = 0; p < paths; ++p) columns[f][p] = flat[f * paths + p];
  return columns;
}

void expect_every_variant_matches_scalar(const Model& model, const BookConfig& book, std::uint64_t paths) {
  const SimulationTables tables = build_simulation_tables(model, make_portfolio(model, book), book);
  const auto reference = scalar_outcomes(tables, paths);
  int variants_run = 0;
  for (const CpuIsaVariant& isa : cpu_isa_variants()) {
    if (!isa.supported) continue;
    ++variants_run;
    for (int threads : {1, 2}) {
      auto backend = make_cpu_backend(threads, isa.name);
      // A batch size that splits the run unevenly.
      const std::vector<double> all = collect_outcomes(*backend, tables, PathProgram::outcomes, paths, 777);
      for (int f = 0; f < kNumOutcomeFields; ++f) {
        const std::vector<double> got = column_of(all, paths, f);
        for (std::uint64_t p = 0; p < paths; ++p)
          ASSERT_TRUE(same_bits(got[p], reference[f][p]))
              << isa.name << ", " << threads << " threads, field " << f << ", path " << p << ": " << got[p] << " vs "
              << reference[f][p];
      }
    }
  }
  EXPECT_GE(variants_run, 1);
}

TEST(CpuSimd, UnhedgedGaussianMatchesScalarBitForBit) {
  const Model m = make_synthetic_model(3, 2);
  expect_every_variant_matches_scalar(m, test::hedged_test_book(m, HedgeInstrument::none, HedgeMode::static_ratio),
                                      3000);
}

TEST(CpuSimd, DynamicPerpetualWithMarginMatchesScalarBitForBit) {
  const Model m = make_synthetic_model(8, 2);
  expect_every_variant_matches_scalar(m, test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic),
                                      3000);
}

TEST(CpuSimd, StudentTMatchesScalarBitForBit) {
  const Model m = make_synthetic_model(5, 3, Distribution::student_t);
  expect_every_variant_matches_scalar(m, test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic),
                                      2000);
}

TEST(CpuSimd, EveryInstrumentModeAndCapacityMatchesScalarBitForBit) {
  for (int assets : {2, 4, 11, 20}) {
    const Model m = make_synthetic_model(assets, 2);
    for (HedgeInstrument instrument : {HedgeInstrument::perpetual, HedgeInstrument::future, HedgeInstrument::option})
      for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
        SCOPED_TRACE(std::to_string(assets) + " assets, instrument " + std::to_string(static_cast<int>(instrument)) +
                     ", mode " + std::to_string(static_cast<int>(mode)));
        expect_every_variant_matches_scalar(m, test::hedged_test_book(m, instrument, mode), 500);
      }
  }
}

TEST(CpuSimd, IntradayStepsMatchScalarBitForBit) {
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::future, HedgeMode::dynamic);
  book.simulation.steps_per_day = 4;
  book.simulation.horizon_days = 12;
  expect_every_variant_matches_scalar(m, book, 1000);
}

TEST(CpuSimd, RatioGridMatchesScalarBitForBit) {
  const Model m = make_synthetic_model(8, 2);
  BookConfig book = test::hedged_test_book(m, HedgeInstrument::future, HedgeMode::static_ratio);
  book.risk.hedge_ratio_grid = {0.0, 1.5, 0.1};
  const SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
  const std::uint64_t paths = 1500;
  const int columns = program_columns(PathProgram::outcomes_with_ratio_grid, tables);
  std::vector<double> reference(columns * paths);
  const SimulationView view = tables.view(tables.data.data());
  for (std::uint64_t p = 0; p < paths; ++p) {
    PhiloxStream gen(view.seed, p);
    simulate_path_with_ratio_grid<8>(view, gen, {reference.data(), paths}, p);
  }
  for (const CpuIsaVariant& isa : cpu_isa_variants()) {
    if (!isa.supported) continue;
    auto backend = make_cpu_backend(2, isa.name);
    const std::vector<double> all = collect_outcomes(*backend, tables, PathProgram::outcomes_with_ratio_grid, paths, 500);
    for (int c = 0; c < columns; ++c) {
      const std::vector<double> got = column_of(all, paths, c);
      for (std::uint64_t p = 0; p < paths; ++p)
        ASSERT_TRUE(same_bits(got[p], reference[c * paths + p])) << isa.name << " column " << c << " path " << p;
    }
  }
}

// Hedges of two and three legs (the backend's general copy, kMaxHedgeLegs legs), cross and
// isolated, static and dynamic, with calls: every column of the plain program and the leg
// detail, and the band sweep's pairs, bit for bit against the scalar generator.
TEST(CpuSimd, HedgesOfSeveralLegsMatchScalarBitForBit) {
  const Model m = make_synthetic_model(5, 2);
  for (bool with_put : {false, true})
    for (MarginMode margin : {MarginMode::cross, MarginMode::isolated})
      for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
        SCOPED_TRACE(std::string(with_put ? "three legs" : "two legs") + (margin == MarginMode::cross ? ", cross" : ", isolated") +
                     (mode == HedgeMode::dynamic ? ", dynamic" : ", static"));
        const BookConfig book = test::legs_test_book(m, mode, margin, with_put);
        expect_every_variant_matches_scalar(m, book, 800);
        SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
        tables.scalars.leg_detail.record = true;
        const SimulationView view = tables.view(tables.data.data());
        const std::uint64_t paths = 600;
        for (PathProgram program : {PathProgram::outcomes, PathProgram::outcomes_with_band_sweep}) {
          const int columns = program_columns(program, tables);
          std::vector<double> reference(columns * paths);
          for (std::uint64_t p = 0; p < paths; ++p) {
            PhiloxStream gen(view.seed, p);
            if (program == PathProgram::outcomes)
              run_path_program<PathProgram::outcomes, 8>(view, gen, {reference.data(), paths}, p);
            else
              run_path_program<PathProgram::outcomes_with_band_sweep, 8>(view, gen, {reference.data(), paths}, p);
          }
          for (const CpuIsaVariant& isa : cpu_isa_variants()) {
            if (!isa.supported) continue;
            auto backend = make_cpu_backend(2, isa.name);
            const std::vector<double> all = collect_outcomes(*backend, tables, program, paths, 250);
            for (int c = 0; c < columns; ++c)
              for (std::uint64_t p = 0; p < paths; ++p)
                ASSERT_TRUE(same_bits(all[c * paths + p], reference[c * paths + p]))
                    << isa.name << " program " << static_cast<int>(program) << " column " << c << " path " << p;
          }
        }
      }
}

TEST(CpuSimd, UnitLegsMatchScalarBitForBit) {
  // Every column of the unit-legs program (the plain outcomes, the leg detail, the unit legs and
  // the shortfalls), every variant, 1 and 2 threads, two batch sizes, against the scalar path
  // code with every leg's arrays (kMaxHedgeLegs): for the one-perpetual book the backend runs its
  // one-leg copy (kLegs = 1), which must give the same bits.
  const Model m = make_synthetic_model(5, 2);
  std::vector<std::pair<std::string, BookConfig>> books = {
      {"one perpetual, dynamic", test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic)},
      {"one put, static", test::hedged_test_book(m, HedgeInstrument::option, HedgeMode::static_ratio)},
      {"perpetual and future, cross", test::two_leg_test_book(m, HedgeInstrument::future, 0.8, 0.5, MarginMode::cross)},
      {"perpetual and written put, isolated",
       test::two_leg_test_book(m, HedgeInstrument::option, 0.8, -0.6, MarginMode::isolated)},
  };
  const std::uint64_t paths = 1200;
  for (const auto& [name, book] : books) {
    SCOPED_TRACE(name);
    SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
    tables.scalars.leg_detail.record = true;
    const PathProgram program = PathProgram::outcomes_with_unit_legs;
    const int columns = program_columns(program, tables);
    std::vector<double> reference(columns * paths);
    const SimulationView view = tables.view(tables.data.data());
    for (std::uint64_t p = 0; p < paths; ++p) {
      PhiloxStream gen(view.seed, p);
      run_path_program<PathProgram::outcomes_with_unit_legs, 8, kMaxHedgeLegs>(view, gen, {reference.data(), paths},
                                                                                 p);
    }
    for (const CpuIsaVariant& isa : cpu_isa_variants()) {
      if (!isa.supported) continue;
      for (int threads : {1, 2})
        for (std::uint64_t batch : {500u, 777u}) {
          auto backend = make_cpu_backend(threads, isa.name);
          const std::vector<double> all = collect_outcomes(*backend, tables, program, paths, batch);
          for (int c = 0; c < columns; ++c)
            for (std::uint64_t p = 0; p < paths; ++p)
              ASSERT_TRUE(same_bits(all[c * paths + p], reference[c * paths + p]))
                  << isa.name << ", " << threads << " threads, batch " << batch << ", column " << c << " path " << p;
        }
    }
  }
}

TEST(CpuIsa, TheBaselineAlwaysRunsAndTheBestSupportedIsTheDefault) {
  const std::vector<CpuIsaVariant> variants = cpu_isa_variants();
  ASSERT_FALSE(variants.empty());
  EXPECT_EQ(variants.back().name, "x86-64");
  EXPECT_TRUE(variants.back().supported);
  std::string best;
  for (const CpuIsaVariant& v : variants)
    if (v.supported && best.empty()) best = v.name;
  unsetenv("BETAHEDGE_CPU_ISA");
  EXPECT_NE(make_cpu_backend(1)->device_name().find("1 thread, " + best + " instruction set)"), std::string::npos)
      << make_cpu_backend(1)->device_name();
}

TEST(CpuIsa, UnknownOrUnsupportedNamesAreInputErrors) {
  try {
    make_cpu_backend(1, "sse9");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'sse9' is not one of avx512, avx2, x86-64 (this CPU runs "), std::string::npos)
        << e.what();
  }
  for (const CpuIsaVariant& v : cpu_isa_variants())
    if (!v.supported) {
      try {
        make_cpu_backend(1, v.name);
        ADD_FAILURE() << v.name << ": no error";
      } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("this CPU does not support it (it runs "), std::string::npos) << e.what();
      }
    }
  setenv("BETAHEDGE_CPU_ISA", "x86-64", 1);
  EXPECT_NE(make_cpu_backend(2)->device_name().find("2 threads, x86-64 instruction set from BETAHEDGE_CPU_ISA)"),
            std::string::npos)
      << make_cpu_backend(2)->device_name();
  setenv("BETAHEDGE_CPU_ISA", "bogus", 1);
  try {
    make_cpu_backend(1);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("BETAHEDGE_CPU_ISA 'bogus'"), std::string::npos) << e.what();
  }
  unsetenv("BETAHEDGE_CPU_ISA");
}

}  // namespace
}  // namespace betahedge
