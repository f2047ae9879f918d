/// libFuzzer target: model.json (SPEC 4) through parse_model_json, which returns or throws
/// InputError. A model it returns must also load again from its own model_to_json document:
/// calibrate writes model.json and every other command reads it back.
#include <cstddef>
#include <cstdint>

#include "betahedge/error.hpp"
#include "fuzz_support.hpp"
#include "model/model_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  betahedge::Model model;
  try {
    model = betahedge::parse_model_json(betahedge::fuzz::as_text(data, size), "fuzz/model.json");
  } catch (const betahedge::InputError&) {
    return 0;
  }
  // Outside the try: an InputError here means the writer and the reader disagree.
  const betahedge::Model again =
      betahedge::model_from_json(betahedge::model_to_json(model), "fuzz/model.json (written back)");
  BH_FUZZ_CHECK(again.assets == model.assets && again.benchmark == model.benchmark);
  BH_FUZZ_CHECK(again.num_regimes() == model.num_regimes() && again.spot == model.spot);
  return 0;
}
