#pragma once
/// Shared by the libFuzzer targets. A target's contract: for any bytes, the loader returns or
/// throws betahedge::InputError. A target catches InputError only; any other exception escapes
/// and aborts, which libFuzzer reports as a crash, as it does a failed BH_FUZZ_CHECK.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace betahedge::fuzz {

/// The fuzzer's bytes as the text a loader reads (NUL and non-UTF-8 bytes included).
inline std::string as_text(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

[[noreturn]] inline void fail_check(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: loader postcondition failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace betahedge::fuzz

/// A documented postcondition of what a loader returned; failing it is a finding.
#define BH_FUZZ_CHECK(condition) \
  ((condition) ? void(0) : ::betahedge::fuzz::fail_check(#condition, __FILE__, __LINE__))
