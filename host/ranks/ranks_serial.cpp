#include "ranks/ranks.hpp"

namespace betahedge::ranks {

int index() { return 0; }
int count() { return 1; }
int local_index() { return 0; }
std::vector<std::string> all_gather(const std::string& bytes) { return {bytes}; }
std::string broadcast_from_root(const std::string& bytes) { return bytes; }

}  // namespace betahedge::ranks
