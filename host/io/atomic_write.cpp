#include "io/atomic_write.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "betahedge/error.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace fs = std::filesystem;

namespace {

std::string unique_suffix() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

/// The path with links and ".." resolved as far as it exists.
fs::path resolved(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : r;
}

/// True when `inner` is `outer` or lies below it (whole path components).
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

std::string shown(const fs::path& p) { return clip_for_message(p.string(), 200); }

/// The entries of an existing directory that betahedge's manifest does not list.
std::vector<std::string> entries_not_written_by_betahedge(const fs::path& dir) {
  std::set<std::string> listed;
  std::ifstream in(dir / kOutputManifest);
  if (in) {
    try {
      const nlohmann::json manifest = nlohmann::json::parse(in);
      if (manifest.is_object() && manifest.value("format", "") == "betahedge.output/1" &&
          manifest.contains("files") && manifest["files"].is_array())
        for (const auto& f : manifest["files"])
          if (f.is_string()) listed.insert(f.get<std::string>());
    } catch (const nlohmann::json::exception&) {
      listed.clear();
    }
    if (!listed.empty()) listed.insert(kOutputManifest);
  }
  std::vector<std::string> foreign;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!listed.count(name) || entry.is_directory() || entry.is_symlink()) foreign.push_back(name);
  }
  return foreign;
}

void write_manifest(const fs::path& dir, const OutputRules& rules) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  const nlohmann::json manifest = {{"format", "betahedge.output/1"},
                                   {"written_by", rules.written_by},
                                   {"version", BETAHEDGE_VERSION},
                                   {"files", files}};
  write_file_atomically(dir / kOutputManifest, manifest.dump(2) + "\n");
}

}  // namespace

fs::path normalized_output_path(const fs::path& out, const std::string& option) {
  if (out.empty()) throw InputError(option + ": is empty; give a path to write to");
  fs::path p = fs::absolute(out).lexically_normal();
  // lexically_normal keeps a trailing separator as an empty last element: "res/" -> "res/".
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

void check_output_clear_of_inputs(const fs::path& out, const std::vector<fs::path>& inputs, const std::string& option) {
  const fs::path target = resolved(normalized_output_path(out, option));
  for (const fs::path& input : inputs) {
    if (input.empty()) continue;
    const fs::path source = resolved(input);
    if (source == target)
      throw InputError(option + ": '" + shown(out) + "' is an input of this command (" + shown(input) +
                       "); choose another output path");
    if (is_within(source, target))
      throw InputError(option + ": '" + shown(out) + "' holds an input of this command (" + shown(input) +
                       "), which replacing it would delete; choose another output path");
  }
  std::error_code ec;
  const fs::path here = resolved(fs::current_path(ec));
  if (!ec && is_within(here, target))
    throw InputError(option + ": '" + shown(out) + "' is the current directory or one above it; choose a new directory");
}

void check_output_directory(const fs::path& out_dir, const OutputRules& rules) {
  const fs::path target = normalized_output_path(out_dir);
  check_output_clear_of_inputs(target, rules.inputs);
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(target, ec);
  if (!fs::exists(status)) return;
  if (fs::is_symlink(status))
    throw InputError("--out: '" + shown(out_dir) + "' is a symbolic link; name the directory itself, or a new one");
  if (!fs::is_directory(status))
    throw InputError("--out: '" + shown(out_dir) + "' exists and is not a directory; choose another path");
  if (rules.force) return;
  const std::vector<std::string> foreign = entries_not_written_by_betahedge(target);
  if (!foreign.empty())
    throw InputError("--out: '" + shown(out_dir) + "' exists and holds '" + clip_for_message(foreign.front()) + "'" +
                     (foreign.size() > 1 ? " and " + std::to_string(foreign.size() - 1) + " more entries" : "") +
                     " that betahedge did not write; choose a new directory, or pass --force to delete everything "
                     "in it and replace it");
}

void check_output_file_replaceable(const fs::path& path, const std::function<bool(const fs::path&)>& written_by_betahedge,
                                   bool force, const std::string& option) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (!fs::exists(status)) return;
  if (fs::is_symlink(status))
    throw InputError(option + ": '" + shown(path) + "' is a symbolic link; name the file itself, or a new one");
  if (!fs::is_regular_file(status))
    throw InputError(option + ": '" + shown(path) + "' exists and is not a regular file; choose another name");
  if (!force && !written_by_betahedge(path))
    throw InputError(option + ": '" + shown(path) +
                     "' exists and was not written by betahedge; choose another name, or pass --force to overwrite it");
}

void write_file_atomically(const fs::path& path, const std::string& contents) {
  const fs::path tmp = path.string() + ".tmp-" + unique_suffix();
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw InputError(shown(path) + ": cannot write (directory missing or not writable)");
    out << contents;
    if (!out.flush()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw InputError(shown(path) + ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(shown(path) + ": cannot rename temporary file into place");
  }
}

void write_directory_atomically(const fs::path& out_dir, const OutputRules& rules,
                                const std::function<void(const fs::path&)>& fill) {
  check_output_directory(out_dir, rules);
  const fs::path target = normalized_output_path(out_dir);
  const fs::path parent = target.parent_path();

  // Parents this call creates are removed again if it fails.
  fs::path first_created;
  for (fs::path p = parent; !p.empty() && !fs::exists(p); p = p.parent_path()) {
    first_created = p;
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw InputError(shown(out_dir) + ": cannot create parent directory (" + ec.message() + ")");
  auto undo_parents = [&] {
    std::error_code ignore;
    if (!first_created.empty()) fs::remove_all(first_created, ignore);
  };

  const fs::path staging = parent / ("." + target.filename().string() + ".partial-" + unique_suffix());
  fs::create_directory(staging, ec);
  if (ec) {
    undo_parents();
    throw InputError(shown(out_dir) + ": cannot create output directory (" + ec.message() + ")");
  }
  try {
    fill(staging);
    write_manifest(staging, rules);
  } catch (...) {
    fs::remove_all(staging, ec);
    undo_parents();
    throw;
  }
  // Replace an existing directory: move it aside first so the swap is two renames.
  fs::path old;
  if (fs::exists(fs::symlink_status(target))) {
    old = parent / ("." + target.filename().string() + ".old-" + unique_suffix());
    fs::rename(target, old, ec);
    if (ec) {
      fs::remove_all(staging, ec);
      throw InputError(shown(out_dir) + ": cannot replace the existing directory");
    }
  }
  fs::rename(staging, target, ec);
  if (ec) {
    std::error_code ignore;
    if (!old.empty()) fs::rename(old, target, ignore);
    fs::remove_all(staging, ignore);
    undo_parents();
    throw InputError(shown(out_dir) + ": cannot move the output directory into place");
  }
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace betahedge
