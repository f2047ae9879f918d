// The ranks of a job over MPI (SPEC 7): every MPI_ call betahedge makes is in this file. MPI's
// default error handler stays: a failed MPI call (a lost node) ends the job through MPI itself,
// since the ranks can no longer agree on anything; betahedge's own errors never abort.
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "ranks/ranks.hpp"

namespace betahedge::ranks {
namespace {

/// The most bytes one MPI call moves: MPI counts and displacements are int.
constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 30;

// MPI's communicators are the process's own, so their state is the process's too: kept here,
// changed only by the thread that calls MPI (MPI_THREAD_FUNNELED).
/// What the collectives run on: the whole job, or this process alone while rank 0 works for the
/// job inside bytes_from_root.
MPI_Comm g_comm = MPI_COMM_WORLD;
/// agree_on_outcome's own copy of the job, so that it never matches a pass's collective.
MPI_Comm g_outcome_comm = MPI_COMM_NULL;
/// This process's rank among those on its node.
int g_local_index = 0;

bool started() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

int rank_in(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

int size_of(MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  return size;
}

/// Every rank's `bytes`, in rank order: the sizes first (64-bit), then the bytes in rounds of
/// at most kMaxMessageBytes in all, each rank sending the next piece of its own.
std::vector<std::string> gather_on(MPI_Comm comm, const std::string& bytes) {
  const int n = size_of(comm);
  const int me = rank_in(comm);
  const std::uint64_t my_size = bytes.size();
  std::vector<std::uint64_t> sizes(n);
  MPI_Allgather(&my_size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, comm);
  std::vector<std::string> out(n);
  for (int i = 0; i < n; ++i) out[i].resize(sizes[i]);
  const std::uint64_t largest = *std::max_element(sizes.begin(), sizes.end());
  const std::uint64_t piece = std::max<std::uint64_t>(1, kMaxMessageBytes / n);
  std::vector<int> counts(n);
  std::vector<int> offsets(n);
  std::vector<char> received;
  for (std::uint64_t from = 0; from < largest; from += piece) {
    int total = 0;
    for (int i = 0; i < n; ++i) {
      counts[i] = static_cast<int>(std::min(piece, sizes[i] - std::min(from, sizes[i])));
      offsets[i] = total;
      total += counts[i];
    }
    received.resize(static_cast<std::size_t>(total));
    MPI_Allgatherv(bytes.data() + std::min(from, my_size), counts[me], MPI_BYTE, received.data(), counts.data(),
                   offsets.data(), MPI_BYTE, comm);
    for (int i = 0; i < n; ++i) std::copy_n(received.data() + offsets[i], counts[i], out[i].data() + from);
  }
  return out;
}

/// Rank 0's `bytes` into `bytes` on every rank: the size first (64-bit), then pieces of at most
/// kMaxMessageBytes.
void broadcast_on(MPI_Comm comm, std::string& bytes) {
  std::uint64_t size = bytes.size();
  MPI_Bcast(&size, 1, MPI_UINT64_T, 0, comm);
  bytes.resize(size);
  for (std::uint64_t from = 0; from < size; from += kMaxMessageBytes)
    MPI_Bcast(bytes.data() + from, static_cast<int>(std::min<std::uint64_t>(kMaxMessageBytes, size - from)), MPI_BYTE,
              0, comm);
}

}  // namespace

int index() { return started() ? rank_in(g_comm) : 0; }
int count() { return started() ? size_of(g_comm) : 1; }
int local_index() { return started() ? g_local_index : 0; }

std::vector<std::string> all_gather(const std::string& bytes) {
  if (count() == 1) return {bytes};
  return gather_on(g_comm, bytes);
}

std::string broadcast_from_root(const std::string& bytes) {
  if (count() == 1) return bytes;
  std::string out = is_root() ? bytes : std::string();
  broadcast_on(g_comm, out);
  return out;
}

std::string bytes_from_root(const std::function<std::string()>& work) {
  if (count() == 1) return work();
  std::string bytes;
  std::exception_ptr error;
  if (is_root()) {
    const MPI_Comm job = g_comm;
    g_comm = MPI_COMM_SELF;
    try {
      bytes = work();
    } catch (...) {
      error = std::current_exception();
    }
    g_comm = job;
  }
  // A status first ('+': the bytes follow; '!': rank 0's error, encoded), so the bytes, which
  // may be a whole prices file, are sent as they are.
  std::string status(1, error ? '!' : '+');
  if (error) status += encode_error(error);
  broadcast_on(g_comm, status);
  if (status.front() == '!') {
    if (error) std::rethrow_exception(error);
    rethrow_encoded(status.substr(1));
  }
  broadcast_on(g_comm, bytes);
  return bytes;
}

void run_on_root(const std::function<void()>& work) {
  bytes_from_root([&] {
    work();
    return std::string();
  });
}

Outcome agree_on_outcome(const Outcome& mine) {
  if (!started() || g_outcome_comm == MPI_COMM_NULL) return mine;
  for (const std::string& outcome : gather_on(g_outcome_comm, std::to_string(mine.exit_code) + ":" + mine.error)) {
    const std::size_t colon = outcome.find(':');
    const int code = std::stoi(outcome.substr(0, colon));
    if (code != 0) return {code, outcome.substr(colon + 1)};
  }
  return {};
}

std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  const std::string version(text, static_cast<std::size_t>(length));
  return version.substr(0, version.find_first_of(",\n"));
}

/// Whether a launcher (mpirun, mpiexec, srun) started this process: Open MPI, PMIx (Slurm's
/// srun --mpi=pmix) and PMI-1/2 launchers each set one of these. A plain `betahedge ...` is a
/// job of one rank and does not start MPI at all (starting it costs Open MPI ~0.4 s).
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return true;
  return false;
}

Session::Session(int& argc, char**& argv) {
  if (started()) return;  // MPI started by the host program, which also finishes it
  if (!launched_by_mpi()) return;  // one rank: every collective is the identity
  // FUNNELED: the process runs OpenMP threads, and only this one calls MPI. Open MPI grants it.
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  owns_mpi_ = true;
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  g_local_index = rank_in(node);
  MPI_Comm_free(&node);
  MPI_Comm_dup(MPI_COMM_WORLD, &g_outcome_comm);
}

Session::~Session() {
  if (!owns_mpi_) return;
  MPI_Comm_free(&g_outcome_comm);
  MPI_Finalize();
}

}  // namespace betahedge::ranks
