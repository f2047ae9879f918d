#pragma once
/// Helpers shared by the test programs: paths to shared data and running the CLI.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace betahedge::test {

inline std::filesystem::path shared_dir() { return BETAHEDGE_SHARED_DIR; }
inline std::filesystem::path source_dir() { return BETAHEDGE_SOURCE_DIR; }
inline bool have_shared_data() { return std::filesystem::exists(shared_dir() / "data"); }

/// A fresh, empty temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("betahedge-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

/// The message of the `Error` that `f()` throws, or "" when it returns. Any other exception
/// escapes and fails the test.
template <class Error, class Function>
std::string message_of(Function&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliResult {
  int exit_code;
  std::string stderr_text;
  std::string stdout_text;
};

/// Runs the built `betahedge` binary with `args` (a shell-quoted string), capturing stderr and
/// stdout; `environment` ("NAME=value ...") is set for that run only.
inline CliResult run_cli(const std::string& args, const std::string& environment = "") {
  const auto capture = [](const char* stream) {
    return std::filesystem::temp_directory_path() /
           ("betahedge-cli-" + std::string(stream) + "-" + std::to_string(::getpid()));
  };
  const auto err = capture("stderr"), out = capture("stdout");
  const std::string cmd =
      environment + " " + std::string(BETAHEDGE_CLI) + " " + args + " >" + out.string() + " 2>" + err.string();
  int status = std::system(cmd.c_str());
  CliResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(err), read_text(out)};
  std::filesystem::remove(err);
  std::filesystem::remove(out);
  return r;
}

}  // namespace betahedge::test
