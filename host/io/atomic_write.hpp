#pragma once
/// Writing outputs so that a reader never sees half of them and no input is ever touched:
/// files land by rename, directories are built beside their target and swapped in whole, and
/// an output may neither be nor contain a file the command reads.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace betahedge {

/// The file betahedge writes into every output directory it builds: the list of what it
/// wrote, so that a later run knows the directory is its own to replace.
inline constexpr const char* kOutputManifest = "manifest.json";

/// What a command promises about its output.
struct OutputRules {
  std::vector<std::filesystem::path> inputs;  ///< every file the command reads
  std::string written_by;                     ///< "betahedge simulate", recorded in the manifest
  bool force = false;  ///< replace an existing directory that betahedge did not write
};

/// `out` as an absolute, normal path without a trailing separator ("res/" is "res").
/// Throws InputError "`option`: ..." when it is empty.
std::filesystem::path normalized_output_path(const std::filesystem::path& out, const std::string& option = "--out");

/// Throws InputError, naming both, when `out` is one of `inputs` or a directory holding one
/// (links resolved), or is the current directory or one above it.
void check_output_clear_of_inputs(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs,
                                  const std::string& option = "--out");

/// Every check write_directory_atomically makes before it writes, for commands to call before
/// their work so that a bad --out fails in a second, not after the simulation.
void check_output_directory(const std::filesystem::path& out_dir, const OutputRules& rules);

/// Throws InputError unless `path` may be written as an output file: absent, or a regular file
/// that `written_by_betahedge` recognises, or any regular file when `force` is set. `option`
/// names the flag in the message. Never a directory or a link.
void check_output_file_replaceable(const std::filesystem::path& path,
                                   const std::function<bool(const std::filesystem::path&)>& written_by_betahedge,
                                   bool force, const std::string& option = "--out");

/// Writes `contents` to `path` through a temporary file in the same directory and a rename,
/// so a reader never sees a half-written file. Throws InputError when it cannot.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

/// Builds an output directory completely or not at all: `fill` writes into a fresh temporary
/// directory beside `out_dir`, a manifest of what it wrote is added, and the result replaces
/// `out_dir`. An existing `out_dir` is replaced only when it is empty, was written by
/// betahedge (its manifest lists every entry) or `rules.force` is set; never when it holds an
/// input. On any exception nothing is left behind: not the temporary directory, not parent
/// directories this call created, and `out_dir` as it was.
void write_directory_atomically(const std::filesystem::path& out_dir, const OutputRules& rules,
                                const std::function<void(const std::filesystem::path&)>& fill);

}  // namespace betahedge
