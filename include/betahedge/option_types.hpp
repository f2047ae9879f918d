#pragma once
/// Plain data of European options, shared by the host and the device.

namespace betahedge {

enum class OptionKind { call, put };

/// Inputs of the Black-Scholes-Merton formula. Rates and yield are continuously
/// compounded, per year; time is in years.
struct BlackScholesInputs {
  double spot;            ///< > 0
  double strike;          ///< > 0
  double tau;             ///< time to expiry, years; <= 0 means expired
  double vol;             ///< volatility per sqrt(year), decimal, >= 0
  double rate;            ///< risk-free rate r
  double dividend_yield;  ///< continuous yield q paid by the underlying
};

/// Value of one option on one unit of the underlying and its sensitivities.
struct OptionGreeks {
  double price;
  double delta;  ///< dV/dS
  double gamma;  ///< d2V/dS2
  double vega;   ///< dV/dvol, per 1.00 of vol
  double theta;  ///< -dV/dtau, per year of calendar time
  double rho;    ///< dV/dr, per 1.00 of rate
};

}  // namespace betahedge
