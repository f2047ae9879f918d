#include <gtest/gtest.h>

#include "io/message_text.hpp"

namespace betahedge {
namespace {

TEST(MessageText, ShortPrintableTextIsUnchanged) { EXPECT_EQ(clip_for_message("ETH,SOL 0.98"), "ETH,SOL 0.98"); }

TEST(MessageText, LongTextIsCutWithItsSize) {
  const std::string cell(50'000'000, '9');
  const std::string shown = clip_for_message(cell, 40);
  EXPECT_EQ(shown, std::string(40, '9') + "... (50000000 bytes)");
}

TEST(MessageText, ControlBytesAreEscaped) {
  EXPECT_EQ(clip_for_message(std::string("A\0B\n", 4)), "A\\x00B\\x0A");
}

TEST(MessageText, PrintableNames) {
  EXPECT_TRUE(is_printable_name("BTC-PERP"));
  EXPECT_TRUE(is_printable_name("\xC3\xA9tf"));  // UTF-8 text is a name
  EXPECT_FALSE(is_printable_name(std::string("BT\0C", 4)));
  EXPECT_FALSE(is_printable_name("ETH\t"));
}

}  // namespace
}  // namespace betahedge
