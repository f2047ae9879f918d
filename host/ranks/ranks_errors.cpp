#include <stdexcept>

#include "betahedge/error.hpp"
#include "ranks/ranks.hpp"

namespace betahedge::ranks {

std::string encode_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const InputError& e) {
    return std::string("I") + e.what();
  } catch (const NumericalError& e) {
    return std::string("N") + e.what();
  } catch (const DeviceError& e) {
    return std::string("D") + e.what();
  } catch (const std::bad_alloc&) {
    return "A";
  } catch (const std::exception& e) {
    return std::string("O") + e.what();
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
