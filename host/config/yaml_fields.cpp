#include "config/yaml_fields.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <set>

#include "betahedge/error.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

/// Shortest round-trip text of a bound: "10", "0.05", "1e12", "-1e-5".
std::string bound_text(double x) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, ec == std::errc() ? end : buf);
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  // to_chars writes "1e+12", "1e-05"; the config's own spelling is "1e12", "1e-5".
  std::string exponent = s.substr(e + 1);
  const bool negative = exponent[0] == '-';
  if (exponent[0] == '+' || exponent[0] == '-') exponent.erase(0, 1);
  while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
  return s.substr(0, e) + "e" + (negative ? "-" : "") + exponent;
}

/// "1024", or "2^40" for a large power of two.
std::string whole_text(std::uint64_t x) {
  if (x >= (std::uint64_t{1} << 20) && std::has_single_bit(x)) return "2^" + std::to_string(std::countr_zero(x));
  return std::to_string(x);
}

/// The YAML scalar text with an optional leading '+' removed (std::from_chars takes no '+').
std::string_view unsigned_text(std::string_view text, bool& negative) {
  negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  return text;
}

bool parse_double(const std::string& text, double& out) {
  bool negative = false;
  const std::string_view digits = unsigned_text(text, negative);
  // A second sign ("+-1") or an empty number is no number.
  if (digits.empty() || digits[0] == '+' || digits[0] == '-') return false;
  double x = 0.0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), x);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  out = negative ? -x : x;
  return true;
}

}  // namespace

std::string Interval::describe() const {
  return std::string(open_lo ? "(" : "[") + bound_text(lo) + ", " + bound_text(hi) + (open_hi ? ")" : "]");
}

std::string WholeRange::describe() const { return whole_text(lo) + ".." + whole_text(hi); }

YAML::Node load_yaml(const std::string& yaml_text, const std::string& file) {
  try {
    return YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string where = file;
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    throw InputError(where + ": invalid YAML: " + clip_for_message(e.msg, 200));
  }
}

void throw_yaml_error(const YAML::Exception& error, const std::string& file) {
  std::string where = file;
  if (error.mark.line >= 0) where += ":" + std::to_string(error.mark.line + 1);
  throw InputError(where + ": " + clip_for_message(error.msg, 200));
}

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : 0;
}

Fields::Fields(const YAML::Node& node, std::string file, std::string prefix)
    : node_(node), file_(std::move(file)), prefix_(std::move(prefix)) {
  const std::string self = prefix_.empty() ? "(top level)" : prefix_;
  if (!node_.IsMap()) fail_at(node_, self, "must be a mapping");
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    // yaml-cpp keeps every pair of a mapping, duplicates included; operator[] would see only
    // the first, so the index is built here from the pairs themselves.
    const YAML::Node key = it->first;
    if (!key.IsScalar()) fail_at(line_of(key) > 0 ? key : node_, self, "key must be a plain name");
    Entry entry{key.Scalar(), key, it->second};
    const auto [at, inserted] = index_.emplace(entry.key, entries_.size());
    if (!inserted)
      fail_at(key, field(clip_for_message(entry.key)),
              "duplicate key (first at line " + std::to_string(line_of(entries_[at->second].key_node)) + ")");
    entries_.push_back(std::move(entry));
  }
}

const Fields::Entry* Fields::find(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void Fields::allow_only(std::initializer_list<const char*> allowed) const {
  const std::set<std::string, std::less<>> ok(allowed.begin(), allowed.end());
  for (const Entry& e : entries_)
    if (!ok.count(e.key)) fail_at(e.key_node, field(clip_for_message(e.key)), "unknown key");
}

YAML::Node Fields::get(const std::string& key) const {
  const Entry* e = find(key);
  return e ? e->value : YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node Fields::require(const std::string& key) const {
  const Entry* e = find(key);
  if (!e) fail_at(node_, field(key), "is missing");
  return e->value;
}

double Fields::number(const std::string& key, double fallback, const Interval& range) const {
  const Entry* e = find(key);
  return e ? number_of(e->value, field(key), range) : fallback;
}

double Fields::number_of(const YAML::Node& n, const std::string& where, const Interval& range) const {
  if (!n.IsScalar()) fail_at(n, where, "must be a number in " + range.describe());
  double x = 0.0;
  if (!parse_double(n.Scalar(), x) || !std::isfinite(x))
    fail_at(n, where, quoted_for_message(n.Scalar()) + " is not a number (allowed: " + range.describe() + ")");
  if (!range.contains(x)) fail_at(n, where, quoted_for_message(n.Scalar()) + " is out of range: must be in " + range.describe());
  return x;
}

std::vector<double> Fields::numbers(const std::string& key, const LengthRange& lengths, const Interval& range) const {
  const Entry* e = find(key);
  if (!e) return {};
  const YAML::Node& n = e->value;
  const std::string what = "must be a number or a list of " + std::to_string(lengths.lo) + ".." +
                           std::to_string(lengths.hi) + " numbers, each in " + range.describe();
  if (n.IsScalar() && lengths.lo <= 1) return {number_of(n, field(key), range)};
  if (!n.IsSequence()) fail_at(n, field(key), what);
  if (n.size() < lengths.lo || n.size() > lengths.hi)
    fail_at(n, field(key), "has " + std::to_string(n.size()) + " entries: " + what);
  std::vector<double> out;
  out.reserve(n.size());
  std::size_t i = 0;
  for (const YAML::Node& item : n) out.push_back(number_of(item, field(key) + "[" + std::to_string(i++) + "]", range));
  return out;
}

std::uint64_t Fields::whole_number(const std::string& key, std::uint64_t fallback, const WholeRange& range,
                                   const std::string& why) const {
  const Entry* e = find(key);
  return e ? whole_number_of(e->value, field(key), range, why) : fallback;
}

std::uint64_t Fields::whole_number_of(const YAML::Node& n, const std::string& where, const WholeRange& range,
                                      const std::string& why) const {
  const std::string allowed = "a whole number in " + range.describe() + (why.empty() ? "" : " (" + why + ")");
  if (!n.IsScalar()) fail_at(n, where, "must be " + allowed);
  const std::string& text = n.Scalar();
  bool negative = false;
  const std::string_view digits = unsigned_text(text, negative);
  bool plain = !digits.empty();
  for (const char c : digits) plain = plain && c >= '0' && c <= '9';
  if (!plain) {
    double ignored = 0.0;
    const bool numeric = parse_double(text, ignored);
    fail_at(n, where, quoted_for_message(text) + (numeric ? " is not a whole number" : " is not a number") + " (must be " +
                          allowed + ")");
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  const bool in_range = ec == std::errc() && end == digits.data() + digits.size() &&
                        (negative ? magnitude == 0 && range.lo == 0 : magnitude >= range.lo && magnitude <= range.hi);
  if (!in_range) fail_at(n, where, quoted_for_message(text) + " is out of range: must be " + allowed);
  return negative ? 0 : magnitude;
}

std::string Fields::text(const std::string& key, const std::string& fallback) const {
  const Entry* e = find(key);
  return e ? text_of(e->value, field(key)) : fallback;
}

std::string Fields::text_of(const YAML::Node& n, const std::string& where) const {
  if (!n.IsScalar()) fail_at(n, where, "must be a single value");
  return n.Scalar();
}

std::string Fields::name(const std::string& key, std::size_t max_chars) const {
  return name_of(require(key), field(key), max_chars);
}

std::string Fields::name_of(const YAML::Node& n, const std::string& where, std::size_t max_chars) const {
  const std::string value = text_of(n, where);
  if (value.empty() || value.size() > max_chars || !is_printable_name(value))
    fail_at(n, where,
            quoted_for_message(value) + " must be a name of 1.." + std::to_string(max_chars) +
                " printable characters (no control characters)");
  return value;
}

std::string Fields::choice(const std::string& key, const std::string& fallback,
                           std::initializer_list<const char*> options) const {
  const std::string value = text(key, fallback);
  std::string list;
  for (const char* o : options) {
    if (value == o) return value;
    list += std::string(list.empty() ? "" : ", ") + o;
  }
  fail(key, quoted_for_message(value) + " is not one of: " + list);
}

bool Fields::boolean(const std::string& key, bool fallback) const {
  const Entry* e = find(key);
  if (!e) return fallback;
  const std::string value = text_of(e->value, field(key));
  if (value == "true") return true;
  if (value == "false") return false;
  fail_at(e->value, field(key), quoted_for_message(value) + " must be true or false");
}

Fields Fields::sub(const std::string& key) const {
  const YAML::Node n = require(key);
  // At the key's line (an empty value has none of its own).
  if (n.IsNull()) fail(key, "is empty: give its fields, or write `" + key + ": {}` for every default");
  if (!n.IsMap()) fail(key, "must be a mapping");
  return Fields(n, file_, field(key));
}

YAML::Node Fields::sequence(const std::string& key, const LengthRange& lengths, const std::string& what) const {
  const YAML::Node n = require(key);
  const std::string expected =
      "must be a list of " + std::to_string(lengths.lo) + ".." + std::to_string(lengths.hi) + " " + what;
  if (!n.IsSequence()) fail_at(n, field(key), expected);
  if (n.size() < lengths.lo || n.size() > lengths.hi)
    fail_at(n, field(key), "has " + std::to_string(n.size()) + " entries: " + expected);
  return n;
}

void Fields::fail_at(const YAML::Node& n, const std::string& where, const std::string& what) const {
  std::string msg = file_;
  if (const int line = line_of(n); line > 0) msg += ":" + std::to_string(line);
  throw InputError(msg + ": " + where + ": " + what);
}

void Fields::fail(const std::string& key, const std::string& what) const {
  const Entry* e = find(key);
  // A block mapping or sequence starts on the line after its key, and an empty value (null)
  // is marked there too: the key's line is the field's.
  const bool block = e && !e->value.IsScalar();
  fail_at(e ? (block ? e->key_node : e->value) : node_, field(key), what);
}

}  // namespace betahedge
