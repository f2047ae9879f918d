#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "betahedge/model_types.hpp"

namespace betahedge {

/// Reads and validates model.json (SPEC 4). Throws InputError naming the file and field.
Model load_model(const std::filesystem::path& path);

/// Parses and validates a model from JSON; `source` names it in error messages.
Model model_from_json(const nlohmann::json& doc, const std::string& source);

/// Checks shapes, vols > 0, correlations symmetric, unit-diagonal and positive definite,
/// probabilities in [0,1] summing to one, Student-t dof > 2. Throws InputError.
void validate_model(const Model& model, const std::string& source);

/// The model.json document of a model ("format": "betahedge.model/1").
nlohmann::json model_to_json(const Model& model);

/// Writes model.json atomically (temporary name, then rename).
void save_model(const Model& model, const std::filesystem::path& path);

}  // namespace betahedge
