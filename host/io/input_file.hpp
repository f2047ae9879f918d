#pragma once
/// Reading an input file with bounds: only regular files (never a directory, a device such as
/// /dev/zero, or a FIFO), and at most a stated number of bytes, so that no input makes a
/// command read without end. Every failure is an InputError naming the file.
#include <cstdint>
#include <filesystem>
#include <string>

namespace betahedge {

/// Size caps of the inputs, far above any real one (a 64-asset model is ~100 KB; 20 years of
/// daily closes of 1,000 symbols ~100 MB).
inline constexpr std::uintmax_t kMaxConfigBytes = 1u << 20;         ///< book.yaml, run.yaml: 1 MiB
inline constexpr std::uintmax_t kMaxModelBytes = 16u << 20;         ///< model.json: 16 MiB
inline constexpr std::uintmax_t kMaxPricesBytes = 512ull << 20;     ///< prices CSV: 512 MiB

/// Throws InputError "`path`: `what` ..." unless `path` names an existing regular file (links
/// to one are followed) of at most `max_bytes`.
void require_input_file(const std::filesystem::path& path, const std::string& what, std::uintmax_t max_bytes);

/// The whole of a file checked by require_input_file. Collective over the job's ranks (SPEC 7):
/// rank 0 reads, and every rank returns its bytes or throws its error.
std::string read_input_file(const std::filesystem::path& path, const std::string& what, std::uintmax_t max_bytes);

}  // namespace betahedge
