#pragma once
/// model.json (SPEC 4): loading, validation and writing. Every rejection is an InputError
/// "FILE: field 'F': ..." and no other exception escapes the loaders, whatever the bytes.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "betahedge/model_types.hpp"

namespace betahedge {

/// Ranges a model's values must lie in (per step, i.e. daily, decimal log returns). Far wider
/// than any market, narrow enough that a typo (a vol of 50 meaning 50%) or an overflow fails.
inline constexpr double kMaxModelVol = 1.0;       ///< vol in (0, 1]
inline constexpr double kMaxModelAbsMean = 1.0;   ///< |mean| <= 1
inline constexpr double kMaxModelSpot = 1e12;     ///< spot in (0, 1e12]
inline constexpr double kMinModelDof = 2.0;       ///< dof in (2, 1e6]: finite variance
inline constexpr double kMaxModelDof = 1e6;

/// Reads (at most kMaxModelBytes, regular files only) and validates model.json.
/// Throws InputError naming the file and field.
Model load_model(const std::filesystem::path& path);

/// Parses `text` as JSON and validates it as a model; `source` names it in messages. A key given
/// twice in one object (at any depth) is an InputError naming its field path and the line of
/// the repeat. Only InputError escapes, for any `text` (malformed JSON, numbers out of range,
/// wrong types). Linear in the text, up to the log of an object's key count.
Model parse_model_json(const std::string& text, const std::string& source);

/// Validates a parsed JSON document as a model; `source` names it in error messages. A key
/// outside an object's allowed set (at the top, in a regime, an asset's betas or calibration)
/// is an InputError naming the field and listing the allowed keys; `spot` and `betas` are keyed
/// by the model's assets. Safe on any document: only InputError escapes.
Model model_from_json(const nlohmann::json& doc, const std::string& source);

/// Checks shapes, names (non-empty, printable), vols in (0, kMaxModelVol], |mean| <=
/// kMaxModelAbsMean, spot in (0, kMaxModelSpot], correlations symmetric, unit-diagonal and
/// positive definite, probabilities in [0,1] summing to one, Student-t dof in (2, 1e6],
/// betas finite. Throws InputError.
void validate_model(const Model& model, const std::string& source);

/// The model.json document of a model ("format": "betahedge.model/1").
nlohmann::json model_to_json(const Model& model);

/// Writes model.json atomically (temporary name, then rename).
void save_model(const Model& model, const std::filesystem::path& path);

}  // namespace betahedge
