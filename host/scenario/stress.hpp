#pragma once
/// Stress scenarios (SPEC 4 `stress:`): the base model changed by one scenario of the book,
/// as the simulation runs it and as summary.json reports it (SPEC 6 `applied`).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "betahedge/model_types.hpp"
#include "config/book_config.hpp"

namespace betahedge {

/// What a scenario actually simulates (SPEC 6 `applied`).
struct AppliedScenario {
  std::string name;                      ///< "base" or the stress name
  Model model;                           ///< the stressed model, validated
  std::vector<double> shock_log_return;  ///< [asset of model], log(1 + shock) jumped at t = 0+, 0 where none
  double funding_multiplier = 1.0;       ///< multiplies the perpetual's funding rate in every regime
  std::vector<double> repair_distance;   ///< [regime], ||repaired - stressed||_F of the correlation (0 = none)
  std::optional<int> forced_regime;      ///< index of the regime held for the whole horizon, or none
};

/// The base model as it is: no shock, funding multiplier 1, no repair.
AppliedScenario base_scenario(const Model& model);

/// Applies one stress of the book to the base model. The keys of a scenario combine, in
/// this order:
///  1. correlation_blend l in [0, 1]: R' = (1 - l) R + l * ones in every regime;
///  2. correlation_set {"A,B": rho}: R'[A][B] = R'[B][A] = rho in every regime (A != B,
///     rho in [-1, 1]); set after the blend, so a set pair keeps exactly rho unless step 3
///     moves it;
///  3. every regime's matrix through repair_correlation: a positive definite one is kept
///     as it is (distance 0), any other is replaced by the nearest correlation matrix
///     (Higham 2002), eigenvalue-floored, and repair_distance[k] = ||R_repaired - R'||_F;
///  4. vol_multiplier m > 0: every vol of every regime times m (log-return means kept);
///  5. force_regime k: initial_probabilities = e_k and every transition row = e_k, so the
///     path stays in regime k for the whole horizon;
///  6. shock {SYM: s}, s > -1 a simple return: shock_log_return[SYM] = log(1 + s);
///  7. funding_multiplier recorded (finite).
/// The result passes validate_model. `source` (the book path) and `index` (position in the
/// stress: list) name errors: InputError "FILE: stress[i].FIELD: what" for an unknown
/// symbol or regime, a pair naming one asset twice, a pair or shock given twice, or a value
/// out of range; NumericalError (exit 3) when the repair does not converge.
AppliedScenario apply_stress(const Model& base, const StressScenario& stress, const std::string& source,
                             int index);

/// The same for the book's stress[index], its errors naming "FILE:LINE: stress[i].FIELD" from
/// the lines the book recorded (book_location).
AppliedScenario apply_stress(const Model& base, const BookConfig& book, int index);

/// SPEC 6 `applied`: {"corr": [regime][i][j], "vol": [regime][i], "repair_distance": largest
/// over regimes, "repair_distance_by_regime": [regime], "shock": {symbol: exp(log return) - 1}
/// for the assets with a non-zero shock, "funding_multiplier": x, "forced_regime": name or null}.
nlohmann::json applied_to_json(const AppliedScenario& applied);

}  // namespace betahedge
