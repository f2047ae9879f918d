#pragma once
#include <stdexcept>
#include <string>

namespace betahedge {

/// Bad usage, config or data. The message names the file, line or field. Exit code 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A numerical procedure failed (no convergence, singular matrix). Exit code 3.
struct NumericalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A device was asked for and is not usable, or a CUDA/cuRAND call failed. Exit code 4.
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Exit codes of the command line (SPEC 3).
enum ExitCode : int { kExitOk = 0, kExitInput = 2, kExitNumerical = 3, kExitDevice = 4 };

}  // namespace betahedge
