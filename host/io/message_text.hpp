#pragma once
/// Values quoted in error messages: one line, printable, and short, whatever the input held.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace betahedge {

/// `text` with control and non-ASCII bytes written as \xNN and, past `max_chars`, cut with
/// "... (N bytes)" appended, so that a 50 MB cell or a NUL byte never lands in a message whole.
std::string clip_for_message(std::string_view text, std::size_t max_chars = 60);

/// clip_for_message(text) between single quotes: how a message quotes a user's value.
std::string quoted_for_message(std::string_view text);

/// "BTC, ETH, SOL": names as a message lists them.
std::string comma_separated(const std::vector<std::string>& names);

/// True when every byte of `text` is printable ASCII or part of UTF-8 text (no control bytes,
/// no NUL): what a column, asset or scenario name may hold.
bool is_printable_name(std::string_view text);

}  // namespace betahedge
