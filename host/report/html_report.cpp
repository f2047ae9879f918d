#include "report/html_report.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "betahedge/error.hpp"

namespace betahedge {
namespace {

std::string from_env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

/// The renderer script: $BETAHEDGE_REPORT_SCRIPT when set; else share/betahedge/report.py beside
/// the running binary's bin/ (an installed bundle, found through /proc/self/exe); else the source
/// tree's python/betahedge/report.py baked in at compile time (the build tree).
std::string report_script() {
  if (const char* value = std::getenv("BETAHEDGE_REPORT_SCRIPT"); value && *value) return value;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path installed = exe.parent_path().parent_path() / "share/betahedge/report.py";
    if (std::filesystem::is_regular_file(installed, ec)) return installed.string();
  }
  return BETAHEDGE_REPORT_SCRIPT;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void render_html_report(const std::filesystem::path& dir, const std::filesystem::path& final_dir) {
  const std::string python = from_env("BETAHEDGE_PYTHON", "/usr/bin/python3");
  const std::string script = report_script();
  const std::filesystem::path errors = dir / ".render-errors";
  const std::string command = "BETAHEDGE_REPORT_OUTPUT_DIR=" +
                              quoted(std::filesystem::absolute(final_dir).lexically_normal().string()) + " " +
                              quoted(python) + " " + quoted(script) + " " + quoted(dir.string()) + " 2>" +
                              quoted(errors.string()) + " >/dev/null";
  const int status = std::system(command.c_str());
  std::ifstream in(errors);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(errors);
  if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string line, last;
    while (std::getline(text, line))
      if (!line.empty()) last = line;
    if (last.rfind("error: ", 0) == 0) last = last.substr(7);
    throw InputError("report.html: the renderer (" + script + ") failed: " +
                     (last.empty() ? "no message (is " + python + " with matplotlib installed?)" : last));
  }
}

}  // namespace betahedge
