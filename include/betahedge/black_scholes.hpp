#pragma once
/// Black-Scholes-Merton prices and greeks of European calls and puts with a continuous
/// dividend yield (Haug 2007, ch. 1 and 2). Runs on both backends.
#include <cmath>

#include "betahedge/bh_hd.hpp"
#include "betahedge/option_types.hpp"

namespace betahedge {

/// Standard normal density, phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
BH_HD double normal_pdf(double x) {
  constexpr double inv_sqrt_2pi = 0.39894228040143267794;
  return inv_sqrt_2pi * std::exp(-0.5 * x * x);
}

/// Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2.
// erfc rather than 1 + erf: the lower tail keeps full relative precision.
BH_HD double normal_cdf(double x) {
  constexpr double inv_sqrt_2 = 0.70710678118654752440;
  return 0.5 * std::erfc(-x * inv_sqrt_2);
}

namespace detail {

/// The pieces every price and greek is built from, with w = +1 for a call, -1 for a put:
/// V = w (S e^{-q tau} N(w d1) - K e^{-r tau} N(w d2)).
struct BlackScholesTerms {
  double sign;            ///< w
  double spot_pv;         ///< S e^{-q tau}
  double strike_pv;       ///< K e^{-r tau}
  double n1;              ///< N(w d1)
  double n2;              ///< N(w d2)
  double density_d1;      ///< phi(d1); 0 at zero vol
  double vol_sqrt_tau;    ///< vol sqrt(tau)
};

/// Requires tau > 0. At vol = 0 the payoff is deterministic: N(w d1) = N(w d2) is 1 in the
/// money forward, 0 out of it and 1/2 at the forward (the limit vol -> 0+).
BH_HD BlackScholesTerms black_scholes_terms(OptionKind kind, const BlackScholesInputs& in) {
  BlackScholesTerms t{};
  t.sign = kind == OptionKind::call ? 1.0 : -1.0;
  t.spot_pv = in.spot * std::exp(-in.dividend_yield * in.tau);
  t.strike_pv = in.strike * std::exp(-in.rate * in.tau);
  t.vol_sqrt_tau = in.vol * std::sqrt(in.tau);
  if (t.vol_sqrt_tau > 0.0) {
    const double d1 = std::log(t.spot_pv / t.strike_pv) / t.vol_sqrt_tau + 0.5 * t.vol_sqrt_tau;
    const double d2 = d1 - t.vol_sqrt_tau;
    t.n1 = normal_cdf(t.sign * d1);
    t.n2 = normal_cdf(t.sign * d2);
    t.density_d1 = normal_pdf(d1);
  } else {
    const double moneyness = t.sign * (t.spot_pv - t.strike_pv);
    t.n1 = moneyness > 0.0 ? 1.0 : (moneyness < 0.0 ? 0.0 : 0.5);
    t.n2 = t.n1;
    t.density_d1 = 0.0;
  }
  return t;
}

/// Payoff max(w (S - K), 0) and its spot derivative (1/2 w at the strike).
BH_HD OptionGreeks expired_option(OptionKind kind, const BlackScholesInputs& in) {
  const double sign = kind == OptionKind::call ? 1.0 : -1.0;
  const double moneyness = sign * (in.spot - in.strike);
  OptionGreeks g{};
  g.price = moneyness > 0.0 ? moneyness : 0.0;
  g.delta = sign * (moneyness > 0.0 ? 1.0 : (moneyness < 0.0 ? 0.0 : 0.5));
  return g;
}

}  // namespace detail

/// Price of a European option, per unit of the underlying.
/// tau <= 0: the payoff max(w (S - K), 0). vol = 0: the discounted forward payoff
/// max(w (S e^{-q tau} - K e^{-r tau}), 0).
BH_HD double black_scholes_price(OptionKind kind, const BlackScholesInputs& in) {
  if (in.tau <= 0.0) return detail::expired_option(kind, in).price;
  const detail::BlackScholesTerms t = detail::black_scholes_terms(kind, in);
  return t.sign * (t.spot_pv * t.n1 - t.strike_pv * t.n2);
}

/// Price and greeks of a European option (units in OptionGreeks), w = +1 call, -1 put:
///   delta = w e^{-q tau} N(w d1)          gamma = e^{-q tau} phi(d1) / (S vol sqrt tau)
///   vega  = S e^{-q tau} phi(d1) sqrt tau  rho   = w tau K e^{-r tau} N(w d2)
///   theta = -S e^{-q tau} phi(d1) vol / (2 sqrt tau) + w (q S e^{-q tau} N(w d1) - r K e^{-r tau} N(w d2))
/// tau <= 0: payoff and its delta; gamma, vega, theta and rho are 0.
/// vol = 0: the greeks of the discounted forward payoff; gamma and vega are 0 (both are
/// singular at the forward in the limit vol -> 0+).
BH_HD OptionGreeks black_scholes_greeks(OptionKind kind, const BlackScholesInputs& in) {
  if (in.tau <= 0.0) return detail::expired_option(kind, in);
  const detail::BlackScholesTerms t = detail::black_scholes_terms(kind, in);
  OptionGreeks g{};
  g.price = t.sign * (t.spot_pv * t.n1 - t.strike_pv * t.n2);
  g.delta = t.sign * (t.spot_pv / in.spot) * t.n1;
  if (t.vol_sqrt_tau > 0.0) {
    g.gamma = t.spot_pv * t.density_d1 / (in.spot * in.spot * t.vol_sqrt_tau);
    g.vega = t.spot_pv * t.density_d1 * std::sqrt(in.tau);
  }
  const double time_decay = t.vol_sqrt_tau > 0.0
                                ? -t.spot_pv * t.density_d1 * in.vol / (2.0 * std::sqrt(in.tau))
                                : 0.0;
  g.theta = time_decay +
            t.sign * (in.dividend_yield * t.spot_pv * t.n1 - in.rate * t.strike_pv * t.n2);
  g.rho = t.sign * in.tau * t.strike_pv * t.n2;
  return g;
}

}  // namespace betahedge
