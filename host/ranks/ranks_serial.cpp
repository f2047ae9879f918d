#include "ranks/ranks.hpp"

namespace betahedge::ranks {

int index() { return 0; }
int count() { return 1; }
int local_index() { return 0; }
std::vector<std::string> all_gather(const std::string& bytes) { return {bytes}; }
std::string broadcast_from_root(const std::string& bytes) { return bytes; }
std::string bytes_from_root(const std::function<std::string()>& work) { return work(); }
void run_on_root(const std::function<void()>& work) { work(); }
Outcome agree_on_outcome(const Outcome& mine) { return mine; }
std::string mpi_library() { return {}; }
Session::Session(int&, char**&) {}
Session::~Session() = default;

}  // namespace betahedge::ranks
