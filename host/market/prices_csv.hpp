#pragma once
/// The prices CSV of SPEC 4, read and checked: `date,<SYM>,<SYM>,...`, ISO dates ascending,
/// positive closes, empty cells for missing values. Every rejection is an InputError naming
/// the file, the 1-based line and the field; values quoted in messages are clipped.
#include <cstddef>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace betahedge {

/// Bounds on a prices CSV, far above any real one, so that no input makes the reader run
/// without end (the file itself is capped at kMaxPricesBytes, host/io/input_file.hpp).
inline constexpr int kMaxPriceColumns = 4096;                ///< symbols after the date column
inline constexpr std::size_t kMaxCsvLineBytes = 1u << 20;    ///< one line, CR included: 1 MiB
inline constexpr std::size_t kMaxPriceCells = 1u << 26;      ///< rows x symbols (512 MiB of doubles)

/// A wide table of closes, one row per date and one column per symbol, as read from the file.
struct PriceTable {
  std::string source;                ///< the file name, for messages
  std::vector<std::string> symbols;  ///< column names after the date column, unique
  std::vector<std::string> dates;    ///< [num_rows] ISO YYYY-MM-DD, strictly ascending
  std::vector<int> lines;            ///< [num_rows] 1-based line of each row in the file
  Eigen::MatrixXd closes;            ///< [num_rows x num_symbols]; quiet NaN where a cell is empty
  /// True when the first column was `time` holding fractional years (R's ts convention,
  /// 260 business days a year) and was converted to dates; see fractional_year_to_date.
  bool converted_fractional_years = false;

  int num_rows() const { return static_cast<int>(dates.size()); }
  int num_symbols() const { return static_cast<int>(symbols.size()); }
  /// Column of a symbol, or -1.
  int column(const std::string& symbol) const;
};

/// Reads a prices CSV. The first column is `date` (ISO dates) or `time` (fractional years,
/// converted to dates). Fields may be wrapped in double quotes; CRLF line ends are accepted;
/// blank lines at the end of the file are ignored. Throws InputError on: a path that is not a
/// regular file of at most kMaxPricesBytes (a directory, /dev/zero, a FIFO), an unreadable or
/// empty file, a bad or duplicate header, more than kMaxPriceColumns symbols, a column name
/// with a control character, a line over kMaxCsvLineBytes, more than kMaxPriceCells prices,
/// a row with the wrong number of fields, an invalid, duplicate or unsorted date, an
/// unparseable or non-finite number, a non-positive price. The file is read whole by rank 0 of
/// the job (read_input_file) and parsed on every rank.
PriceTable read_prices_csv(const std::filesystem::path& path);

/// The same, reading from a stream; `source` names it in messages.
PriceTable parse_prices_csv(std::istream& in, const std::string& source);

/// True when `text` is a valid calendar date written YYYY-MM-DD.
bool is_iso_date(const std::string& text);

/// Converts R's fractional-year time index of a business-day series (`frequency` = 260
/// observations a year, as datasets::EuStockMarkets) into a date: `year + i / frequency` is
/// the i-th weekday (Monday to Friday, counting from 0) of `year`. Returns an empty string
/// when `value` is not within 1e-5 of such a grid point.
std::string fractional_year_to_date(double value, int frequency = 260);

}  // namespace betahedge
