#include "io/input_file.hpp"

#include <fstream>
#include <sstream>

#include "betahedge/error.hpp"
#include "ranks/ranks.hpp"

namespace betahedge {
namespace fs = std::filesystem;

namespace {
std::string megabytes(std::uintmax_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

std::string read_local_file(const fs::path& path, const std::string& what, std::uintmax_t max_bytes) {
  require_input_file(path, what, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open " + what + " (permission denied?)");
  std::ostringstream text;
  text << in.rdbuf();
  // The file may have grown between the size check and the read.
  if (text.tellp() > static_cast<std::streamoff>(max_bytes))
    throw InputError(path.string() + ": " + what + " is more than the limit of " + megabytes(max_bytes));
  return std::move(text).str();
}

}  // namespace

void require_input_file(const fs::path& path, const std::string& what, std::uintmax_t max_bytes) {
  const std::string name = path.empty() ? std::string("''") : path.string();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw InputError(name + ": cannot open " + what + " (no such file)");
  if (fs::is_directory(status)) throw InputError(name + ": " + what + " is a directory, not a file");
  if (!fs::is_regular_file(status))
    throw InputError(name + ": " + what + " is not a regular file (a device, FIFO or socket cannot be read)");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw InputError(name + ": cannot read the size of " + what);
  if (size > max_bytes)
    throw InputError(name + ": " + what + " is " + megabytes(size) + ", more than the limit of " +
                     megabytes(max_bytes));
}

std::string read_input_file(const fs::path& path, const std::string& what, std::uintmax_t max_bytes) {
  // One process reads for the job: ranks on other nodes may not see the same files, and an error
  // reaches every rank the same.
  return ranks::bytes_from_root([&] { return read_local_file(path, what, max_bytes); });
}

}  // namespace betahedge
