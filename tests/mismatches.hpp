#pragma once
/// A path-by-path check that reports the first few failing paths rather than thousands.
#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace betahedge::test {

/// Counts the paths of `what` that fail, reporting the first few.
class Mismatches {
 public:
  explicit Mismatches(std::string what) : what_(std::move(what)) {}
  void check(bool ok, const std::string& detail) {
    if (ok) return;
    if (++count_ <= 5) ADD_FAILURE() << what_ << ": " << detail;
  }
  ~Mismatches() { EXPECT_EQ(count_, 0) << what_; }

 private:
  std::string what_;
  int count_ = 0;
};

}  // namespace betahedge::test
