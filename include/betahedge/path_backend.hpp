#pragma once
/// The interface both backends implement. The CPU backend lives in host/cpu_backend, the CUDA
/// backend in kernels/; host/engine/backend_select.cpp is the one place that chooses.
///
/// A backend simulates a range of path ids batch by batch and hands each batch's outcome
/// columns to the caller, who reduces them (host/stats) before the next batch overwrites them:
/// nothing a backend keeps grows with the number of paths.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "betahedge/simulation_tables.hpp"

namespace betahedge {


/// Where the intermediate horizons' outcome blocks start (HorizonView): after the program's
/// other columns. The band sweep records no horizons.
inline int horizon_first_column(PathProgram program, const SimulationTables& tables) {
  switch (program) {
    case PathProgram::outcomes_with_ratio_grid:
      return kNumOutcomeFields + RatioGridColumns::total(tables.scalars.hedge.num_grid_ratios);
    case PathProgram::outcomes_with_band_sweep: return kNumOutcomeFields * (1 + tables.scalars.hedge.num_sweep_bands);
    default: return kNumOutcomeFields;
  }
}

/// Where the per-asset P&L columns start (AssetPnlView): after the intermediate horizons' blocks.
inline int asset_pnl_first_column(PathProgram program, const SimulationTables& tables) {
  const int horizons = program == PathProgram::outcomes_with_band_sweep ? 0 : tables.scalars.horizons.count;
  return horizon_first_column(program, tables) + kNumOutcomeFields * horizons;
}

/// Where the leg detail columns start (LegDetailView): after the per-asset P&L columns.
inline int leg_detail_first_column(PathProgram program, const SimulationTables& tables) {
  const bool asset_pnl = program != PathProgram::outcomes_with_band_sweep && tables.scalars.asset_pnl.record;
  return asset_pnl_first_column(program, tables) + (asset_pnl ? tables.scalars.market.num_assets : 0);
}

/// Where the unit legs' columns start (UnitLegColumns, PathProgram::outcomes_with_unit_legs):
/// after every column the plain outcomes program writes, which come first, as they are.
inline int unit_legs_first_column(const SimulationTables& tables) {
  const HedgeView& h = tables.scalars.hedge;
  const bool leg_detail = tables.scalars.leg_detail.record;
  return leg_detail_first_column(PathProgram::outcomes, tables) +
         (leg_detail ? LegDetailColumns::total(h.num_legs, h.num_accounts) : 0);
}

/// Columns per path of `program` for these tables: its own, then kNumOutcomeFields per
/// intermediate horizon, then one per asset when tables.scalars.asset_pnl.record, then the leg
/// detail (LegDetailColumns) when tables.scalars.leg_detail.record (none of those three for the
/// band sweep), then, for the unit legs, UnitLegColumns.
inline int program_columns(PathProgram program, const SimulationTables& tables) {
  const HedgeView& h = tables.scalars.hedge;
  if (program == PathProgram::outcomes_with_unit_legs)
    return unit_legs_first_column(tables) + UnitLegColumns::total(h.num_legs, h.num_accounts);
  const bool leg_detail = program != PathProgram::outcomes_with_band_sweep && tables.scalars.leg_detail.record;
  return leg_detail_first_column(program, tables) + (leg_detail ? LegDetailColumns::total(h.num_legs, h.num_accounts) : 0);
}

/// Path ids [first, last).
struct PathIdRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t size() const { return last - first; }
};

/// The outcome columns of one batch, in host memory: path first_path + i has column c at
/// base[c * stride + i]. Valid only during the consumer's call.
struct OutcomeBatch {
  std::uint64_t first_path = 0;
  std::uint64_t count = 0;
  int columns = 0;
  const double* base = nullptr;
  std::uint64_t stride = 0;
  const double* column(int c) const { return base + static_cast<std::uint64_t>(c) * stride; }
};

using BatchConsumer = std::function<void(const OutcomeBatch&)>;

class PathBackend {
 public:
  virtual ~PathBackend() = default;
  /// "cpu" or "cuda".
  virtual std::string name() const = 0;
  /// The processor or GPU that runs the paths, in words.
  virtual std::string device_name() const = 0;
  /// The batch size (paths) the backend uses for `columns` outcome columns per path when the
  /// caller asks for none: what keeps its buffers within the memory it has.
  virtual std::uint64_t default_batch_size(int columns) const = 0;
  /// Runs `program` for path ids `range` in batches of `batch_size` paths (the first batch
  /// starts at range.first) and calls `consume` once per batch, in path-id order, on the
  /// calling thread. Outcomes depend on the path id only.
  virtual void run(const SimulationTables& tables, PathProgram program, PathIdRange range, std::uint64_t batch_size,
                   const BatchConsumer& consume) = 0;
};

/// Every column of `program` for path ids [0, num_paths), column-major (column c of path p at
/// [c * num_paths + p]): for tests and small samples, where keeping every path is the point.
inline std::vector<double> collect_outcomes(PathBackend& backend, const SimulationTables& tables, PathProgram program,
                                            std::uint64_t num_paths, std::uint64_t batch_size = 0) {
  const int columns = program_columns(program, tables);
  std::vector<double> all(num_paths * columns);
  if (batch_size == 0) batch_size = backend.default_batch_size(columns);
  backend.run(tables, program, {0, num_paths}, batch_size, [&](const OutcomeBatch& b) {
    for (int c = 0; c < columns; ++c)
      for (std::uint64_t i = 0; i < b.count; ++i) all[c * num_paths + b.first_path + i] = b.column(c)[i];
  });
  return all;
}

/// One column of collect_outcomes' result.
inline std::vector<double> column_of(const std::vector<double>& all, std::uint64_t num_paths, int column) {
  const auto first = all.begin() + static_cast<std::ptrdiff_t>(column * num_paths);
  return {first, first + static_cast<std::ptrdiff_t>(num_paths)};
}

}  // namespace betahedge
