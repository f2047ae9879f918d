#pragma once
/// Reading the YAML configs (book.yaml, run.yaml) with their locations, so that every message
/// reads "FILE:LINE: FIELD: what is wrong". The rules every mapping obeys live here, once:
/// keys are plain scalars, no key appears twice, unknown keys are errors, and every number
/// is range-checked on its parsed value before any narrowing cast. User values quoted in
/// messages are clipped (clip_for_message). Host-only: includes yaml-cpp.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace betahedge {

/// An interval of real numbers, each end closed unless marked open: "[0, 1]", "(0, 100]".
struct Interval {
  double lo = 0.0;
  double hi = 0.0;
  bool open_lo = false;
  bool open_hi = false;

  bool contains(double x) const { return (open_lo ? x > lo : x >= lo) && (open_hi ? x < hi : x <= hi); }
  std::string describe() const;  ///< "[-10, 10]", "(0, 1e12]"
};

/// An inclusive range of whole numbers, each end in 0..2^64-1: "1..3650", "0..2^63".
struct WholeRange {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;

  std::string describe() const;
};

/// A range of list lengths.
struct LengthRange {
  std::size_t lo = 1;
  std::size_t hi = 1;
};

/// Parses YAML text; a syntax error (or any yaml-cpp failure) becomes InputError
/// "FILE:LINE: invalid YAML: ...".
YAML::Node load_yaml(const std::string& yaml_text, const std::string& file);

/// Any other yaml-cpp failure met while reading a parsed tree, as InputError "FILE:LINE: ...":
/// the loaders catch YAML::Exception at their boundary and throw this, so none escapes.
[[noreturn]] void throw_yaml_error(const YAML::Exception& error, const std::string& file);

/// 1-based line of a node, or 0 when it has none.
int line_of(const YAML::Node& node);

/// One YAML mapping, indexed once on construction: each key must be a scalar ("key must be a
/// plain name") and unique ("duplicate key (first at line N)"). Lookups go through the index,
/// never through yaml-cpp's operator[] (which silently takes the first of duplicate keys).
class Fields {
 public:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };

  /// `prefix` is the dotted field of this mapping ("" at top level, "hedge", "stress[2]").
  Fields(const YAML::Node& node, std::string file, std::string prefix);

  /// Rejects keys outside `allowed`.
  void allow_only(std::initializer_list<const char*> allowed) const;

  bool has(const std::string& key) const { return find(key) != nullptr; }
  /// The value under `key`; an undefined node when absent.
  YAML::Node get(const std::string& key) const;
  /// The value under `key`; "is missing" when absent.
  YAML::Node require(const std::string& key) const;
  /// Every key and value, in document order.
  const std::vector<Entry>& entries() const { return entries_; }

  /// A finite real number in `range`.
  double number(const std::string& key, double fallback, const Interval& range) const;
  double number_of(const YAML::Node& n, const std::string& where, const Interval& range) const;
  /// A number or a list of numbers (per-regime values), `lengths` long, each in `range`;
  /// empty when the key is absent.
  std::vector<double> numbers(const std::string& key, const LengthRange& lengths, const Interval& range) const;

  /// A whole number in `range`, written as plain decimal digits with an optional sign
  /// ("1.5", "1e3" and "0x10" are refused); parsed exactly in 64 bits, never through a double.
  /// `why` (optional) is appended to the range message.
  std::uint64_t whole_number(const std::string& key, std::uint64_t fallback, const WholeRange& range,
                             const std::string& why = "") const;
  std::uint64_t whole_number_of(const YAML::Node& n, const std::string& where, const WholeRange& range,
                                const std::string& why = "") const;

  /// A single scalar value (any text).
  std::string text(const std::string& key, const std::string& fallback) const;
  std::string text_of(const YAML::Node& n, const std::string& where) const;
  /// A name: non-empty, printable (is_printable_name), at most `max_chars` bytes.
  std::string name(const std::string& key, std::size_t max_chars) const;
  std::string name_of(const YAML::Node& n, const std::string& where, std::size_t max_chars) const;
  /// One of `options`.
  std::string choice(const std::string& key, const std::string& fallback,
                     std::initializer_list<const char*> options) const;
  /// true or false.
  bool boolean(const std::string& key, bool fallback) const;

  /// The mapping under `key`.
  Fields sub(const std::string& key) const;
  /// The list under `key`, `lengths` long.
  YAML::Node sequence(const std::string& key, const LengthRange& lengths, const std::string& what) const;

  /// "prefix.key".
  std::string field(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }
  [[noreturn]] void fail_at(const YAML::Node& n, const std::string& where, const std::string& what) const;
  /// Fails at the value of `key` when present, else at this mapping.
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  const YAML::Node& node() const { return node_; }
  const std::string& file() const { return file_; }

 private:
  const Entry* find(const std::string& key) const;

  YAML::Node node_;
  std::string file_;
  std::string prefix_;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;  ///< key -> position in entries_
};

}  // namespace betahedge
