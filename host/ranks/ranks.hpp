#pragma once
/// The ranks of a job (SPEC 7): under `mpirun -np R` each process is one rank of R and runs a
/// share of the path ids; a plain process is rank 0 of 1. Every collective below must be called
/// by every rank, in the same order. Built with MPI (BETAHEDGE_MPI) by ranks_mpi.cpp, else by
/// ranks_serial.cpp.
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace betahedge::ranks {

/// This process's rank, 0 .. count() - 1.
int index();
/// The number of ranks in the job.
int count();
/// This rank's index among the ranks on its node (one GPU per rank: device = local_index mod
/// the visible devices).
int local_index();
inline bool is_root() { return index() == 0; }

/// Every rank's `bytes`, in rank order, on every rank.
std::vector<std::string> all_gather(const std::string& bytes);
/// Rank 0's `bytes` on every rank (the argument is ignored on the others).
std::string broadcast_from_root(const std::string& bytes);

/// Runs `work` on rank 0 alone and returns its bytes on every rank; an exception it throws is
/// thrown on every rank (rank 0 its own, the others the one rethrow_encoded makes of it). Inside
/// `work` rank 0 is a job of one rank: the collectives it calls (an input read, a nested
/// section) involve no other rank. For what one process must do for the job: read an input,
/// calibrate, check and write the outputs.
std::string bytes_from_root(const std::function<std::string()>& work);
/// bytes_from_root for work that returns nothing.
void run_on_root(const std::function<void()>& work);

/// How a rank's command ended: its exit code (0 on success) and, on failure, its error line.
struct Outcome {
  int exit_code = 0;
  std::string error;
};
/// The job's outcome, the same on every rank: the first failure in rank order, else success.
/// The last collective of a process: it uses a communicator of its own, so that a rank that
/// reaches it while others still wait in a pass blocks rather than mixing up their messages.
Outcome agree_on_outcome(const Outcome& mine);

/// The MPI library this build uses ("Open MPI v4.1.4, ..."), or "" in a build without MPI.
std::string mpi_library();

/// MPI's lifetime in this process: started (MPI_THREAD_FUNNELED: only the thread that makes the
/// Session calls MPI; OpenMP workers never do) when made, finished when destroyed, so every exit
/// from main finishes it. Before a Session, and in a build without MPI, a process is rank 0 of 1
/// (unit tests call the loaders without one).
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  [[maybe_unused]] bool owns_mpi_ = false;  ///< MPI was started here (not by a host program), so it ends here
};

/// An exception as bytes (its kind: InputError, NumericalError, DeviceError or other, and its
/// message), so that an error met on one rank can be raised, the same, on every rank.
std::string encode_error(const std::exception_ptr& error);
/// Throws the exception encode_error described.
[[noreturn]] void rethrow_encoded(const std::string& encoded);

}  // namespace betahedge::ranks

namespace betahedge::ranks {

/// Runs `step` on every rank; when it throws on any rank (a device that fails on one node),
/// every rank throws the lowest such rank's error. A step that fails the same way on every
/// rank (bad input read by all) needs no agreement.
void agree_on_errors(const std::function<void()>& step);

}  // namespace betahedge::ranks
