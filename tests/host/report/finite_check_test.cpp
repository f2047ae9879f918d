#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "betahedge/error.hpp"
#include "report/finite_check.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) { return test::message_of<NumericalError>(f); }

TEST(FiniteCheck, FiniteDocumentsAndNullsPass) {
  const json doc = {{"run", {{"paths", 10}}},
                    {"scenarios", json::array({{{"name", "base"}, {"margin", {{"mean_first_call_day", nullptr}}}}})}};
  EXPECT_NO_THROW(require_finite_json(doc, "summary.json"));
}

TEST(FiniteCheck, NamesTheFigureAndTheScenario) {
  json doc = {{"scenarios", json::array({{{"name", "base"}, {"beta", {{"mean_abs_deviation", 0.1}}}},
                                         {{"name", "vol-x2"}, {"beta", {{"mean_abs_deviation", 0.1}}}}})}};
  doc["scenarios"][1]["beta"]["mean_abs_deviation"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of([&] { require_finite_json(doc, "summary.json"); }).rfind(
                "summary.json: scenarios[1] (vol-x2).beta.mean_abs_deviation is NaN", 0),
            0u);
  doc["scenarios"][1]["beta"]["mean_abs_deviation"] = -std::numeric_limits<double>::infinity();
  EXPECT_NE(error_of([&] { require_finite_json(doc, "summary.json"); }).find("is infinite"), std::string::npos);
}

TEST(FiniteCheck, CsvCellsAreChecked) {
  EXPECT_NO_THROW(require_finite_csv("scenario,mean\nbase,1.5\n\"a,b\",2\n", "stress.csv"));
  const std::string e = error_of([] { require_finite_csv("scenario,mean,es_0.99\nbase,1,2\n\"a,b\",2,-nan\n", "stress.csv"); });
  EXPECT_EQ(e.rfind("stress.csv: row 2 (a,b), column es_0.99 is -nan", 0), 0u) << e;
  EXPECT_FALSE(error_of([] { require_finite_csv("band,x\n0.1,inf\n", "bands.csv"); }).empty());
}

}  // namespace
}  // namespace betahedge
