#pragma once
#include <nlohmann/json.hpp>

#include "engine/risk_job.hpp"

namespace betahedge {

/// summary.json of SPEC 6 ("format": "betahedge.summary/1"); level keys as in the config.
nlohmann::json summary_to_json(const RiskReport& report);

}  // namespace betahedge
