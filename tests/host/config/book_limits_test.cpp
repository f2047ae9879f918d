/// book.yaml hardening: duplicate and non-scalar keys, exact whole numbers checked before any
/// cast, the documented ranges, clipped echoes and bounded reads. Each case names the file,
/// line and field, as SPEC 3 asks of exit-2 messages.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "config/book_config.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

const std::string kBase = "model: m.json\nportfolio:\n  holdings: {ETH: 1}\n";  // lines 1-3

/// The InputError message of parsing `yaml`, or "" when it parsed; any other exception fails.
std::string error_of(const std::string& yaml) {
  return test::message_of<InputError>([&] { parse_book(yaml, "book.yaml"); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(BookLimits, DuplicateKeysAreErrorsNamingBothLines) {
  // `paths` twice: yaml-cpp would have kept the first silently.
  const std::string e = error_of(kBase + "simulation:\n  paths: 1000\n  seed: 1\n  paths: 5000\n");
  EXPECT_TRUE(contains(e, "book.yaml:7: simulation.paths: duplicate key (first at line 5)")) << e;

  // A whole section twice.
  const std::string h = error_of(kBase + "hedge:\n  ratio: 0.5\nhedge:\n  ratio: 0.7\n");
  EXPECT_TRUE(contains(h, "book.yaml:6: hedge: duplicate key (first at line 4)")) << h;
}

TEST(BookLimits, DuplicateKeysAreFoundAtEveryMappingLevel) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"model: a.json\nmodel: b.json\nportfolio:\n  holdings: {ETH: 1}\n", "book.yaml:2: model: duplicate key (first at line 1)"},
      {"model: m.json\nportfolio:\n  holdings: {ETH: 1, ETH: 2}\n", "portfolio.holdings.ETH: duplicate key"},
      {"model: m.json\nportfolio:\n  holdings: {ETH: 1}\n  holdings: {SOL: 1}\n",
       "book.yaml:4: portfolio.holdings: duplicate key (first at line 3)"},
      {kBase + "hedge:\n  fee_bps: 1\n  fee_bps: 2\n", "book.yaml:6: hedge.fee_bps: duplicate key (first at line 5)"},
      {kBase + "hedge:\n  future:\n    expiry_days: 30\n    expiry_days: 60\n",
       "book.yaml:7: hedge.future.expiry_days: duplicate key (first at line 6)"},
      {kBase + "hedge:\n  option: {strike: 0.9, strike: 0.8}\n", "hedge.option.strike: duplicate key"},
      {kBase + "margin:\n  collateral: 1\n  collateral: 2\n", "book.yaml:6: margin.collateral: duplicate key (first at line 5)"},
      {kBase + "risk:\n  levels: [0.9]\n  levels: [0.99]\n", "book.yaml:6: risk.levels: duplicate key (first at line 5)"},
      {kBase + "risk:\n  hedge_ratio_grid:\n    from: 0\n    from: 0.5\n",
       "book.yaml:7: risk.hedge_ratio_grid.from: duplicate key (first at line 6)"},
      {kBase + "stress:\n  - name: a\n    vol_multiplier: 2\n    name: b\n",
       "book.yaml:7: stress[0].name: duplicate key (first at line 5)"},
      {kBase + "stress:\n  - name: a\n    shock:\n      ETH: -0.1\n      ETH: -0.2\n",
       "book.yaml:8: stress[0].shock.ETH: duplicate key (first at line 7)"},
      {kBase + "stress:\n  - name: a\n    correlation_set:\n      \"ETH,SOL\": 0.5\n      \"ETH,SOL\": 0.9\n",
       "book.yaml:8: stress[0].correlation_set.ETH,SOL: duplicate key (first at line 7)"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_TRUE(contains(e, c.expected)) << "yaml:\n" << c.yaml << "\nerror: " << e;
  }
}

TEST(BookLimits, NonScalarKeysAreErrorsNotCrashes) {
  const std::string top = error_of("[a, b]: 1\n" + kBase);
  EXPECT_TRUE(contains(top, "book.yaml:1: (top level): key must be a plain name")) << top;
  const std::string holdings = error_of("model: m.json\nportfolio:\n  holdings: {[ETH, SOL]: 1}\n");
  EXPECT_TRUE(contains(holdings, "book.yaml:3: portfolio.holdings: key must be a plain name")) << holdings;
  const std::string shock = error_of(kBase + "stress:\n  - name: a\n    shock: {{ETH: 1}: -0.1}\n");
  EXPECT_TRUE(contains(shock, "stress[0].shock: key must be a plain name")) << shock;
  const std::string null_key = error_of(kBase + "hedge:\n  ~: 1\n");
  EXPECT_TRUE(contains(null_key, "hedge: key must be a plain name")) << null_key;
}

TEST(BookLimits, WholeNumbersAreCheckedBeforeAnyCast) {
  // 4294967326 = 2^32 + 30 once ran as 30 days; 4294967297 = 2^32 + 1 as 1 thread.
  const std::string horizon = error_of(kBase + "simulation:\n  horizon_days: 4294967326\n");
  EXPECT_TRUE(contains(horizon, "book.yaml:5: simulation.horizon_days: '4294967326' is out of range")) << horizon;
  EXPECT_TRUE(contains(horizon, "1..3650")) << horizon;
  const std::string threads = error_of(kBase + "simulation:\n  threads: 4294967297\n");
  EXPECT_TRUE(contains(threads, "book.yaml:5: simulation.threads")) << threads;
  EXPECT_TRUE(contains(threads, "0..1024")) << threads;
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {steps_per_day: 4294967297}\n"), "1..1440"));
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {batch_size: 1099511627777}\n"), "0..2^40"));
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {paths: 99999999999999999999999}\n"), "simulation.paths"));
  EXPECT_TRUE(contains(error_of(kBase + "hedge: {rebalance_every_days: 4294967297}\n"), "1..3650"));
  EXPECT_TRUE(contains(error_of(kBase + "hedge: {future: {expiry_days: 4294967297}}\n"), "hedge.future.expiry_days"));
  EXPECT_TRUE(contains(error_of(kBase + "hedge: {option: {tenor_days: 4294967297}}\n"), "hedge.option.tenor_days"));
}

TEST(BookLimits, SeedCoversZeroTo2Pow63Exactly) {
  const std::string negative = error_of(kBase + "simulation:\n  seed: -1\n");
  EXPECT_TRUE(contains(negative, "book.yaml:5: simulation.seed: '-1' is out of range")) << negative;
  EXPECT_TRUE(contains(negative, "0..2^63")) << negative;
  const std::string above = error_of(kBase + "simulation:\n  seed: 9223372036854775809\n");  // 2^63 + 1
  EXPECT_TRUE(contains(above, "simulation.seed")) << above;
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {seed: 18446744073709551616}\n"), "simulation.seed"));  // 2^64

  EXPECT_EQ(parse_book(kBase + "simulation: {seed: 9223372036854775808}\n", "b.yaml").simulation.seed,
            std::uint64_t{1} << 63);
  // 2^53 + 1 has no double; a stod round trip would have given 2^53.
  EXPECT_EQ(parse_book(kBase + "simulation: {seed: 9007199254740993}\n", "b.yaml").simulation.seed,
            9007199254740993ull);
  EXPECT_EQ(parse_book(kBase + "simulation: {seed: 0}\n", "b.yaml").simulation.seed, 0u);
}

TEST(BookLimits, WholeNumbersAreWrittenAsDigits) {
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {paths: 1.5}\n"), "'1.5' is not a whole number"));
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {paths: 1e3}\n"), "'1e3' is not a whole number"));
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {paths: 0x10}\n"), "'0x10' is not a number"));
  EXPECT_TRUE(contains(error_of(kBase + "simulation: {paths: [1]}\n"), "simulation.paths: must be a whole number"));
  EXPECT_EQ(parse_book(kBase + "simulation: {paths: +2000}\n", "b.yaml").simulation.paths, 2000u);
}

TEST(BookLimits, OnePathIsAnErrorNamingTheBooksKeyAndLine) {
  const std::string e = error_of(kBase + "simulation:\n  horizon_days: 10\n  paths: 1\n");
  EXPECT_TRUE(contains(e, "book.yaml:6: simulation.paths: '1' is out of range")) << e;
  EXPECT_TRUE(contains(e, "at least 2 paths are needed for statistics")) << e;
  EXPECT_FALSE(contains(e, "--paths")) << e;
  EXPECT_EQ(parse_book(kBase + "simulation: {paths: 2}\n", "b.yaml").simulation.paths, 2u);
  EXPECT_EQ(parse_book(kBase + "simulation: {paths: 1099511627776}\n", "b.yaml").simulation.paths, 1ull << 40);
}

TEST(BookLimits, StepCountIsBounded) {
  const std::string e = error_of(kBase + "simulation:\n  horizon_days: 3650\n  steps_per_day: 1440\n");
  EXPECT_TRUE(contains(e, "book.yaml:6: simulation.steps_per_day")) << e;
  EXPECT_TRUE(contains(e, "5256000 steps, more than the limit of 100000")) << e;
  EXPECT_EQ(parse_book(kBase + "simulation: {horizon_days: 100, steps_per_day: 1000}\n", "b.yaml").simulation.steps_per_day,
            1000);
}

TEST(BookLimits, RealNumbersOutsideTheirRangesNameFieldAndRange) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"model: m.json\nportfolio:\n  holdings: {ETH: 1e308}\n", "book.yaml:3: portfolio.holdings.ETH: '1e308' is out of range: must be in [-1e12, 1e12]"},
      {kBase + "hedge:\n  target_beta: 1e300\n", "book.yaml:5: hedge.target_beta: '1e300' is out of range: must be in [-10, 10]"},
      {kBase + "hedge:\n  option: {rate: 1e300}\n", "hedge.option.rate: '1e300' is out of range: must be in [-1, 1]"},
      {kBase + "hedge:\n  funding_rate_8h: [0.0001, 1e300]\n", "hedge.funding_rate_8h[1]: '1e300' is out of range: must be in [-0.05, 0.05]"},
      {kBase + "hedge:\n  funding_rate_8h: 1e300\n", "hedge.funding_rate_8h: '1e300' is out of range"},
      {kBase + "hedge: {funding_rate_8h: []}\n", "hedge.funding_rate_8h: has 0 entries"},
      {kBase + "hedge: {funding_rate_8h: [0, 0, 0, 0, 0, 0, 0, 0, 0]}\n", "has 9 entries"},
      {kBase + "hedge: {ratio: 11}\n", "hedge.ratio: '11' is out of range: must be in [-10, 10]"},
      {kBase + "hedge: {band: -0.1}\n", "hedge.band"},
      {kBase + "hedge: {fee_bps: 10001}\n", "hedge.fee_bps"},
      {kBase + "hedge: {beta_estimate: 1e300}\n", "hedge.beta_estimate"},
      {kBase + "hedge: {future: {annual_basis: [6]}}\n", "hedge.future.annual_basis[0]: '6' is out of range: must be in [-5, 5]"},
      {kBase + "hedge: {future: {roll_cost_bps: 1e5}}\n", "hedge.future.roll_cost_bps"},
      {kBase + "hedge: {future: {expiry_days: 5, roll_days_before: 5}}\n", "hedge.future.roll_days_before"},
      {kBase + "hedge: {option: {strike: 0}}\n", "hedge.option.strike: '0' is out of range: must be in (0, 100]"},
      {kBase + "hedge: {option: {strike: 101}}\n", "hedge.option.strike"},
      {kBase + "hedge: {option: {implied_vol_premium: 0}}\n", "hedge.option.implied_vol_premium"},
      {kBase + "margin: {collateral: 1e16}\n", "margin.collateral: '1e16' is out of range: must be in [0, 1e15]"},
      {kBase + "margin: {initial_rate: 1.5}\n", "margin.initial_rate"},
      {kBase + "risk: {levels: [0.99, 0.99]}\n", "risk.levels[1]: '0.99' is listed twice"},
      {kBase + "risk: {levels: [0.9, 0.90]}\n", "risk.levels[1]: '0.90' is listed twice"},
      {kBase + "risk: {levels: []}\n", "risk.levels: has 0 entries"},
      {kBase + "risk: {levels: [0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62, 0.63, "
               "0.64, 0.65, 0.66]}\n",
       "risk.levels: has 17 entries"},
      {kBase + "risk: {levels: [1]}\n", "risk.levels[0]: '1' is out of range: must be in (0, 1)"},
      {kBase + "risk: {hedge_ratio_grid: {from: -1e300, to: 0, step: 1}}\n", "risk.hedge_ratio_grid.from"},
      {kBase + "risk: {hedge_ratio_grid: {from: 0, to: 11, step: 1}}\n", "risk.hedge_ratio_grid.to"},
      {kBase + "risk: {hedge_ratio_grid: {from: 0, to: 1, step: 1e-300}}\n", "more than 64 grid points"},
      {kBase + "risk: {band_grid: [11]}\n", "risk.band_grid[0]: '11' is out of range: must be in [0, 10]"},
      {kBase + "risk: {max_call_probability: 2}\n", "risk.max_call_probability"},
      {kBase + "risk: {tracking_tolerance: -1}\n", "risk.tracking_tolerance"},
      {kBase + "stress:\n  - {name: a, correlation_blend: 1.5}\n", "stress[0].correlation_blend"},
      {kBase + "stress:\n  - {name: a, vol_multiplier: 0}\n", "stress[0].vol_multiplier: '0' is out of range: must be in (0, 100]"},
      {kBase + "stress:\n  - {name: a, funding_multiplier: 1e300}\n", "stress[0].funding_multiplier: '1e300' is out of range: must be in [-100, 100]"},
      {kBase + "stress:\n  - {name: a, shock: {ETH: -1}}\n", "stress[0].shock.ETH: '-1' is out of range: must be in (-1, 10]"},
      {kBase + "stress:\n  - {name: a, shock: {ETH: 11}}\n", "stress[0].shock.ETH"},
      {kBase + "stress:\n  - {name: a, correlation_set: {\"ETH,SOL\": 1.5}}\n", "stress[0].correlation_set.ETH,SOL"},
      {kBase + "stress:\n  - {name: a, correlation_set: {\"ETH,\": 0.5}}\n", "must name a pair of printable symbols"},
      {kBase + "stress:\n  - {name: " + std::string(65, 'n') + "}\n", "stress[0].name"},
      {kBase + "stress:\n  - {name: \"\"}\n", "stress[0].name"},
      {kBase + "stress:\n  - {vol_multiplier: 2}\n", "stress[0].name: is missing"},
      {kBase + "hedge:\n  ratio: .nan\n", "hedge.ratio: '.nan' is not a number"},
      {kBase + "hedge:\n  ratio: nan\n", "hedge.ratio: 'nan' is not a number"},
      {kBase + "hedge:\n  ratio: inf\n", "hedge.ratio: 'inf' is not a number"},
      {kBase + "hedge:\n  ratio: 1e400\n", "hedge.ratio: '1e400' is not a number"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_TRUE(contains(e, c.expected)) << "yaml:\n" << c.yaml << "\nerror: " << e;
  }
}

TEST(BookLimits, BandGridOf65EntriesIsRefused) {
  std::string grid = "[";
  for (int i = 0; i < 65; ++i) grid += (i ? ", " : "") + std::to_string(0.01 * (i + 1));
  const std::string e = error_of(kBase + "risk:\n  band_grid: " + grid + "]\n");
  EXPECT_TRUE(contains(e, "book.yaml:5: risk.band_grid: has 65 entries")) << e;
  EXPECT_TRUE(contains(e, "1..64")) << e;
}

TEST(BookLimits, AtMost64StressScenarios) {
  std::string stress = "stress:\n";
  for (int i = 0; i < 65; ++i) stress += "  - {name: s" + std::to_string(i) + ", vol_multiplier: 2}\n";
  const std::string e = error_of(kBase + stress);
  EXPECT_TRUE(contains(e, "book.yaml:5: stress: has 65 entries")) << e;
}

TEST(BookLimits, LongValuesAreEchoedClipped) {
  const std::string huge(10000, 'x');
  for (const std::string& yaml : {kBase + "hedge:\n  instrument: " + huge + "\n", kBase + "hedge:\n  ratio: " + huge + "\n",
                                  kBase + "simulation:\n  paths: " + huge + "\n", kBase + "? " + huge + "\n: 1\n",
                                  kBase + "simulation:\n  backend: " + huge + "\n"}) {
    const std::string e = error_of(yaml);
    EXPECT_TRUE(contains(e, "book.yaml:")) << e.substr(0, 200);
    EXPECT_TRUE(contains(e, "... (10000 bytes)")) << e.substr(0, 200);
    EXPECT_LT(e.size(), 400u) << e.substr(0, 200);
  }
}

TEST(BookLimits, NamesMustBePrintable) {
  // YAML escapes put NUL, BEL and ESC into the names.
  for (const std::string name : {"\"E\\0TH\"", "\"E\\aTH\"", "\"\\eETH\"", "\"ETH\\n\"", "\"\""}) {
    const std::string e = error_of("model: m.json\nportfolio:\n  holdings:\n    " + name + ": 1\n");
    EXPECT_TRUE(contains(e, "book.yaml:4: portfolio.holdings.")) << name << ": " << e;
    EXPECT_TRUE(contains(e, "printable")) << name << ": " << e;
    EXPECT_EQ(e.find('\0'), std::string::npos);
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
  EXPECT_TRUE(contains(error_of(kBase + "stress:\n  - {name: \"a\\tb\"}\n"), "stress[0].name"));
  EXPECT_TRUE(contains(error_of(kBase + "stress:\n  - {name: a, shock: {\"E\\0\": -0.1}}\n"), "printable"));
  EXPECT_TRUE(contains(error_of(kBase + "stress:\n  - {name: a, correlation_set: {\"E\\0,SOL\": 0.1}}\n"),
                       "printable"));
  EXPECT_TRUE(contains(error_of(kBase + "hedge: {benchmark: \"B\\x01\"}\n"), "hedge.benchmark"));
  // UTF-8 names are printable.
  EXPECT_EQ(parse_book("model: m.json\nportfolio:\n  holdings: {\"ÉTH\": 1}\n", "b.yaml").holdings[0].first, "ÉTH");
}

TEST(BookLimits, OnlyInputErrorEverLeavesTheParser) {
  const std::vector<std::string> inputs = {
      "", "\n", "~", "[]", "- 1\n- 2\n", "a", "{", "model: &a [*a]\n", "? [a, b]\n: 1\n",
      "model: m.json\nportfolio: &p\n  holdings: *p\n", "model: !!binary aGVsbG8=\nportfolio: {holdings: {ETH: 1}}\n",
      "<<: {model: m.json}\n", kBase + "stress: {name: a}\n", kBase + "stress:\n  - [a]\n", kBase + "stress:\n  - ~\n",
      kBase + "hedge: [1]\n", kBase + "risk: {levels: {a: 1}}\n", kBase + "risk: {levels: 0.5}\n",
      kBase + "risk: {band_grid: [[0.1]]}\n", kBase + "hedge:\n", std::string("model: m\0.json\n", 15),
      std::string(3000, '['), std::string(3000, '{'), "model: \"\\x\"\n", "\xff\xfe\x00\x01",
  };
  for (const std::string& yaml : inputs) {
    try {
      parse_book(yaml, "book.yaml");
    } catch (const InputError& e) {
      EXPECT_TRUE(contains(e.what(), "book.yaml")) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an InputError for " << yaml.substr(0, 60) << ": " << e.what();
    }
  }
}

TEST(BookLimits, LoadBookReadsOnlyBoundedRegularFiles) {
  const test::TempDir dir;
  try {
    load_book(dir.path());
    ADD_FAILURE() << "a directory loaded as a book";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "config file is a directory")) << e.what();
  }
  try {
    load_book("/dev/zero");
    ADD_FAILURE() << "/dev/zero loaded as a book";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "/dev/zero: config file is not a regular file")) << e.what();
  }
  test::write_text(dir / "big.yaml", "# " + std::string(2u << 20, 'x') + "\n");
  try {
    load_book(dir / "big.yaml");
    ADD_FAILURE() << "a 2 MiB book loaded";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "more than the limit of 1 MiB")) << e.what();
  }
  test::write_text(dir / "book.yaml", kBase);
  EXPECT_EQ(load_book(dir / "book.yaml").model_path, dir.path() / "m.json");
}

}  // namespace
}  // namespace betahedge
