#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "model/model_json.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

using nlohmann::json;

json valid_model() {
  return json::parse(test::read_text(test::source_dir() / "configs/demo/model.json"));
}

void expect_rejected(const json& doc, const std::string& must_mention) {
  try {
    model_from_json(doc, "bad.json");
    FAIL() << "accepted a model that should fail on " << must_mention;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

TEST(ModelJson, DemoModelLoadsAndRoundTrips) {
  const Model m = model_from_json(valid_model(), "demo");
  EXPECT_EQ(m.num_assets(), 3);
  EXPECT_EQ(m.num_regimes(), 2);
  EXPECT_EQ(m.benchmark, "BTC");
  EXPECT_DOUBLE_EQ(m.spot[2], 195.8);
  const Model again = model_from_json(model_to_json(m), "roundtrip");
  EXPECT_EQ(model_to_json(again), model_to_json(m));
}

TEST(ModelJson, RejectsNonPositiveDefiniteCorrelationNamingTheRegime) {
  json doc = valid_model();
  doc["regimes"][1]["corr"] = {{1.0, 0.9, -0.9}, {0.9, 1.0, 0.9}, {-0.9, 0.9, 1.0}};
  expect_rejected(doc, "regimes[1] (stressed).corr");
}

TEST(ModelJson, RejectsTransitionRowNotSummingToOne) {
  json doc = valid_model();
  doc["transition"][0] = {0.9, 0.2};
  expect_rejected(doc, "transition[0]");
}

TEST(ModelJson, RejectsWrongShapes) {
  json doc = valid_model();
  doc["regimes"][0]["vol"] = {0.02, 0.03};
  expect_rejected(doc, "regimes[0].vol");
  doc = valid_model();
  doc["transition"] = {{1.0}};
  expect_rejected(doc, "transition");
  doc = valid_model();
  doc["regimes"][0]["corr"] = {{1.0, 0.5}, {0.5, 1.0}};
  expect_rejected(doc, "regimes[0].corr");
}

TEST(ModelJson, RejectsBadValues) {
  json doc = valid_model();
  doc["regimes"][0]["vol"][1] = 0.0;
  expect_rejected(doc, "vol[1]");
  doc = valid_model();
  doc["regimes"][0]["corr"][0][1] = 0.5;  // no longer symmetric
  expect_rejected(doc, "not symmetric");
  doc = valid_model();
  doc["initial_probabilities"] = {1.2, -0.2};
  expect_rejected(doc, "initial_probabilities[0]");
  doc = valid_model();
  doc["spot"].erase("SOL");
  expect_rejected(doc, "spot.SOL");
  doc = valid_model();
  doc["benchmark"] = "DOGE";
  expect_rejected(doc, "benchmark");
  doc = valid_model();
  doc["distribution"] = "student-t";
  expect_rejected(doc, "dof");
  doc = valid_model();
  doc["format"] = "other/2";
  expect_rejected(doc, "format");
}

TEST(ModelJson, SingleRegimeHandWrittenModelIsValid) {
  json doc = valid_model();
  doc["regimes"].erase(1);
  doc["transition"] = {{1.0}};
  doc["initial_probabilities"] = {1.0};
  EXPECT_EQ(model_from_json(doc, "one").num_regimes(), 1);
}

}  // namespace
}  // namespace betahedge
