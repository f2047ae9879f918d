#include "io/message_text.hpp"

#include <cstdio>

namespace betahedge {

std::string clip_for_message(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t shown = 0;
  for (; shown < text.size() && out.size() < max_chars; ++shown) {
    const auto c = static_cast<unsigned char>(text[shown]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      out += escaped;
    }
  }
  if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string quoted_for_message(std::string_view text) {
  // Appended piecewise: "'" + s + "'" trips a false -Wrestrict in GCC 12.
  std::string out(1, '\'');
  out += clip_for_message(text);
  out += '\'';
  return out;
}

bool is_printable_name(std::string_view text) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string comma_separated(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace betahedge
