#include "engine/synthetic_model.hpp"

#include "model/model_json.hpp"

namespace betahedge {

Model make_synthetic_model(int num_assets, int num_regimes, Distribution distribution) {
  Model m;
  for (int i = 0; i < num_assets; ++i) m.assets.push_back("A" + std::to_string(i));
  m.benchmark = "A0";
  m.distribution = distribution;
  for (int k = 0; k < num_regimes; ++k) {
    const double stress = num_regimes == 1 ? 0.0 : static_cast<double>(k) / (num_regimes - 1);
    Regime r;
    r.name = k == 0 ? "calm" : (k == num_regimes - 1 ? "stressed" : "regime" + std::to_string(k));
    const double rho = 0.6 + 0.25 * stress;
    for (int i = 0; i < num_assets; ++i) {
      r.mean.push_back(0.0005 - 0.002 * stress);
      r.vol.push_back((0.03 + 0.005 * i) * (1.0 + stress));
      for (int j = 0; j < num_assets; ++j) r.corr.push_back(i == j ? 1.0 : rho);
    }
    if (distribution == Distribution::student_t) r.dof = 5.0;
    m.regimes.push_back(r);
  }
  m.transition.assign(num_regimes, std::vector<double>(num_regimes, 0.0));
  for (int i = 0; i < num_regimes; ++i) {
    if (num_regimes == 1) {
      m.transition[0][0] = 1.0;
      break;
    }
    const double leave = i == 0 ? 0.03 : 0.10;
    m.transition[i][i] = 1.0 - leave;
    m.transition[i][i == 0 ? 1 : i - 1] += leave;
  }
  m.initial_probabilities.assign(num_regimes, 0.0);
  m.initial_probabilities[0] = 1.0;
  m.spot.assign(num_assets, 100.0);
  validate_model(m, "synthetic model");
  return m;
}

}  // namespace betahedge
