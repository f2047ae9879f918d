#pragma once
/// Price histories drawn from a known model (make_synthetic_model, simulate_return_history), as
/// the prices file's table in memory: for the backtest's tests on both backends.
#include <cstdio>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "betahedge/model_types.hpp"
#include "engine/return_history.hpp"
#include "market/prices_csv.hpp"

namespace betahedge::test {

/// The ISO date `days` after 2000-01-01 (Hinnant's civil_from_days).
inline std::string iso_date(int days) {
  const int z = days + 10957 + 719468;  // days since 0000-03-01; 10957 = 1970-01-01 .. 2000-01-01
  const int era = z / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp < 10 ? mp + 3 : mp - 9;
  const int y = yoe + era * 400 + (m <= 2);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

/// Closes 100 exp(cumulative log returns) on consecutive days from 2000-01-01, the first row
/// 100 for every asset: a prices file's table, in memory.
inline PriceTable price_table(const std::vector<std::string>& symbols, const Eigen::MatrixXd& log_returns) {
  PriceTable t;
  t.source = "synthetic.csv";
  t.symbols = symbols;
  const int rows = static_cast<int>(log_returns.rows()) + 1;
  t.closes.resize(rows, static_cast<Eigen::Index>(symbols.size()));
  Eigen::RowVectorXd log_price = Eigen::RowVectorXd::Zero(static_cast<Eigen::Index>(symbols.size()));
  for (int r = 0; r < rows; ++r) {
    if (r > 0) log_price += log_returns.row(r - 1);
    t.dates.push_back(iso_date(r));
    t.lines.push_back(r + 2);
    t.closes.row(r) = 100.0 * log_price.array().exp();
  }
  return t;
}

/// The synthetic model's history of `days` returns; the last `doubled_days` of them drawn from
/// the same model with every regime's vols doubled (a separate Philox seed).
inline PriceTable synthetic_prices(const Model& model, int days, std::uint64_t seed, int doubled_days = 0) {
  Eigen::MatrixXd returns(days, model.num_assets());
  returns.topRows(days - doubled_days) = simulate_return_history(model, days - doubled_days, seed).log_returns;
  if (doubled_days > 0) {
    Model wild = model;
    for (Regime& r : wild.regimes)
      for (double& v : r.vol) v *= 2.0;
    returns.bottomRows(doubled_days) = simulate_return_history(wild, doubled_days, seed + 1).log_returns;
  }
  return price_table(model.assets, returns);
}

}  // namespace betahedge::test
