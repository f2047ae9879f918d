#pragma once
/// The last gate before anything is written: every number of every output is finite. A NaN
/// or an infinity is a numerical failure (NumericalError, exit 3) naming the figure, never a
/// `null` or a "nan" cell that a reader takes for a result.
#include <string>

#include <nlohmann/json.hpp>

namespace betahedge {

/// Throws NumericalError "`file`: <path of the figure>: is not finite (...)" at the first
/// non-finite number in `doc`. Inside "scenarios" the scenario's name is part of the path.
void require_finite_json(const nlohmann::json& doc, const std::string& file);

/// The same for a CSV table with a header row: names the row's first cell and the column.
void require_finite_csv(const std::string& csv, const std::string& file);

}  // namespace betahedge
