/// libFuzzer target: run.yaml through parse_run_config, which returns or throws InputError; a
/// config it returns keeps the ranges its header states.
#include <cstddef>
#include <cstdint>
#include <set>

#include "betahedge/error.hpp"
#include "config/run_config.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  betahedge::RunConfig run;
  try {
    run = betahedge::parse_run_config(betahedge::fuzz::as_text(data, size), "fuzz/run.yaml");
  } catch (const betahedge::InputError&) {
    return 0;
  }
  BH_FUZZ_CHECK(!run.book.empty());
  if (!run.calibrate) return 0;
  const betahedge::RunCalibration& c = *run.calibrate;
  BH_FUZZ_CHECK(!c.regimes || (*c.regimes >= 1 && *c.regimes <= 8));
  BH_FUZZ_CHECK(c.starts >= 1 && c.starts <= 1000);
  BH_FUZZ_CHECK(c.seed <= (std::uint64_t{1} << 63));
  BH_FUZZ_CHECK(c.assets.size() <= 64 && std::set(c.assets.begin(), c.assets.end()).size() == c.assets.size());
  BH_FUZZ_CHECK(!c.start || !c.end || *c.start <= *c.end);
  return 0;
}
