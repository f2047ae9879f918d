#include "report/finite_check.hpp"

#include <cmath>
#include <sstream>
#include <vector>

#include "betahedge/error.hpp"

namespace betahedge {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& figure, const std::string& value) {
  throw NumericalError(file + ": " + figure + " is " + value +
                       ", not a finite number (the simulation overflowed or divided by zero; check the book's "
                       "holdings, the model's vols and means, and the stresses for extreme values)");
}

void walk(const json& node, const std::string& path, const std::string& file) {
  if (node.is_number_float()) {
    const double x = node.get<double>();
    if (!std::isfinite(x)) fail(file, path, std::isnan(x) ? "NaN" : "infinite");
  } else if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) walk(*it, path.empty() ? it.key() : path + "." + it.key(), file);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::string here = path + "[" + std::to_string(i) + "]";
      if (node[i].is_object() && node[i].contains("name") && node[i]["name"].is_string())
        here += " (" + node[i]["name"].get<std::string>() + ")";
      walk(node[i], here, file);
    }
  }
}

/// Splits one line of a table written by tables_csv (fields may be double-quoted).
std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

bool is_non_finite_text(const std::string& cell) {
  std::string t = cell;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) t.erase(0, 1);
  return t == "nan" || t == "inf" || t == "infinity" || t.rfind("nan(", 0) == 0;
}

}  // namespace

void require_finite_json(const json& doc, const std::string& file) { walk(doc, "", file); }

void require_finite_csv(const std::string& csv, const std::string& file) {
  std::istringstream in(csv);
  std::string line;
  if (!std::getline(in, line)) return;
  const std::vector<std::string> header = fields_of(line);
  for (int row = 1; std::getline(in, line); ++row) {
    const std::vector<std::string> cells = fields_of(line);
    for (std::size_t c = 0; c < cells.size(); ++c)
      if (is_non_finite_text(cells[c]))
        fail(file, "row " + std::to_string(row) + " (" + cells.front() + "), column " +
                       (c < header.size() ? header[c] : std::to_string(c + 1)),
             cells[c]);
  }
}

}  // namespace betahedge
