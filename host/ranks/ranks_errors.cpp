#include <stdexcept>

#include "betahedge/error.hpp"
#include "ranks/ranks.hpp"

namespace betahedge::ranks {

namespace {

/// kind + message (appended rather than `std::string("I") + what`, which trips GCC 12's
/// -Wrestrict false positive).
std::string tagged(char kind, const char* message) {
  std::string out(1, kind);
  out += message;
  return out;
}

}  // namespace

std::string encode_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const InputError& e) {
    return tagged('I', e.what());
  } catch (const NumericalError& e) {
    return tagged('N', e.what());
  } catch (const DeviceError& e) {
    return tagged('D', e.what());
  } catch (const std::bad_alloc&) {
    return "A";
  } catch (const std::exception& e) {
    return tagged('O', e.what());
  } catch (...) {
    return "Oan unknown exception";
  }
}

void rethrow_encoded(const std::string& encoded) {
  const char kind = encoded.empty() ? 'O' : encoded[0];
  const std::string message = encoded.empty() ? "" : encoded.substr(1);
  switch (kind) {
    case 'I': throw InputError(message);
    case 'N': throw NumericalError(message);
    case 'D': throw DeviceError(message);
    case 'A': throw std::bad_alloc();
    default: throw std::runtime_error(message);
  }
}

}  // namespace betahedge::ranks

namespace betahedge::ranks {

void agree_on_errors(const std::function<void()>& step) {
  if (count() == 1) {
    step();
    return;
  }
  std::string status;
  try {
    step();
  } catch (...) {
    status = tagged('E', encode_error(std::current_exception()).c_str());
  }
  for (const std::string& s : all_gather(status))
    if (!s.empty()) rethrow_encoded(s.substr(1));
}

}  // namespace betahedge::ranks
