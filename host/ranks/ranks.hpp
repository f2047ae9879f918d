#pragma once
/// The ranks of a job (SPEC 7): under `mpirun -np R` each process is one rank of R and runs a
/// share of the path ids; a plain process is rank 0 of 1. Every collective below must be called
/// by every rank, in the same order. Built with MPI (BETAHEDGE_MPI) by ranks_mpi.cpp, else by
/// ranks_serial.cpp.
#include <exception>
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

/// An exception as bytes (its kind: InputError, NumericalError, DeviceError or other, and its
/// message), so that an error met on one rank can be raised, the same, on every rank.
std::string encode_error(const std::exception_ptr& error);
/// Throws the exception encode_error described.
[[noreturn]] void rethrow_encoded(const std::string& encoded);

}  // namespace betahedge::ranks
