#include "betahedge/black_scholes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace betahedge {
namespace {

BlackScholesInputs inputs(double spot, double strike, double tau, double vol, double rate,
                          double dividend_yield) {
  return {.spot = spot, .strike = strike, .tau = tau, .vol = vol, .rate = rate,
          .dividend_yield = dividend_yield};
}

// A spread of moneyness, maturity, vol and carry, including negative rates and q > r.
std::vector<BlackScholesInputs> sample_inputs() {
  std::vector<BlackScholesInputs> out;
  for (double spot : {60.0, 100.0, 140.0})
    for (double tau : {0.02, 0.5, 3.0})
      for (double vol : {0.05, 0.3, 1.2})
        for (double rate : {-0.01, 0.05})
          for (double q : {0.0, 0.08}) out.push_back(inputs(spot, 100.0, tau, vol, rate, q));
  return out;
}

std::string describe(const BlackScholesInputs& in) {
  std::ostringstream s;
  s << "S=" << in.spot << " K=" << in.strike << " tau=" << in.tau << " vol=" << in.vol
    << " r=" << in.rate << " q=" << in.dividend_yield;
  return s.str();
}

struct HaugRow {
  std::string greek;
  OptionKind kind;
  BlackScholesInputs in;
  double expected;
};

// Columns: greek,type,strike,spot,q,r,t,vol,expected[,...].
std::vector<HaugRow> read_haug_table(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);  // header
  std::vector<HaugRow> rows;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) f.push_back(cell);
    HaugRow row;
    row.greek = f.at(0);
    row.kind = f.at(1) == "Call" ? OptionKind::call : OptionKind::put;
    const double strike = std::stod(f.at(2)), spot = std::stod(f.at(3));
    const double q = std::stod(f.at(4)), r = std::stod(f.at(5));
    const double t = std::stod(f.at(6)), vol = std::stod(f.at(7));
    row.in = inputs(spot, strike, t, vol, r, q);
    row.expected = std::stod(f.at(8));
    rows.push_back(row);
  }
  return rows;
}

TEST(NormalCdf, MatchesTabulatedValuesIncludingTheFarTail) {
  EXPECT_DOUBLE_EQ(normal_cdf(0.0), 0.5);
  EXPECT_NEAR(normal_cdf(1.959963984540054), 0.975, 1e-15);
  EXPECT_NEAR(normal_cdf(-1.0), 0.15865525393145705, 1e-15);
  // Phi(-8) = 6.22096057427178e-16: 1 + erf(x) would lose every digit here.
  EXPECT_NEAR(normal_cdf(-8.0) / 6.22096057427178e-16, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(normal_pdf(0.0), 0.3989422804014327);
}

// Haug (1998) via QuantLib's europeanoption.cpp; the file states a 1e-4 absolute tolerance.
TEST(BlackScholes, ReproducesHaugTable) {
  const auto path = test::shared_dir() / "reference" / "haug_black_scholes.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no reference data at " << path;
  const std::vector<HaugRow> rows = read_haug_table(path);
  ASSERT_EQ(rows.size(), 54u);
  for (const HaugRow& row : rows) {
    SCOPED_TRACE(::testing::Message() << row.greek << (row.kind == OptionKind::call ? " call " : " put ")
                                      << describe(row.in));
    const OptionGreeks g = black_scholes_greeks(row.kind, row.in);
    double computed = 0.0;
    if (row.greek == "value") computed = g.price;
    else if (row.greek == "delta") computed = g.delta;
    else if (row.greek == "gamma") computed = g.gamma;
    else if (row.greek == "vega") computed = g.vega;
    else if (row.greek == "theta") computed = g.theta;
    else if (row.greek == "rho") computed = g.rho;
    else if (row.greek == "elasticity") computed = g.delta * row.in.spot / g.price;
    else if (row.greek == "theta_per_day") computed = g.theta / 365.0;
    // dV/dq = -tau S e^{-q tau} N(w d1) w = -tau S delta, for calls and puts alike.
    else if (row.greek == "dividendRho") computed = -row.in.tau * row.in.spot * g.delta;
    else FAIL() << "unknown greek " << row.greek;
    EXPECT_NEAR(computed, row.expected, 1e-4);
    if (row.greek == "value") {
      EXPECT_DOUBLE_EQ(black_scholes_price(row.kind, row.in), g.price);
    }
  }
}

// C - P = S e^{-q tau} - K e^{-r tau}, and its derivatives for each greek.
TEST(BlackScholes, PutCallParityHoldsForPriceAndEveryGreek) {
  for (const BlackScholesInputs& in : sample_inputs()) {
    SCOPED_TRACE(describe(in));
    const OptionGreeks c = black_scholes_greeks(OptionKind::call, in);
    const OptionGreeks p = black_scholes_greeks(OptionKind::put, in);
    const double spot_pv = in.spot * std::exp(-in.dividend_yield * in.tau);
    const double strike_pv = in.strike * std::exp(-in.rate * in.tau);
    EXPECT_NEAR(c.price - p.price, spot_pv - strike_pv, 1e-11);
    EXPECT_NEAR(c.delta - p.delta, std::exp(-in.dividend_yield * in.tau), 1e-13);
    EXPECT_NEAR(c.gamma, p.gamma, 1e-13);
    EXPECT_NEAR(c.vega, p.vega, 1e-11);
    EXPECT_NEAR(c.theta - p.theta, in.dividend_yield * spot_pv - in.rate * strike_pv, 1e-11);
    EXPECT_NEAR(c.rho - p.rho, in.tau * strike_pv, 1e-11);
  }
}

// Central differences of the price reproduce the analytic greeks.
TEST(BlackScholes, GreeksMatchFiniteDifferencesOfThePrice) {
  for (OptionKind kind : {OptionKind::call, OptionKind::put}) {
    for (const BlackScholesInputs& in : sample_inputs()) {
      SCOPED_TRACE(::testing::Message() << describe(in) << (kind == OptionKind::call ? " call" : " put"));
      const OptionGreeks g = black_scholes_greeks(kind, in);
      auto price_with = [&](auto change) {
        BlackScholesInputs x = in;
        change(x);
        return black_scholes_price(kind, x);
      };
      // The spot step scales with the width of the terminal distribution, S vol sqrt(tau),
      // so that the kink of a short-dated low-vol option is resolved.
      const double hs = 1e-3 * in.spot * in.vol * std::sqrt(in.tau);
      const double up = price_with([&](auto& x) { x.spot += hs; });
      const double down = price_with([&](auto& x) { x.spot -= hs; });
      EXPECT_NEAR(g.delta, (up - down) / (2 * hs), 1e-6);
      // Truncation error relative to gamma, plus the rounding of three prices over hs^2.
      const double gamma_tolerance = 1e-5 * std::abs(g.gamma) + 1e-14 * (1.0 + g.price) / (hs * hs);
      EXPECT_NEAR(g.gamma, (up - 2 * g.price + down) / (hs * hs), gamma_tolerance);

      const double hv = 1e-5;
      const double vega_fd = (price_with([&](auto& x) { x.vol += hv; }) -
                              price_with([&](auto& x) { x.vol -= hv; })) / (2 * hv);
      EXPECT_NEAR(g.vega, vega_fd, 1e-5 * (1.0 + std::abs(g.vega)));

      const double ht = 1e-6;
      const double theta_fd = -(price_with([&](auto& x) { x.tau += ht; }) -
                                price_with([&](auto& x) { x.tau -= ht; })) / (2 * ht);
      EXPECT_NEAR(g.theta, theta_fd, 1e-4 * (1.0 + std::abs(g.theta)));

      const double hr = 1e-6;
      const double rho_fd = (price_with([&](auto& x) { x.rate += hr; }) -
                             price_with([&](auto& x) { x.rate -= hr; })) / (2 * hr);
      EXPECT_NEAR(g.rho, rho_fd, 1e-5 * (1.0 + std::abs(g.rho)));
    }
  }
}

TEST(BlackScholes, ExpiredOptionIsWorthItsPayoff) {
  for (double tau : {0.0, -0.25}) {
    const OptionGreeks call_itm = black_scholes_greeks(OptionKind::call, inputs(110, 100, tau, 0.3, 0.05, 0.02));
    EXPECT_DOUBLE_EQ(call_itm.price, 10.0);
    EXPECT_DOUBLE_EQ(call_itm.delta, 1.0);
    EXPECT_EQ(call_itm.gamma, 0.0);
    EXPECT_EQ(call_itm.vega, 0.0);
    EXPECT_EQ(call_itm.theta, 0.0);
    EXPECT_EQ(call_itm.rho, 0.0);
    const OptionGreeks put_itm = black_scholes_greeks(OptionKind::put, inputs(90, 100, tau, 0.3, 0.05, 0.02));
    EXPECT_DOUBLE_EQ(put_itm.price, 10.0);
    EXPECT_DOUBLE_EQ(put_itm.delta, -1.0);
    EXPECT_EQ(black_scholes_price(OptionKind::call, inputs(90, 100, tau, 0.3, 0.05, 0.02)), 0.0);
    EXPECT_EQ(black_scholes_price(OptionKind::put, inputs(110, 100, tau, 0.3, 0.05, 0.02)), 0.0);
    // At the strike the delta is the average of the one-sided slopes.
    EXPECT_DOUBLE_EQ(black_scholes_greeks(OptionKind::call, inputs(100, 100, tau, 0.3, 0.0, 0.0)).delta, 0.5);
  }
  // Approaching expiry converges to the payoff.
  EXPECT_NEAR(black_scholes_price(OptionKind::call, inputs(110, 100, 1e-10, 0.3, 0.05, 0.02)), 10.0, 1e-8);
}

TEST(BlackScholes, ZeroVolIsTheDiscountedForwardPayoffAndTheLimitOfSmallVol) {
  for (OptionKind kind : {OptionKind::call, OptionKind::put}) {
    for (double spot : {80.0, 95.0, 105.0, 120.0}) {
      const BlackScholesInputs zero = inputs(spot, 100.0, 0.5, 0.0, 0.04, 0.01);
      BlackScholesInputs tiny = zero;
      tiny.vol = 1e-9;
      SCOPED_TRACE(describe(zero));
      const double w = kind == OptionKind::call ? 1.0 : -1.0;
      const double forward_payoff = w * (spot * std::exp(-0.01 * 0.5) - 100.0 * std::exp(-0.04 * 0.5));
      const OptionGreeks g0 = black_scholes_greeks(kind, zero);
      const OptionGreeks g1 = black_scholes_greeks(kind, tiny);
      EXPECT_NEAR(g0.price, std::max(forward_payoff, 0.0), 1e-12);
      EXPECT_NEAR(g0.price, g1.price, 1e-10);
      EXPECT_NEAR(g0.delta, g1.delta, 1e-12);
      EXPECT_NEAR(g0.theta, g1.theta, 1e-10);
      EXPECT_NEAR(g0.rho, g1.rho, 1e-10);
      EXPECT_EQ(g0.gamma, 0.0);
      EXPECT_EQ(g0.vega, 0.0);
    }
  }
}

TEST(BlackScholes, DeepMoneynessAndLargeVolReachTheirBounds) {
  const double tau = 1.0, r = 0.03, q = 0.01;
  const double spot_pv = 100.0 * std::exp(-q * tau);
  // Deep in the money a call is a discounted forward; deep out of it, worthless.
  const OptionGreeks deep_call = black_scholes_greeks(OptionKind::call, inputs(100, 1, tau, 0.2, r, q));
  EXPECT_NEAR(deep_call.price, spot_pv - std::exp(-r * tau), 1e-12);
  EXPECT_NEAR(deep_call.delta, std::exp(-q * tau), 1e-12);
  EXPECT_NEAR(black_scholes_price(OptionKind::call, inputs(100, 1e4, tau, 0.2, r, q)), 0.0, 1e-12);
  EXPECT_NEAR(black_scholes_price(OptionKind::put, inputs(100, 1, tau, 0.2, r, q)), 0.0, 1e-12);
  // As vol grows the call tends to the discounted spot and the put to the discounted strike.
  EXPECT_NEAR(black_scholes_price(OptionKind::call, inputs(100, 100, tau, 30.0, r, q)), spot_pv, 1e-6);
  EXPECT_NEAR(black_scholes_price(OptionKind::put, inputs(100, 100, tau, 30.0, r, q)),
              100.0 * std::exp(-r * tau), 1e-6);
  // No-arbitrage bounds over the sample grid.
  for (const BlackScholesInputs& in : sample_inputs()) {
    SCOPED_TRACE(describe(in));
    const double s_pv = in.spot * std::exp(-in.dividend_yield * in.tau);
    const double k_pv = in.strike * std::exp(-in.rate * in.tau);
    const double call = black_scholes_price(OptionKind::call, in);
    const double put = black_scholes_price(OptionKind::put, in);
    EXPECT_GE(call, std::max(s_pv - k_pv, 0.0) - 1e-12);
    EXPECT_LE(call, s_pv + 1e-12);
    EXPECT_GE(put, std::max(k_pv - s_pv, 0.0) - 1e-12);
    EXPECT_LE(put, k_pv + 1e-12);
  }
}

}  // namespace
}  // namespace betahedge
