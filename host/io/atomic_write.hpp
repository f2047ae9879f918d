#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace betahedge {

/// Writes `contents` to `path` through a temporary file in the same directory and a rename,
/// so a reader never sees a half-written file. Throws InputError when it cannot.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

/// Builds an output directory completely or not at all: `fill` writes into a fresh temporary
/// directory beside `out_dir`, which then replaces `out_dir`. On any exception the temporary
/// directory is removed and `out_dir` is left as it was.
void write_directory_atomically(const std::filesystem::path& out_dir,
                                const std::function<void(const std::filesystem::path&)>& fill);

}  // namespace betahedge
