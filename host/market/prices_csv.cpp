#include "market/prices_csv.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "betahedge/error.hpp"
#include "io/input_file.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

[[noreturn]] void fail_at(const std::string& source, int line, const std::string& what) {
  throw InputError(source + ":" + std::to_string(line) + ": " + what);
}

/// Reads the next line (without its '\n') into `line` through `buffer`, whose size bounds the
/// line: one that does not fit is an error naming `line_number`. False at the end of input.
bool read_line(std::istream& in, std::vector<char>& buffer, std::string& line, const std::string& source,
               int line_number) {
  in.getline(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  const auto got = static_cast<std::size_t>(in.gcount());
  if (in.bad()) fail_at(source, line_number, "read error");
  if (in.fail()) {
    // failbit without eofbit after reading something: the buffer filled before the line ended.
    if (got > 0 && !in.eof())
      fail_at(source, line_number,
              "line is longer than the limit of " + std::to_string(kMaxCsvLineBytes >> 20) + " MiB");
    return false;
  }
  line.assign(buffer.data(), in.eof() ? got : got - 1);  // gcount counts the '\n' it dropped
  return true;
}

/// Splits one CSV line on commas and strips one pair of surrounding double quotes per field.
void split_fields(const std::string& line, std::vector<std::string>& fields) {
  fields.clear();
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = line.find(',', begin);
    std::string field = line.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.pop_back();
    std::size_t lead = 0;
    while (lead < field.size() && (field[lead] == ' ' || field[lead] == '\t')) ++lead;
    field.erase(0, lead);
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') field = field.substr(1, field.size() - 2);
    fields.push_back(std::move(field));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
}

/// Parses the whole of `text` as a finite double; false otherwise.
bool parse_number(const std::string& text, double& value) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, value);
  return ec == std::errc() && ptr == last && std::isfinite(value);
}

std::string weekday_of_year(int year, int index) {
  using namespace std::chrono;
  sys_days day = sys_days{std::chrono::year{year} / January / 1};
  int count = -1;
  for (int offset = 0; offset < 372; ++offset, day += days{1}) {
    const unsigned wd = weekday{day}.c_encoding();  // 0 = Sunday
    if (wd == 0 || wd == 6) continue;
    if (++count == index) {
      const year_month_day ymd{day};
      if (static_cast<int>(ymd.year()) != year) return {};
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
      return buf;
    }
  }
  return {};
}

}  // namespace

int PriceTable::column(const std::string& symbol) const {
  for (int j = 0; j < num_symbols(); ++j)
    if (symbols[j] == symbol) return j;
  return -1;
}

bool is_iso_date(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9') return false;
  const int y = std::stoi(text.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(text.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(text.substr(8, 2)));
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}}.ok();
}

std::string fractional_year_to_date(double value, int frequency) {
  if (!std::isfinite(value) || value < 1000.0 || value > 9999.0) return {};
  const double year = std::floor(value + 1e-9);
  const double position = (value - year) * frequency;
  const double index = std::round(position);
  if (std::abs(position - index) > 1e-5 * frequency || index < 0 || index >= frequency) return {};
  return weekday_of_year(static_cast<int>(year), static_cast<int>(index));
}

PriceTable parse_prices_csv(std::istream& in, const std::string& source) {
  PriceTable table;
  table.source = source;
  std::string line;
  std::vector<std::string> fields;

  std::vector<char> buffer(kMaxCsvLineBytes + 1);
  int line_number = 1;
  if (!read_line(in, buffer, line, source, line_number))
    throw InputError(source + ": file is empty (expected a header date,<SYM>,...)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 byte order mark
  split_fields(line, fields);
  if (fields[0] == "time") {
    table.converted_fractional_years = true;
  } else if (fields[0] != "date") {
    fail_at(source, 1, "header: first column must be 'date' (or 'time' for fractional years), got " +
                           quoted_for_message(fields[0]));
  }
  if (fields.size() < 2) fail_at(source, 1, "header: no price columns after '" + fields[0] + "'");
  if (fields.size() - 1 > static_cast<std::size_t>(kMaxPriceColumns))
    fail_at(source, 1, "header: " + std::to_string(fields.size() - 1) + " price columns, more than the limit of " +
                           std::to_string(kMaxPriceColumns));
  std::unordered_map<std::string_view, std::size_t> column_of_name;  // name -> 1-based column; views into `fields`
  column_of_name.reserve(fields.size());
  for (std::size_t j = 1; j < fields.size(); ++j) {
    const std::string column = "column " + std::to_string(j + 1);
    if (fields[j].empty()) fail_at(source, 1, "header: " + column + " has no name");
    if (!is_printable_name(fields[j]))
      fail_at(source, 1, "header: " + column + " name " + quoted_for_message(fields[j]) +
                             " holds a control character (a NUL byte, tab or similar)");
    if (auto [it, inserted] = column_of_name.emplace(fields[j], j + 1); !inserted)
      fail_at(source, 1, "header: column " + quoted_for_message(fields[j]) + " appears twice (columns " +
                             std::to_string(it->second) + " and " + std::to_string(j + 1) + ")");
  }
  table.symbols.assign(fields.begin() + 1, fields.end());
  const std::size_t num_fields = fields.size();
  const int num_symbols = table.num_symbols();

  std::vector<double> values;  // row-major while reading, copied into `closes` at the end
  std::map<std::string, int> line_of_date;
  int blank_line = 0;
  while (read_line(in, buffer, line, source, line_number + 1)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      if (blank_line == 0) blank_line = line_number;
      continue;
    }
    if (blank_line != 0) fail_at(source, blank_line, "empty line before the end of the data");
    split_fields(line, fields);
    if (fields.size() != num_fields)
      fail_at(source, line_number, "has " + std::to_string(fields.size()) + " fields, the header has " +
                                       std::to_string(num_fields));

    std::string date;
    if (table.converted_fractional_years) {
      double t = 0.0;
      if (!parse_number(fields[0], t) || (date = fractional_year_to_date(t)).empty())
        fail_at(source, line_number, "field 'time': " + quoted_for_message(fields[0]) +
                                         " is not a fractional year on a 260-a-year business-day grid");
    } else {
      date = fields[0];
      if (!is_iso_date(date))
        fail_at(source, line_number, "field 'date': " + quoted_for_message(date) + " is not a date written YYYY-MM-DD");
    }
    if (auto it = line_of_date.find(date); it != line_of_date.end())
      fail_at(source, line_number, "field '" + std::string(table.converted_fractional_years ? "time" : "date") +
                                       "': date " + date + " repeats line " + std::to_string(it->second));
    if (!table.dates.empty() && date < table.dates.back())
      fail_at(source, line_number, "field '" + std::string(table.converted_fractional_years ? "time" : "date") +
                                       "': date " + date + " comes after " + table.dates.back() + " (line " +
                                       std::to_string(table.lines.back()) + "); dates must ascend");
    line_of_date.emplace(date, line_number);
    if (values.size() + num_symbols > kMaxPriceCells)
      fail_at(source, line_number, "more than " + std::to_string(kMaxPriceCells) +
                                       " prices (rows x columns), the limit of a prices file");

    for (int j = 0; j < num_symbols; ++j) {
      const std::string& cell = fields[j + 1];
      double price = std::numeric_limits<double>::quiet_NaN();
      if (!cell.empty()) {
        if (!parse_number(cell, price))
          fail_at(source, line_number,
                  "field " + quoted_for_message(table.symbols[j]) + ": cannot read " + quoted_for_message(cell) + " as a number");
        if (!(price > 0.0))
          fail_at(source, line_number,
                  "field " + quoted_for_message(table.symbols[j]) + ": price must be positive, got " + clip_for_message(cell));
      }
      values.push_back(price);
    }
    table.dates.push_back(date);
    table.lines.push_back(line_number);
  }
  if (table.dates.empty()) throw InputError(source + ": no data rows after the header");

  table.closes.resize(table.num_rows(), num_symbols);
  for (int r = 0; r < table.num_rows(); ++r)
    for (int j = 0; j < num_symbols; ++j) table.closes(r, j) = values[static_cast<std::size_t>(r) * num_symbols + j];
  return table;
}

PriceTable read_prices_csv(const std::filesystem::path& path) {
  std::istringstream in(read_input_file(path, "prices file", kMaxPricesBytes));
  return parse_prices_csv(in, path.string());
}

}  // namespace betahedge
