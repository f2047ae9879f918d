// Outputs never touch inputs, a directory betahedge did not write is never replaced without
// --force, and a failed write leaves nothing behind.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "betahedge/error.hpp"
#include "io/atomic_write.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

namespace fs = std::filesystem;

void write_two_files(const fs::path& dir) {
  test::write_text(dir / "summary.json", "{}\n");
  test::write_text(dir / "stress.csv", "scenario\n");
}

std::string error_of(const std::function<void()>& f) { return test::message_of<InputError>(f); }

class AtomicWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "inputs");
    test::write_text(dir_ / "inputs/book.yaml", "model: model.json\n");
    test::write_text(dir_ / "inputs/model.json", "{}\n");
  }
  OutputRules rules(bool force = false) const {
    return {{dir_ / "inputs/book.yaml", dir_ / "inputs/model.json"}, "betahedge simulate", force};
  }
  test::TempDir dir_;
};

TEST_F(AtomicWrite, WritesTheFilesAndAManifestOfThem) {
  write_directory_atomically(dir_ / "out", rules(), write_two_files);
  const auto manifest = nlohmann::json::parse(test::read_text(dir_ / "out" / kOutputManifest));
  EXPECT_EQ(manifest["format"], "betahedge.output/1");
  EXPECT_EQ(manifest["written_by"], "betahedge simulate");
  EXPECT_EQ(manifest["files"], nlohmann::json({"stress.csv", "summary.json"}));
}

TEST_F(AtomicWrite, RefusesAnOutputThatIsOrHoldsAnInput) {
  // Before the fix, --out inputs deleted book.yaml and model.json and exited 0.
  for (const fs::path& out : {dir_ / "inputs", dir_.path(), dir_ / "inputs/book.yaml", dir_ / "inputs/../inputs"}) {
    const std::string e = error_of([&] { write_directory_atomically(out, rules(true), write_two_files); });
    EXPECT_NE(e.find("--out: '"), std::string::npos) << out;
    EXPECT_NE(e.find("input of this command"), std::string::npos) << e;
  }
  EXPECT_EQ(test::read_text(dir_ / "inputs/book.yaml"), "model: model.json\n");
  EXPECT_EQ(test::read_text(dir_ / "inputs/model.json"), "{}\n");
  EXPECT_FALSE(fs::exists(dir_ / "inputs" / kOutputManifest));
}

TEST_F(AtomicWrite, RefusesAnInputReachedThroughALink) {
  fs::create_directory_symlink(dir_ / "inputs", dir_ / "alias");
  const OutputRules through_link{{dir_ / "alias/book.yaml"}, "betahedge simulate", true};
  EXPECT_NE(error_of([&] { write_directory_atomically(dir_ / "inputs", through_link, write_two_files); })
                .find("input of this command"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "inputs/book.yaml"));
}

TEST_F(AtomicWrite, RefusesTheCurrentDirectory) {
  const fs::path here = fs::current_path();
  fs::create_directories(dir_ / "here");
  fs::current_path(dir_ / "here");
  const OutputRules no_inputs{{}, "betahedge simulate", true};
  const std::string e = error_of([&] { write_directory_atomically(".", no_inputs, write_two_files); });
  fs::current_path(here);
  EXPECT_NE(e.find("current directory"), std::string::npos) << e;
}

TEST_F(AtomicWrite, ReplacesOnlyADirectoryItWrote) {
  write_directory_atomically(dir_ / "out", rules(), write_two_files);
  // Its own output, listed in the manifest: replaced.
  write_directory_atomically(dir_ / "out", rules(), [](const fs::path& d) { test::write_text(d / "summary.json", "{\"a\": 1}\n"); });
  EXPECT_EQ(test::read_text(dir_ / "out/summary.json"), "{\"a\": 1}\n");
  EXPECT_FALSE(fs::exists(dir_ / "out/stress.csv"));
  // A file the user added: refused, and the directory is left as it was.
  test::write_text(dir_ / "out/notes.txt", "mine\n");
  const std::string e = error_of([&] { write_directory_atomically(dir_ / "out", rules(), write_two_files); });
  EXPECT_NE(e.find("holds 'notes.txt'"), std::string::npos) << e;
  EXPECT_NE(e.find("--force"), std::string::npos) << e;
  EXPECT_EQ(test::read_text(dir_ / "out/notes.txt"), "mine\n");
  // --force replaces it.
  write_directory_atomically(dir_ / "out", rules(true), write_two_files);
  EXPECT_FALSE(fs::exists(dir_ / "out/notes.txt"));
}

TEST_F(AtomicWrite, RefusesAnExistingDirectoryWithoutAManifest) {
  fs::create_directories(dir_ / "results");
  test::write_text(dir_ / "results/q3.xlsx", "x");
  EXPECT_NE(error_of([&] { write_directory_atomically(dir_ / "results", rules(), write_two_files); })
                .find("that betahedge did not write"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "results/q3.xlsx"));
  // An empty directory holds nothing to lose.
  fs::create_directories(dir_ / "empty");
  write_directory_atomically(dir_ / "empty", rules(), write_two_files);
  EXPECT_TRUE(fs::exists(dir_ / "empty/summary.json"));
}

TEST_F(AtomicWrite, AcceptsATrailingSlash) {
  write_directory_atomically((dir_ / "res").string() + "/", rules(), write_two_files);
  EXPECT_TRUE(fs::exists(dir_ / "res/summary.json"));
  EXPECT_EQ(normalized_output_path("a/b/"), fs::absolute("a/b"));
}

TEST_F(AtomicWrite, AnEmptyOutIsAnInputError) {
  EXPECT_NE(error_of([&] { write_directory_atomically("", rules(), write_two_files); }).find("--out: is empty"),
            std::string::npos);
}

TEST_F(AtomicWrite, AFailedFillLeavesNothingBehindNotEvenNewParents) {
  EXPECT_THROW(write_directory_atomically(dir_ / "new/deeper/out", rules(),
                                          [](const fs::path&) { throw NumericalError("boom"); }),
               NumericalError);
  EXPECT_FALSE(fs::exists(dir_ / "new"));
  for (const auto& entry : fs::directory_iterator(dir_.path()))
    EXPECT_EQ(entry.path().filename().string().rfind(".out", 0), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace betahedge
