/// run.yaml: the same reading rules as book.yaml (yaml_fields), and its own ranges.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "config/run_config.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

const std::string kCalibrate = "book: book.yaml\ncalibrate:\n  prices: p.csv\n  benchmark: BTC\n";  // lines 1-4

std::string error_of(const std::string& yaml) {
  return test::message_of<InputError>([&] { parse_run_config(yaml, "run.yaml"); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RunConfig, ParsesEveryKey) {
  const RunConfig rc = parse_run_config(
      "book: books/book.yaml\ncalibrate:\n  prices: ../p.csv\n  benchmark: BTC\n  assets: [BTC, ETH]\n  regimes: auto\n"
      "  distribution: student-t\n  start: 2020-02-29\n  end: 2024-12-31\n  fill_forward: true\n"
      "  seed: 9223372036854775808\n  starts: 1000\nreport: false\n",
      "/jobs/run.yaml");
  EXPECT_EQ(rc.book, std::filesystem::path("/jobs/books/book.yaml"));
  EXPECT_FALSE(rc.report);
  ASSERT_TRUE(rc.calibrate);
  EXPECT_EQ(rc.calibrate->prices, std::filesystem::path("/jobs/../p.csv"));
  EXPECT_EQ(rc.calibrate->assets, (std::vector<std::string>{"BTC", "ETH"}));
  EXPECT_FALSE(rc.calibrate->regimes);
  EXPECT_TRUE(rc.calibrate->student_t);
  EXPECT_EQ(*rc.calibrate->start, "2020-02-29");
  EXPECT_TRUE(rc.calibrate->fill_forward);
  EXPECT_EQ(rc.calibrate->seed, std::uint64_t{1} << 63);
  EXPECT_EQ(rc.calibrate->starts, 1000);

  const RunConfig plain = parse_run_config("book: book.yaml\n", "run.yaml");
  EXPECT_FALSE(plain.calibrate);
  EXPECT_TRUE(plain.report);
  EXPECT_EQ(*parse_run_config(kCalibrate, "run.yaml").calibrate->regimes, 2);
}

TEST(RunConfig, SequenceOrMappingKeyIsAnInputError) {
  // Once escaped as exit 1 through a yaml-cpp conversion exception.
  const std::string top = error_of("book: book.yaml\n[a, b]: 1\n");
  EXPECT_TRUE(contains(top, "run.yaml:2: (top level): key must be a plain name")) << top;
  const std::string inner = error_of(kCalibrate + "  {x: 1}: 2\n");
  EXPECT_TRUE(contains(inner, "run.yaml:5: calibrate: key must be a plain name")) << inner;
}

TEST(RunConfig, DuplicateKeysNameBothLines) {
  const std::string regimes = error_of(kCalibrate + "  regimes: 2\n  regimes: 3\n");
  EXPECT_TRUE(contains(regimes, "run.yaml:6: calibrate.regimes: duplicate key (first at line 5)")) << regimes;
  const std::string book = error_of("book: a.yaml\nbook: b.yaml\n");
  EXPECT_TRUE(contains(book, "run.yaml:2: book: duplicate key (first at line 1)")) << book;
  const std::string calibrate = error_of(kCalibrate + "calibrate:\n  prices: q.csv\n");
  EXPECT_TRUE(contains(calibrate, "run.yaml:5: calibrate: duplicate key (first at line 2)")) << calibrate;
}

TEST(RunConfig, RangesAndFormats) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {kCalibrate + "  seed: -1\n", "run.yaml:5: calibrate.seed: '-1' is out of range: must be a whole number in 0..2^63"},
      {kCalibrate + "  seed: 9223372036854775809\n", "calibrate.seed: '9223372036854775809' is out of range"},
      {kCalibrate + "  starts: 0\n", "calibrate.starts: '0' is out of range: must be a whole number in 1..1000"},
      {kCalibrate + "  starts: 4294967297\n", "calibrate.starts"},
      {kCalibrate + "  regimes: 9\n", "calibrate.regimes: '9' is out of range: must be a whole number in 1..8 (or auto)"},
      {kCalibrate + "  regimes: 2.5\n", "calibrate.regimes: '2.5' is not a whole number"},
      {kCalibrate + "  assets: [BTC, ETH, BTC]\n", "run.yaml:5: calibrate.assets[2]: 'BTC' is listed twice"},
      {kCalibrate + "  assets: []\n", "calibrate.assets: has 0 entries"},
      {kCalibrate + "  assets: [\"E\\0H\"]\n", "calibrate.assets[0]: 'E\\x00H' must be a name"},
      {kCalibrate + "  assets: BTC\n", "calibrate.assets: must be a list"},
      {kCalibrate + "  start: 2020-13-01\n", "calibrate.start: '2020-13-01' must be a date YYYY-MM-DD"},
      {kCalibrate + "  start: 2021-02-29\n", "calibrate.start"},
      {kCalibrate + "  end: yesterday\n", "calibrate.end: 'yesterday' must be a date YYYY-MM-DD"},
      {kCalibrate + "  start: 2024-01-01\n  end: 2023-01-01\n", "run.yaml:6: calibrate.end: must not be before"},
      {kCalibrate + "  distribution: cauchy\n", "calibrate.distribution: 'cauchy' is not one of"},
      {kCalibrate + "  fill_forward: maybe\n", "calibrate.fill_forward"},
      {"book: book.yaml\nreport: yes please\n", "run.yaml:2: report"},
      {"book: book.yaml\ncalibrate:\n  benchmark: BTC\n", "calibrate.prices: is missing"},
      {"book: book.yaml\ncalibrate:\n  prices: p.csv\n", "calibrate.benchmark: is missing"},
      {"calibrate: {prices: p.csv, benchmark: BTC}\n", "run.yaml:1: book: is missing"},
      {"book: book.yaml\nbok: 1\n", "run.yaml:2: bok: unknown key"},
      {"book: [a]\n", "run.yaml:1: book: must be a single value"},
      {"- book\n", "run.yaml: must be a mapping"},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_TRUE(contains(e, c.expected)) << "yaml:\n" << c.yaml << "\nerror: " << e;
  }
  std::string assets = "[";
  for (int i = 0; i < 65; ++i) assets += (i ? ", A" : "A") + std::to_string(i);
  EXPECT_TRUE(contains(error_of(kCalibrate + "  assets: " + assets + "]\n"), "calibrate.assets: has 65 entries"));
}

TEST(RunConfig, LongValuesAreEchoedClipped) {
  const std::string huge(10000, 'y');
  for (const std::string& yaml : {kCalibrate + "  distribution: " + huge + "\n", kCalibrate + "  seed: " + huge + "\n",
                                  kCalibrate + "  start: " + huge + "\n", "book: b.yaml\n? " + huge + "\n: 1\n"}) {
    const std::string e = error_of(yaml);
    EXPECT_TRUE(contains(e, "... (10000 bytes)")) << e.substr(0, 200);
    EXPECT_LT(e.size(), 400u) << e.substr(0, 200);
  }
}

TEST(RunConfig, OnlyInputErrorEverLeavesTheParser) {
  const std::vector<std::string> inputs = {
      "", "~", "[]", "book", "{", "book: &a [*a]\n", "? [a, b]\n: 1\n", "book: b\ncalibrate: &c\n  prices: *c\n",
      "book: b\ncalibrate: [1]\n", "book: b\ncalibrate:\n", std::string(3000, '['), "book: \"\\x\"\n",
      std::string("book: b\0\n", 9),
  };
  for (const std::string& yaml : inputs) {
    try {
      parse_run_config(yaml, "run.yaml");
    } catch (const InputError& e) {
      EXPECT_TRUE(contains(e.what(), "run.yaml")) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an InputError for " << yaml.substr(0, 60) << ": " << e.what();
    }
  }
}

TEST(RunConfig, LoadReadsOnlyBoundedRegularFiles) {
  const test::TempDir dir;
  try {
    load_run_config(dir.path());
    ADD_FAILURE() << "a directory loaded as run.yaml";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "config file is a directory")) << e.what();
  }
  try {
    load_run_config("/dev/zero");
    ADD_FAILURE() << "/dev/zero loaded as run.yaml";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "/dev/zero: config file is not a regular file")) << e.what();
  }
  try {
    load_run_config(dir / "absent.yaml");
    ADD_FAILURE() << "a missing run.yaml loaded";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "absent.yaml: cannot open config file")) << e.what();
  }
  test::write_text(dir / "run.yaml", "book: book.yaml\n");
  EXPECT_EQ(load_run_config(dir / "run.yaml").book, dir.path() / "book.yaml");
}

}  // namespace
}  // namespace betahedge
