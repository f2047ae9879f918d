#include "io/atomic_write.hpp"

#include <fstream>
#include <random>

#include "betahedge/error.hpp"

namespace betahedge {
namespace fs = std::filesystem;

namespace {
std::string unique_suffix() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}
}  // namespace

void write_file_atomically(const fs::path& path, const std::string& contents) {
  const fs::path tmp = path.string() + ".tmp-" + unique_suffix();
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw InputError(path.string() + ": cannot write (directory missing or not writable)");
    out << contents;
    if (!out.flush()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw InputError(path.string() + ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(path.string() + ": cannot rename temporary file into place");
  }
}

void write_directory_atomically(const fs::path& out_dir, const std::function<void(const fs::path&)>& fill) {
  const fs::path target = fs::absolute(out_dir).lexically_normal();
  const fs::path parent = target.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw InputError(out_dir.string() + ": cannot create parent directory");
  const fs::path staging = parent / ("." + target.filename().string() + ".partial-" + unique_suffix());
  fs::create_directory(staging, ec);
  if (ec) throw InputError(out_dir.string() + ": cannot create output directory (not writable?)");
  try {
    fill(staging);
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  // Replace an existing directory: move it aside first so the swap is two renames.
  fs::path old;
  if (fs::exists(target)) {
    if (!fs::is_directory(target)) {
      fs::remove_all(staging, ec);
      throw InputError(out_dir.string() + ": exists and is not a directory");
    }
    old = parent / ("." + target.filename().string() + ".old-" + unique_suffix());
    fs::rename(target, old, ec);
    if (ec) {
      fs::remove_all(staging, ec);
      throw InputError(out_dir.string() + ": cannot replace the existing directory");
    }
  }
  fs::rename(staging, target, ec);
  if (ec) {
    std::error_code ignore;
    if (!old.empty()) fs::rename(old, target, ignore);
    fs::remove_all(staging, ignore);
    throw InputError(out_dir.string() + ": cannot move the output directory into place");
  }
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace betahedge
