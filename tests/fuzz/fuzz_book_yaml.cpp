/// libFuzzer target: book.yaml (SPEC 4) through parse_book, which returns or throws InputError.
#include <cstddef>
#include <cstdint>

#include "betahedge/error.hpp"
#include "config/book_config.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const betahedge::BookConfig book = betahedge::parse_book(betahedge::fuzz::as_text(data, size), "fuzz/book.yaml");
    BH_FUZZ_CHECK(!book.holdings.empty());
  } catch (const betahedge::InputError&) {
  }
  return 0;
}
