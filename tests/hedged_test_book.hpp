#pragma once
/// The book the backend-equivalence tests run (CPU SIMD against scalar, CPU against GPU): two
/// holdings, every hedge field set so that each instrument and mode does something, and
/// collateral low enough that a good share of paths meet margin calls.
#include "config/book_config.hpp"
#include "betahedge/model_types.hpp"

namespace betahedge::test {

inline BookConfig hedged_test_book(const Model& model, HedgeInstrument instrument, HedgeMode mode) {
  BookConfig book;
  book.holdings = {{model.assets[1 % model.num_assets()], 5.0}, {model.assets.back(), 10.0}};
  book.hedge.instrument = instrument;
  book.hedge.mode = mode;
  book.hedge.ratio = 0.8;
  book.hedge.target_beta = 0.3;
  book.hedge.band = 0.02;
  book.hedge.fee_bps = 2;
  book.hedge.slippage_bps = 5;
  book.hedge.funding_rate_8h = {0.0001};
  book.hedge.future = {10, {0.05}, 2, 3.0};
  book.hedge.option = {false, 0.95, 7, 1.1, 0.01};
  book.margin.collateral = 60.0;
  book.margin.on_call = mode == HedgeMode::dynamic ? MarginAction::top_up : MarginAction::liquidate;
  book.simulation.paths = 20000;
  book.simulation.horizon_days = 30;
  book.simulation.seed = 5;
  return book;
}

}  // namespace betahedge::test
