#pragma once
#include <memory>
#include <string>
#include <vector>

#include "betahedge/path_backend.hpp"

namespace betahedge {

/// The CPU backend: the BH_HD path code run by OpenMP threads over path ids, outcomes in
/// host memory. `threads` = 0 uses every core. The path code is compiled once per x86-64
/// instruction set (cpu_isa_variants) and the best one this CPU runs is chosen at run time;
/// every variant returns the same numbers, bit for bit. `isa` names one variant ("" = the
/// best, or the environment's BETAHEDGE_CPU_ISA); an unknown or unsupported name throws
/// InputError.
std::unique_ptr<PathBackend> make_cpu_backend(int threads, const std::string& isa = "");

/// The instruction-set variants compiled in, best first ("avx512", "avx2", "x86-64"), and
/// whether this CPU runs each.
struct CpuIsaVariant {
  std::string name;
  bool supported;
};
std::vector<CpuIsaVariant> cpu_isa_variants();

}  // namespace betahedge
