#include <algorithm>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "calibration/calibrate.hpp"
#include "engine/return_history.hpp"
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

TEST(ModelJson, BetasWithoutPerRegimeValuesRoundTrip) {
  // Found by fuzz_model_json: an absent "regime" was written back as [], which does not load.
  json doc = valid_model();
  doc["betas"] = {{"ETH", {{"ols", 1.1}, {"ols_se", 0.02}}}};
  const Model m = model_from_json(doc, "hand-written");
  const Model again = model_from_json(model_to_json(m), "roundtrip");
  EXPECT_EQ(model_to_json(again), model_to_json(m));
  EXPECT_TRUE(again.betas.at("ETH").regime.empty());
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

/// The InputError message of loading `path`, or "" when it loads.
std::string load_rejection(const std::filesystem::path& path) {
  try {
    load_model(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A device used to be read without end; a directory escaped as exit 1.
TEST(ModelJson, LoadRefusesDevicesDirectoriesAndMissingFiles) {
  EXPECT_NE(load_rejection("/dev/zero").find("/dev/zero: model file is not a regular file"), std::string::npos)
      << load_rejection("/dev/zero");
  test::TempDir dir;
  EXPECT_NE(load_rejection(dir.path()).find("model file is a directory"), std::string::npos)
      << load_rejection(dir.path());
  EXPECT_NE(load_rejection(dir / "missing.json").find("no such file"), std::string::npos);
  test::write_text(dir / "model.json", valid_model().dump());
  EXPECT_EQ(load_model(dir / "model.json").num_assets(), 3);
}

// `--model DIR` escaped as exit 1; every command reads the model through load_model.
TEST(ModelJson, SimulateWithADirectoryOrDeviceAsTheModelExitsTwo) {
  test::TempDir dir;
  const std::string book = (test::source_dir() / "configs/demo/book.yaml").string();
  for (const std::string model : {dir.path().string(), std::string("/dev/zero")}) {
    const auto r = test::run_cli("simulate --config " + book + " --model " + model + " --paths 1000 --out " +
                                 (dir / "out").string());
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: " + model + ": model file is", 0), 0u) << r.stderr_text;
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  }
}

/// The InputError message of parse_model_json(text), or "" when it parses; any other
/// exception fails the test.
std::string parse_rejection(const std::string& text) {
  return test::message_of<InputError>([&] { parse_model_json(text, "bad.json"); });
}

// 1e400 overflows a double inside the parser: out_of_range, not parse_error, escaped as exit 1.
TEST(ModelJson, NumberOverflowIsAnInputError) {
  std::string text = valid_model().dump();
  text.replace(text.find("95057.5"), 7, "1e400");
  const std::string msg = parse_rejection(text);
  EXPECT_EQ(msg.rfind("bad.json: invalid JSON: number overflow parsing '1e400'", 0), 0u) << msg;
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
  const std::string syntax = parse_rejection("{\"format\": ");
  EXPECT_EQ(syntax.rfind("bad.json: invalid JSON at byte", 0), 0u) << syntax;
  EXPECT_EQ(parse_rejection(valid_model().dump()), "");
}

TEST(ModelJson, RejectsValuesOutOfRangeNamingTheField) {
  struct Case {
    const char* pointer;
    json value;
    const char* must_mention;
  };
  const Case cases[] = {
      {"/regimes/0/vol/1", 50.0, "regimes[0] (calm).vol[1]': must be in (0, 1]"},
      {"/regimes/1/vol/0", 1e300, "regimes[1] (stressed).vol[0]': must be in (0, 1]"},
      {"/regimes/0/vol/2", -0.01, "regimes[0] (calm).vol[2]'"},
      {"/regimes/0/mean/0", 30.0, "regimes[0] (calm).mean[0]': must be in [-1, 1]"},
      {"/regimes/1/mean/2", -1.5, "regimes[1] (stressed).mean[2]'"},
      {"/spot/ETH", 1e308, "spot.ETH': must be in (0, 1e12]"},
      {"/spot/SOL", 0.0, "spot.SOL'"},
      {"/regimes/0/corr/0/1", "0.8", "regimes[0].corr[0][1]': must be a number"},
  };
  for (const Case& c : cases) {
    json doc = valid_model();
    doc[json::json_pointer(c.pointer)] = c.value;
    expect_rejected(doc, c.must_mention);
  }
  // The value is written as %g, never as 300 digits.
  json doc = valid_model();
  doc["regimes"][0]["vol"][0] = 1e300;
  try {
    model_from_json(doc, "bad.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u) << e.what();
  }
}

TEST(ModelJson, StudentTDofMustBeInTwoToAMillion) {
  json doc = valid_model();
  doc["distribution"] = "student-t";
  doc["regimes"][0]["dof"] = 5.0;
  doc["regimes"][1]["dof"] = 1e7;
  expect_rejected(doc, "regimes[1] (stressed).dof': must be in (2, 1e6]");
  doc["regimes"][1]["dof"] = 2.0;
  expect_rejected(doc, "regimes[1] (stressed).dof'");
  doc["regimes"][1]["dof"] = 1e6;
  EXPECT_EQ(model_from_json(doc, "ok").num_regimes(), 2);
}

TEST(ModelJson, RejectsEmptyOrUnprintableNames) {
  json doc = valid_model();
  doc["assets"][1] = "";
  expect_rejected(doc, "assets[1]': must not be empty");
  doc = valid_model();
  doc["assets"][1] = std::string("ET\0H", 4);
  expect_rejected(doc, "assets[1]': 'ET\\x00H' holds a control character");
  doc = valid_model();
  doc["benchmark"] = "BTC\n";
  expect_rejected(doc, "benchmark'");
  doc = valid_model();
  doc["regimes"][0]["name"] = 7;
  expect_rejected(doc, "regimes[0].name': must be a string");
  doc = valid_model();
  doc["assets"][2] = 3;
  expect_rejected(doc, "assets[2]': must be a string");
}

// betas and calibration were read with get<double> / value() unchecked: a string where a
// number belongs escaped as "[json.exception.type_error.302]".
TEST(ModelJson, BetasAndCalibrationOfTheWrongTypeNameTheField) {
  json doc = valid_model();
  doc["betas"] = {{"ETH", {{"ols", 1.05}, {"ols_se", 0.02}, {"ewma", 1.1}, {"kalman", 1.0}, {"regime", {0.9, 1.2}}}}};
  doc["calibration"] = {{"loglik", 1.0}, {"aic", 2.0}, {"bic", 3.0}, {"iterations", 12}, {"converged", true},
                        {"nobs", 100}, {"start", "2021-01-01"}, {"end", "2021-04-10"}};
  const Model m = model_from_json(doc, "good");
  EXPECT_DOUBLE_EQ(*m.betas.at("ETH").kalman, 1.0);
  EXPECT_EQ(m.calibration->iterations, 12);
  EXPECT_EQ(model_to_json(model_from_json(model_to_json(m), "again")), model_to_json(m));

  struct Case {
    const char* pointer;
    json value;
    const char* must_mention;
  };
  const Case cases[] = {
      {"/betas/ETH/ols", "1.05", "betas.ETH.ols': must be a number"},
      {"/betas/ETH/ewma", json::array(), "betas.ETH.ewma': must be a number"},
      {"/betas/ETH/regime", {"a", "b"}, "betas.ETH.regime[0]': must be a number"},
      {"/betas/ETH/regime", {1.0}, "betas.ETH.regime': has 1 entries, expected 2"},
      {"/betas/ETH", 1.0, "betas.ETH': must be an object"},
      {"/betas/DOGE", json::object(), "betas.DOGE': is not one of the model's assets"},
      {"/betas", json::array(), "betas': must be an object"},
      {"/calibration/loglik", "high", "calibration.loglik': must be a number"},
      {"/calibration/iterations", "many", "calibration.iterations': must be a number"},
      {"/calibration/iterations", 1e10, "calibration.iterations': must be a whole number"},
      {"/calibration/nobs", -1, "calibration.nobs': must be a whole number"},
      {"/calibration/converged", "yes", "calibration.converged': must be true or false"},
      {"/calibration/start", 20210101, "calibration.start': must be a string"},
      {"/calibration", "x", "calibration': must be an object"},
  };
  for (const Case& c : cases) {
    json bad = doc;
    bad[json::json_pointer(c.pointer)] = c.value;
    expect_rejected(bad, c.must_mention);
  }
}

TEST(ModelJson, ClipsLongNamesInMessages) {
  json doc = valid_model();
  const std::string name(100000, 'E');
  doc["assets"][1] = name;
  try {
    model_from_json(doc, "bad.json");
    FAIL();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_LT(msg.size(), 300u) << msg.substr(0, 400);
    EXPECT_NE(msg.find("spot.EEE"), std::string::npos) << msg;
  }
}

// The fuzz target's contract: model_from_json on any parsed JSON throws InputError or nothing.
TEST(ModelJson, AnyDocumentGivesAModelOrAnInputError) {
  std::vector<json> docs = {nullptr, json::array(), 1, "x", true, json::object(), json::parse("[[[[[[]]]]]]")};
  const json valid = valid_model();
  // Every top-level field, and every field one level down, replaced by each odd value.
  const std::vector<json> odd = {nullptr, -1, 1e308, "s", "", false, json::array(), json::object(),
                                 json::array({json::object()}), json::array({"a", 1}), json::object({{"k", 1}})};
  const json leaves = valid.flatten();
  for (const auto& pointer : leaves.items()) {
    std::string path = pointer.key();
    while (!path.empty()) {
      for (const json& v : odd) {
        json d = valid;
        d[json::json_pointer(path)] = v;
        docs.push_back(d);
      }
      path.erase(path.rfind('/'));
    }
  }
  for (const json& v : odd) {
    json d = valid;
    d["betas"] = {{"ETH", v}};
    docs.push_back(d);
    d = valid;
    d["calibration"] = v;
    docs.push_back(d);
  }
  for (const json& d : docs) {
    try {
      model_from_json(d, "fuzz.json");
    } catch (const InputError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "escaped: " << e.what() << " on " << d.dump().substr(0, 200);
    }
  }
}

/// `doc` as text (one key a line) with `key` given a second time, as `value`, after the other
/// keys of the object at `parent`; `line` is the line of that repeat.
struct RepeatedKeyText {
  std::string text;
  long line;
};
RepeatedKeyText with_repeated_key(json doc, const std::string& parent, const std::string& key, const json& value) {
  const std::string placeholder = "~repeat";  // '~' sorts after every key, so it is dumped last
  doc[json::json_pointer(parent)][placeholder] = 0;
  std::string text = doc.dump(2);
  const std::string written = "\"" + placeholder + "\": 0";
  const std::size_t at = text.find(written);
  text.replace(at, written.size(), json(key).dump() + ": " + value.dump());
  return {text, 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')};
}

// json::parse keeps the last of two equal keys: a second "benchmark" silently replaced the first.
TEST(ModelJson, RepeatedKeyAtAnyDepthNamesTheFieldAndLine) {
  struct Case {
    const char* parent;
    const char* key;
    json value;
    const char* field;
  };
  const Case cases[] = {
      {"", "benchmark", "ETH", "benchmark"},
      {"/regimes/1", "vol", {0.05, 0.06, 0.07}, "regimes[1].vol"},
      {"/betas/ETH", "ols", 1.2, "betas.ETH.ols"},
      {"/spot", "BTC", 1.0, "spot.BTC"},
      {"/calibration", "converged", false, "calibration.converged"},
  };
  json doc = valid_model();
  doc["betas"] = {{"ETH", {{"ols", 1.05}, {"ols_se", 0.02}}}};
  doc["calibration"] = {{"loglik", 1.0}, {"converged", true}};
  for (const Case& c : cases) {
    const RepeatedKeyText repeated = with_repeated_key(doc, c.parent, c.key, c.value);
    EXPECT_EQ(parse_rejection(repeated.text), "bad.json: field '" + std::string(c.field) +
                                                  "': appears twice in one object; the repeat is on line " +
                                                  std::to_string(repeated.line));
  }
}

TEST(ModelJson, RepeatedKeyPathCountsEveryArrayElement) {
  EXPECT_EQ(parse_rejection(R"({"x": [[1, {"a": 1}], null, {"k": {"a": 1}, "k": 2}]})"),
            "bad.json: field 'x[2].k': appears twice in one object; the repeat is on line 1");
  EXPECT_EQ(parse_rejection("[{}, [], \"s\", {\"a\": 1,\n\"a\": 1}]"),
            "bad.json: field '[3].a': appears twice in one object; the repeat is on line 2");
  // Equal keys in different objects are no repeat; an escaped key equals its plain spelling.
  EXPECT_EQ(parse_rejection(R"([{"a": 1}, {"a": 1}])"), "bad.json: not a JSON object");
  EXPECT_EQ(parse_rejection(R"({"a": 1, "\u0061": 2})"),
            "bad.json: field 'a': appears twice in one object; the repeat is on line 1");
  // Malformed text after a repeat still fails as a repeat; before it, as malformed JSON.
  EXPECT_EQ(parse_rejection(R"({"a": 1, "a": ])").rfind("bad.json: field 'a': appears twice", 0), 0u);
  EXPECT_EQ(parse_rejection(R"({"a": ], "a": 1})").rfind("bad.json: invalid JSON at byte", 0), 0u);
}

// A misspelt key was ignored and its field read as absent: "kalmn" in betas.ETH loaded, and the
// user met "no kalman beta" far from the typo.
TEST(ModelJson, UnknownKeysAreRejectedWithTheAllowedKeys) {
  struct Case {
    const char* pointer;
    const char* must_mention;
  };
  const Case cases[] = {
      {"/benchmrk", "field 'benchmrk': is not a known key (allowed: format, assets, benchmark, step, distribution, "
                    "regimes, transition, initial_probabilities, spot, betas, calibration)"},
      {"/regimes/1/volatility", "field 'regimes[1].volatility': is not a known key (allowed: name, mean, vol, corr, "
                                "dof)"},
      {"/betas/ETH/kalmn", "field 'betas.ETH.kalmn': is not a known key (allowed: ols, ols_se, ols_r2, ewma, kalman, "
                           "regime, regime_weighted, ols_alpha, rolling, rolling_window, ewma_lambda, "
                           "kalman_beta_variance, kalman_noise_variance)"},
      {"/calibration/logLik", "field 'calibration.logLik': is not a known key (allowed: loglik, aic, bic, "},
  };
  for (const Case& c : cases) {
    json doc = valid_model();
    doc[json::json_pointer(c.pointer)] = 1.0;
    expect_rejected(doc, c.must_mention);
    EXPECT_NE(parse_rejection(doc.dump()).find(c.must_mention), std::string::npos) << c.pointer;
  }
}

// Every key that calibrate writes (model_to_json plus calibration_to_json's record of the fit
// and the betas) must stay loadable, or no calibrated model.json would load.
/// A model calibrated to 800 days drawn from the demo model.
Calibration calibrated_demo_history() {
  const Model truth = model_from_json(valid_model(), "demo");
  const ReturnHistory history = simulate_return_history(truth, 800, 7);
  ReturnData data;
  data.source = "simulated";
  data.assets = truth.assets;
  data.benchmark_index = truth.asset_index(truth.benchmark);
  data.log_returns = history.log_returns;
  for (int t = 0; t <= history.log_returns.rows(); ++t) data.price_dates.push_back("day" + std::to_string(t));
  data.spot = truth.spot;
  return calibrate(data, CalibrationOptions{});
}

TEST(ModelJson, WhatCalibrateWritesLoads) {
  const Calibration calibration = calibrated_demo_history();
  const Model& truth = calibration.model;
  const json written = calibration_to_json(calibration);
  ASSERT_TRUE(written["betas"]["ETH"].contains("rolling_window"));
  ASSERT_TRUE(written["calibration"].contains("model_selection"));
  const Model loaded = parse_model_json(written.dump(2), "calibrated/model.json");
  EXPECT_EQ(loaded.assets, truth.assets);
  EXPECT_EQ(loaded.betas.at("SOL").kalman, calibration.model.betas.at("SOL").kalman);
  EXPECT_EQ(loaded.calibration->nobs, 800);
}

/// Every number of a model, as its bits, in a fixed order.
std::vector<std::uint64_t> bits_of(const Model& m) {
  std::vector<std::uint64_t> bits;
  const auto add = [&](double x) { bits.push_back(std::bit_cast<std::uint64_t>(x)); };
  const auto add_all = [&](const std::vector<double>& xs) { std::for_each(xs.begin(), xs.end(), add); };
  const auto add_optional = [&](const std::optional<double>& x) { add(x ? *x : -1e308); };
  for (const Regime& r : m.regimes) {
    add_all(r.mean);
    add_all(r.vol);
    add_all(r.corr);
    add_optional(r.dof);
  }
  for (const auto& row : m.transition) add_all(row);
  add_all(m.initial_probabilities);
  add_all(m.spot);
  for (const auto& [symbol, b] : m.betas) {
    add(b.ols);
    add(b.ols_se);
    add_optional(b.ols_r2);
    add_optional(b.ewma);
    add_optional(b.kalman);
    add_all(b.regime);
    add_optional(b.regime_weighted);
  }
  if (m.calibration) {
    add(m.calibration->loglik);
    add(m.calibration->aic);
    add(m.calibration->bic);
  }
  return bits;
}

TEST(ModelJson, CalibratedModelReadsBackBitForBit) {
  // `run` under mpirun sends rank 0's calibrated model to the others as this text, and every
  // rank simulates what it reads back: the numbers must be the calibration's own, bit for bit.
  const Model calibrated = calibrated_demo_history().model;
  const Model read_back = parse_model_json(model_to_json(calibrated).dump(), "sent");
  EXPECT_EQ(read_back.assets, calibrated.assets);
  EXPECT_EQ(read_back.calibration->start, calibrated.calibration->start);
  const std::vector<std::uint64_t> sent = bits_of(calibrated);
  const std::vector<std::uint64_t> received = bits_of(read_back);
  ASSERT_GT(sent.size(), 30u);
  EXPECT_EQ(received, sent);
}

}  // namespace
}  // namespace betahedge
