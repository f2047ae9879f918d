#include <sys/stat.h>

#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "io/input_file.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

std::string error_of(const std::filesystem::path& p, std::uintmax_t max_bytes = kMaxConfigBytes) {
  try {
    read_input_file(p, "config file", max_bytes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(InputFile, ReadsARegularFile) {
  test::TempDir dir;
  test::write_text(dir / "a.yaml", "paths: 3\n");
  EXPECT_EQ(read_input_file(dir / "a.yaml", "config file", kMaxConfigBytes), "paths: 3\n");
}

TEST(InputFile, RefusesWhatIsNotARegularFile) {
  test::TempDir dir;
  EXPECT_NE(error_of(dir / "missing.yaml").find("missing.yaml: cannot open config file (no such file)"),
            std::string::npos);
  EXPECT_NE(error_of(dir.path()).find("is a directory"), std::string::npos);
  // /dev/zero would be read without end: it is refused before the first byte.
  EXPECT_NE(error_of("/dev/zero").find("/dev/zero: config file is not a regular file"), std::string::npos);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_NE(error_of(dir / "fifo").find("not a regular file"), std::string::npos);
  EXPECT_NE(error_of("").find("cannot open"), std::string::npos);
}

TEST(InputFile, RefusesAFileOverItsCap) {
  test::TempDir dir;
  test::write_text(dir / "big.yaml", std::string((2u << 20) + 1, '#'));
  EXPECT_NE(error_of(dir / "big.yaml").find("big.yaml: config file is 2 MiB, more than the limit of 1 MiB"),
            std::string::npos)
      << error_of(dir / "big.yaml");
}

}  // namespace
}  // namespace betahedge
