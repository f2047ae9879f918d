#pragma once
/// The tests a risk committee puts a VaR/ES model to on history (issue 14): a series of
/// exception indicators I_t (1 when the realised loss exceeded the forecast VaR at level a),
/// and, for the ES test, the realised losses with their VaR and ES forecasts.
///
/// With T observations, x exceptions and p = 1 - a:
/// - Kupiec (1995) proportion of failures: LR_pof = -2 ln[(1-p)^(T-x) p^x]
///   + 2 ln[(1-x/T)^(T-x) (x/T)^x], chi-square with 1 degree of freedom under H0: P(I_t) = p.
/// - Christoffersen (1998) independence, from the transition counts n_ij of I_{t-1} = i to
///   I_t = j over the T - 1 pairs: LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)]
///   + 2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10 pi11^n11], pi01 = n01/(n00+n01),
///   pi11 = n11/(n10+n11), pi = (n01+n11)/(T-1); chi-square(1). Conditional coverage:
///   LR_cc = LR_pof + LR_ind, chi-square(2) (Christoffersen's sum; as MATLAB varbacktest).
///   0 ln 0 = 0 throughout.
/// - Basel traffic light: the zone of x exceptions in n observations by the cumulative binomial
///   probability F(x) = P(X <= x), X ~ Bin(n, p): green when F(x) < 95%, yellow when
///   F(x) < 99.99%, red from there (BCBS 1996; at 99% and n = 250: green 0-4, yellow 5-9,
///   red 10+). No exception at all is green, however few the observations.
/// - Acerbi and Szekely (2014) Z2 in losses L_t: Z2 = sum_t L_t I_t / (T p ES_t) - 1, zero in
///   expectation when the forecasts are right, positive when the model understates the tail.
///   Its p-value P(Z2* >= Z2) is simulated under H0 from each observation's own forecast
///   distribution (the tail quantiles of its simulated loss), as MATLAB's esbacktestbysim does,
///   and gives the zone: the test at this sample's size and level. The published critical values
///   (Z2 > 0.70: reject at 5%, > 1.8: at 0.01%; their Table 1, in the return convention with the
///   sign flipped) were derived for 250 observations at 97.5% and are reported beside it.
#include <cstdint>
#include <string>
#include <vector>

namespace betahedge {

/// P(X > x) for X chi-square with `dof` = 1 or 2 degrees of freedom (the laws the LR tests
/// use): erfc(sqrt(x / 2)) and exp(-x / 2).
double chi_square_survival(double x, int dof);

/// P(X <= k) for X ~ Binomial(n, p), summed from the log pmf (exact to ~1e-13).
double binomial_cdf(int k, int n, double p);

struct CoverageTests {
  int observations = 0;
  int exceptions = 0;
  double rate = 0.0;                 ///< exceptions / observations
  double expected_exceptions = 0.0;  ///< observations x (1 - a)
  double kupiec_lr = 0.0, kupiec_p = 1.0;
  /// Transition counts of consecutive observations: n[i][j] pairs with I_{t-1} = i, I_t = j.
  int transitions[2][2] = {{0, 0}, {0, 0}};
  double independence_lr = 0.0, independence_p = 1.0;
  double conditional_coverage_lr = 0.0, conditional_coverage_p = 1.0;
};

/// Kupiec's and Christoffersen's tests of `exceptions` (each 0 or 1, in time order) at VaR
/// level a (0 < a < 1). An empty series gives zero observations and p-values of 1.
CoverageTests coverage_tests(const std::vector<int>& exceptions, double level);

/// "green", "yellow" or "red": the Basel zone of `exceptions` in `observations` at level a.
std::string traffic_light_zone(int exceptions, int observations, double level);

/// One window of the traffic light: observations [first, last] (0-based, inclusive).
struct TrafficLightWindow {
  int first = 0;
  int last = 0;
  int exceptions = 0;
  double cumulative_probability = 0.0;  ///< P(X <= exceptions), X ~ Bin(last - first + 1, 1 - a)
  std::string zone;
};

/// The traffic light over consecutive whole windows of `window` observations, cut back from the
/// last observation (the most recent window first, as a committee reads it); the oldest
/// observations short of a whole window are left out, and a history shorter than one window is
/// one window of what there is.
std::vector<TrafficLightWindow> traffic_light_windows(const std::vector<int>& exceptions, double level,
                                                      int window = 250);

/// The `window` consecutive observations with the most exceptions (of equal counts, the most
/// recent), with its binomial probability and zone: the worst traffic light the series saw, where
/// traffic_light_windows shows the latest and whole windows cut back from it. A series shorter
/// than a window is one window of what there is.
TrafficLightWindow worst_traffic_light_window(const std::vector<int>& exceptions, double level, int window = 250);

/// The Acerbi-Szekely Z2 test of one series.
struct EsTest {
  double z2 = 0.0;
  double p_value = 1.0;   ///< simulated P(Z2* >= z2) under H0
  int simulations = 0;
  /// "accept", "reject at 5%" (p_value < 0.05) or "reject at 0.01%" (p_value < 0.0001); with no
  /// simulations, critical_values_zone.
  std::string zone;
  /// The published critical values' verdict: "reject at 0.01%" (z2 > 1.8), "reject at 5%"
  /// (z2 > 0.70), else "accept".
  std::string critical_values_zone;
};

inline constexpr double kZ2Critical5 = 0.70;
inline constexpr double kZ2Critical001 = 1.8;

/// Z2 of realised `losses` against their forecasts at level a, each observation's loss
/// distribution beyond its VaR given by `tail_quantiles[t]`: the loss quantiles at
/// u_k = a + (1 - a)(k + 1/2)/M, k < M, ascending (the quantile function is read between them
/// linearly, flat beyond the first and last). The p-value simulates `simulations` histories of
/// Z2 under H0 (U_t uniform; a loss Q_t(U_t) counted when U_t > a) on Philox subsequence s of
/// `seed` for history s: p = (1 + #{Z2* >= z2}) / (1 + simulations).
EsTest acerbi_szekely_z2(const std::vector<double>& losses, const std::vector<double>& var,
                         const std::vector<double>& es, const std::vector<std::vector<double>>& tail_quantiles,
                         double level, std::uint64_t seed, int simulations = 10000);

}  // namespace betahedge
