#pragma once
/// The book the backend-equivalence tests run (CPU SIMD against scalar, CPU against GPU): two
/// holdings, every hedge field set so that each instrument and mode does something, and
/// collateral low enough that a good share of paths meet margin calls.
#include "config/book_config.hpp"
#include "betahedge/model_types.hpp"

namespace betahedge::test {

/// The book's one hedge leg (the one-instrument form of hedge:), made a perpetual when the book
/// has none yet: what a test sets a single instrument's fields through.
inline HedgeLegConfig& hedge_leg(BookConfig& book) {
  if (book.hedge.legs.empty()) book.hedge.legs.emplace_back();
  return book.hedge.legs.front();
}

inline BookConfig hedged_test_book(const Model& model, HedgeInstrument instrument, HedgeMode mode) {
  BookConfig book;
  book.holdings = {{model.assets[1 % model.num_assets()], 5.0}, {model.assets.back(), 10.0}};
  if (instrument != HedgeInstrument::none) hedge_leg(book).instrument = instrument;
  book.hedge.mode = mode;
  if (book.hedge.hedged()) hedge_leg(book).ratio = 0.8;
  book.hedge.target_beta = 0.3;
  book.hedge.band = 0.02;
  if (book.hedge.hedged()) {
    HedgeLegConfig& leg = hedge_leg(book);
    leg.fee_bps = 2;
    leg.slippage_bps = 5;
    leg.funding_rate_8h = {0.0001};
    leg.future = {10, {0.05}, 2, 3.0};
    leg.option = {false, 0.95, 7, 1.1, 0.01};
  }
  book.margin.collateral = 60.0;
  book.margin.on_call = mode == HedgeMode::dynamic ? MarginAction::top_up : MarginAction::liquidate;
  book.simulation.paths = 20000;
  book.simulation.horizon_days = 30;
  book.simulation.seed = 5;
  return book;
}

}  // namespace betahedge::test
