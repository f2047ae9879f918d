#pragma once
/// The book the backend-equivalence tests run (CPU SIMD against scalar, CPU against GPU): two
/// holdings, every hedge field set so that each instrument and mode does something, and
/// collateral low enough that a good share of paths meet margin calls.
#include <string>

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

/// A hedge of legs built on hedged_test_book's terms (fees, funding, future and option terms,
/// collateral, on_call by mode): a perpetual on the benchmark (ratio 0.5) and a future on the
/// book's last asset (ratio 0.4), and with `with_put` a put on the benchmark (ratio 0.3).
/// Dynamic: min_variance over the two distinct underlyings; with the put, whose underlying the
/// perpetual shares, allocation: weights {0.5, 0.3, 0.2}. Isolated margin: each leg's account
/// holds 30 (cross: the one account hedged_test_book's 60).
inline BookConfig legs_test_book(const Model& model, HedgeMode mode, MarginMode margin, bool with_put = false) {
  BookConfig book = hedged_test_book(model, HedgeInstrument::perpetual, mode);
  const HedgeLegConfig terms = book.hedge.legs.front();
  const auto leg = [&](int i, HedgeInstrument instrument, const std::string& underlying, double ratio) {
    HedgeLegConfig l = terms;
    l.field = "hedge.legs[" + std::to_string(i) + "]";
    l.instrument = instrument;
    l.benchmark = underlying;
    l.ratio = ratio;
    return l;
  };
  book.hedge.legs = {leg(0, HedgeInstrument::perpetual, model.assets[0], 0.5),
                     leg(1, HedgeInstrument::future, model.assets.back(), 0.4)};
  if (with_put) {
    book.hedge.legs.push_back(leg(2, HedgeInstrument::option, model.assets[0], 0.3));
    book.hedge.allocation = HedgeAllocation::weights;
    const double weights[] = {0.5, 0.3, 0.2};
    for (std::size_t l = 0; l < book.hedge.legs.size(); ++l) book.hedge.legs[l].weight = weights[l];
  }
  book.margin.mode = margin;
  if (margin == MarginMode::isolated) {
    book.margin.collateral.reset();
    book.margin.leg_collateral.assign(book.hedge.legs.size(), 30.0);
  }
  return book;
}

/// hedged_test_book's static perpetual, on the model's first asset (the reference benchmark), and
/// a second leg `second` on its third asset, at ratios `ratio0` and `ratio1` (negative: a long
/// linear leg, a written option), under `mode`: each leg's account posts 40 under isolated margin,
/// the one account 60 under cross.
inline BookConfig two_leg_test_book(const Model& model, HedgeInstrument second, double ratio0, double ratio1,
                                    MarginMode mode) {
  BookConfig book = hedged_test_book(model, HedgeInstrument::perpetual, HedgeMode::static_ratio);
  book.hedge.legs.push_back(book.hedge.legs.front());
  for (int l = 0; l < 2; ++l) {
    HedgeLegConfig& leg = book.hedge.legs[l];
    leg.field = "hedge.legs[" + std::to_string(l) + "]";
    leg.benchmark = model.assets[l == 0 ? 0 : 2];
    leg.ratio = l == 0 ? ratio0 : ratio1;
  }
  book.hedge.legs[1].instrument = second;
  book.margin.mode = mode;
  if (mode == MarginMode::isolated) book.margin.leg_collateral = {40.0, 40.0};
  return book;
}

}  // namespace betahedge::test
