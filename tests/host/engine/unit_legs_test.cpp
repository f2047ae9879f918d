// The unit-legs program (PathProgram::outcomes_with_unit_legs, include/betahedge/unit_legs.hpp)
// against the book's own hedge, simulated by simulate_path's HedgeBook, path by path:
// - its first columns are the plain outcomes program's, bit for bit, at any batch size;
// - a static book of two legs at ratio vector r that meets no call has hedged P&L
//   u + sum_l (r_l M_l - |r_l| K_l), and each leg's own P&L and costs (its leg detail) are
//   r_l M_l - |r_l| K_l and |r_l| K_l, from one unit-legs run whatever r (negative ratios, a
//   written option), within 1e-9 of the terms summed;
// - shortfall(a) at the direction d = the book's ratios is its account's shadow shortfall, and
//   the book at collateral C (at t d: C / t) meets a call on account a iff shortfall(a) > C, under
//   cross and under isolated margin, on every path not within 1e-9 (C + V0) of the boundary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "mismatches.hpp"
#include "betahedge/path_backend.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "hedged_test_book.hpp"

namespace betahedge {
namespace {

constexpr std::uint64_t kPaths = 3000;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

using test::Mismatches;

/// test::two_leg_test_book (a perpetual on A0, the reference benchmark, and `second` on A2; the
/// costs, funding, future (10-day contracts rolled 2 days before expiry) and option (7-day puts)
/// of hedged_test_book, so that every leg marks, pays and rolls within the 30-day horizon), static,
/// liquidated on a call.
BookConfig two_leg_book(const Model& model, HedgeInstrument second, double ratio0, double ratio1, MarginMode mode) {
  BookConfig book = test::two_leg_test_book(model, second, ratio0, ratio1, mode);
  book.margin.on_call = MarginAction::liquidate;
  book.simulation.paths = kPaths;
  return book;
}

/// Sets the book's collateral: `amount` for every account.
void set_collateral(BookConfig& book, double amount) {
  if (book.margin.mode == MarginMode::isolated)
    book.margin.leg_collateral.assign(book.hedge.legs.size(), amount);
  else
    book.margin.collateral = amount;
}

SimulationTables tables_for(const Model& model, const BookConfig& book) {
  return build_simulation_tables(model, make_portfolio(model, book), book);
}

/// Every column of `program`, column-major, from the CPU backend (2 threads).
std::vector<double> run_program(const SimulationTables& tables, PathProgram program, std::uint64_t batch = 0) {
  auto backend = make_cpu_backend(2);
  return collect_outcomes(*backend, tables, program, kPaths, batch);
}

/// One unit-legs run: column c of path p, and the unit-legs block's columns by name.
struct UnitLegs {
  std::vector<double> all;
  int first = 0;  ///< unit_legs_first_column
  int legs = 0;
  int accounts = 0;
  double value0 = 0.0;

  explicit UnitLegs(const SimulationTables& tables)
      : all(run_program(tables, PathProgram::outcomes_with_unit_legs)),
        first(unit_legs_first_column(tables)),
        legs(tables.scalars.hedge.num_legs),
        accounts(tables.scalars.hedge.num_accounts),
        value0(tables.scalars.portfolio.initial_value) {}
  double at(int column, std::uint64_t p) const { return all[column * kPaths + p]; }
  double unhedged(std::uint64_t p) const { return at(static_cast<int>(OutcomeField::pnl_unhedged), p); }
  double marks(int l, std::uint64_t p) const { return at(first + UnitLegColumns::marks(l), p); }
  double costs(int l, std::uint64_t p) const { return at(first + UnitLegColumns::costs(l), p); }
  double shortfall(int a, std::uint64_t p) const { return at(first + UnitLegColumns::shortfall(legs, a), p); }
};

/// The books whose outcome columns the unit-legs program must leave as they are: one leg
/// dynamic (top-ups), one leg static, two legs under cross and under isolated margin (a written
/// option), and no hedge.
std::vector<std::pair<std::string, BookConfig>> books_of_every_kind(const Model& m) {
  std::vector<std::pair<std::string, BookConfig>> books;
  books.emplace_back("one perpetual, dynamic",
                     test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic));
  books.emplace_back("one future, static", test::hedged_test_book(m, HedgeInstrument::future, HedgeMode::static_ratio));
  books.emplace_back("perpetual and future, cross",
                     two_leg_book(m, HedgeInstrument::future, 0.6, 0.5, MarginMode::cross));
  BookConfig isolated = two_leg_book(m, HedgeInstrument::option, 0.9, -0.6, MarginMode::isolated);
  set_collateral(isolated, 55.0);
  books.emplace_back("perpetual and written put, isolated", isolated);
  BookConfig dynamic = two_leg_book(m, HedgeInstrument::future, 0.6, 0.5, MarginMode::cross);
  dynamic.hedge.mode = HedgeMode::dynamic;
  dynamic.margin.on_call = MarginAction::top_up;
  books.emplace_back("perpetual and future, dynamic", dynamic);
  books.emplace_back("no hedge", test::hedged_test_book(m, HedgeInstrument::none, HedgeMode::static_ratio));
  for (auto& [name, book] : books) book.simulation.paths = kPaths;
  return books;
}

TEST(UnitLegs, OutcomeColumnsEqualThePlainProgramsBitForBit) {
  const Model m = make_synthetic_model(4, 2);
  for (auto [name, book] : books_of_every_kind(m)) {
    for (bool extras : {false, true}) {
      SCOPED_TRACE(name + (extras ? ", with horizons, asset P&L and leg detail" : ""));
      if (extras) {
        book.simulation.horizon_days = 12;
        book.risk.horizons_days = {1, 5, 12};
      }
      SimulationTables tables = tables_for(m, book);
      tables.scalars.asset_pnl.record = extras;
      tables.scalars.leg_detail.record = extras;
      const int plain_columns = program_columns(PathProgram::outcomes, tables);
      const HedgeView& h = tables.scalars.hedge;
      // The path code's count of the plain program's columns is the host's.
      ASSERT_EQ(unit_legs_first_column(tables), plain_columns);
      ASSERT_EQ(outcome_program_columns(tables.scalars), plain_columns);
      ASSERT_EQ(program_columns(PathProgram::outcomes_with_unit_legs, tables),
                plain_columns + 2 * h.num_legs + h.num_accounts);
      const std::vector<double> plain = run_program(tables, PathProgram::outcomes);
      for (std::uint64_t batch : {333u, 1024u, 5000u}) {
        const std::vector<double> unit = run_program(tables, PathProgram::outcomes_with_unit_legs, batch);
        Mismatches bits("batch " + std::to_string(batch));
        for (int c = 0; c < plain_columns; ++c)
          for (std::uint64_t p = 0; p < kPaths; ++p)
            bits.check(same_bits(unit[c * kPaths + p], plain[c * kPaths + p]),
                       "column " + std::to_string(c) + " path " + std::to_string(p));
        // The unit-legs block itself does not depend on the batch either.
        if (batch == 333u) continue;
        const std::vector<double> first = run_program(tables, PathProgram::outcomes_with_unit_legs, 333u);
        for (std::size_t i = plain_columns * kPaths; i < unit.size(); ++i)
          bits.check(same_bits(unit[i], first[i]), "unit-legs entry " + std::to_string(i));
      }
      if (h.num_legs == 0) {  // no hedge: one account, nothing to fund
        const std::vector<double> unit = run_program(tables, PathProgram::outcomes_with_unit_legs);
        for (std::uint64_t p = 0; p < kPaths; ++p) ASSERT_EQ(unit[plain_columns * kPaths + p], 0.0) << p;
      }
    }
  }
}

/// The static book at `ratios` (ample collateral, no call) against the identity of the file's
/// header, from the unit legs of `unit`.
void expect_static_book_is_linear_in_the_unit_legs(const Model& model, BookConfig book, const UnitLegs& unit) {
  SimulationTables tables = tables_for(model, book);
  tables.scalars.leg_detail.record = true;
  const std::vector<double> run = run_program(tables, PathProgram::outcomes);
  const int detail = leg_detail_first_column(PathProgram::outcomes, tables);
  const auto column = [&](int c, std::uint64_t p) { return run[c * kPaths + p]; };
  const int legs = static_cast<int>(book.hedge.legs.size());
  Mismatches calls("paths called (the collateral should be ample)"), hedged("pnl_hedged"), leg_pnl("leg P&L"),
      leg_costs("leg costs");
  for (std::uint64_t p = 0; p < kPaths; ++p) {
    calls.check(column(static_cast<int>(OutcomeField::first_call_step), p) < 0.0, "path " + std::to_string(p));
    const double u = unit.unhedged(p);
    double predicted = u, scale = std::abs(u);
    for (int l = 0; l < legs; ++l) {
      const double r = book.hedge.legs[l].ratio;
      const double m = unit.marks(l, p), k = unit.costs(l, p);
      const double pnl = r * m - std::abs(r) * k;
      predicted += pnl;
      scale += std::abs(r * m) + std::abs(r) * k;
      const std::string where = "leg " + std::to_string(l) + " path " + std::to_string(p);
      leg_pnl.check(std::abs(column(detail + LegDetailColumns::pnl(l), p) - pnl) <=
                        1e-9 * (std::abs(r * m) + std::abs(r) * k),
                    where + ": " + std::to_string(column(detail + LegDetailColumns::pnl(l), p)) + " vs " +
                        std::to_string(pnl));
      leg_costs.check(k >= 0.0 && std::abs(column(detail + LegDetailColumns::costs(l), p) - std::abs(r) * k) <=
                                      1e-9 * std::abs(r) * k,
                      where);
    }
    const double got = column(static_cast<int>(OutcomeField::pnl_hedged), p);
    hedged.check(std::abs(got - predicted) <= 1e-9 * scale,
                 "path " + std::to_string(p) + ": " + std::to_string(got) + " vs " + std::to_string(predicted));
  }
}

TEST(UnitLegs, StaticBookOfTwoLegsIsLinearInTheUnitLegs) {
  const Model m = make_synthetic_model(4, 2);
  struct Case {
    HedgeInstrument second;
    std::vector<std::pair<double, double>> ratios;
  };
  const Case cases[] = {
      {HedgeInstrument::future, {{0.6, 0.5}, {1.0, -0.4}, {-0.3, 0.8}, {0.0, 1.2}, {-0.5, -0.5}}},
      // Leg 1 a put, bought (ratio > 0) or written (< 0).
      {HedgeInstrument::option, {{0.8, 0.3}, {0.9, -0.6}, {-0.2, -1.1}, {1.1, 0.0}}},
  };
  for (const Case& c : cases) {
    BookConfig book = two_leg_book(m, c.second, 1.0, 1.0, MarginMode::cross);
    set_collateral(book, 1e9);
    // One unit-legs run serves every ratio vector: the unit legs do not read the ratios.
    const UnitLegs unit(tables_for(m, book));
    for (const auto& [r0, r1] : c.ratios) {
      SCOPED_TRACE("leg 1 instrument " + std::to_string(static_cast<int>(c.second)) + ", ratios " +
                   std::to_string(r0) + ", " + std::to_string(r1));
      book.hedge.legs[0].ratio = r0;
      book.hedge.legs[1].ratio = r1;
      expect_static_book_is_linear_in_the_unit_legs(m, book, unit);
    }
  }
}

/// The (1 - fraction) quantile of account a's shortfall: a collateral that calls about `fraction`
/// of the paths.
double collateral_calling(const UnitLegs& unit, int a, double fraction) {
  std::vector<double> shortfall(kPaths);
  for (std::uint64_t p = 0; p < kPaths; ++p) shortfall[p] = unit.shortfall(a, p);
  std::sort(shortfall.begin(), shortfall.end());
  return shortfall[static_cast<std::size_t>((1.0 - fraction) * kPaths)];
}

/// The book (static, liquidate) at ratios t d with collateral[a] per account: account a meets a
/// call iff t shortfall(a) > collateral[a], shortfall from `unit` at direction d = the book's
/// ratios. At t = 1 the book's own shadow shortfall (its leg detail's) is shortfall(a) too.
void expect_calls_follow_the_shortfall(const Model& model, BookConfig book, const UnitLegs& unit,
                                       const std::vector<double>& collateral, double t) {
  for (HedgeLegConfig& leg : book.hedge.legs) leg.ratio *= t;
  if (book.margin.mode == MarginMode::isolated)
    book.margin.leg_collateral = collateral;
  else
    book.margin.collateral = collateral[0];
  SimulationTables tables = tables_for(model, book);
  tables.scalars.leg_detail.record = true;
  ASSERT_EQ(tables.scalars.hedge.num_accounts, unit.accounts);
  const std::vector<double> run = run_program(tables, PathProgram::outcomes);
  const int detail = leg_detail_first_column(PathProgram::outcomes, tables);
  const int legs = tables.scalars.hedge.num_legs;
  for (int a = 0; a < unit.accounts; ++a) {
    const double c = collateral[a];
    const double tie = 1e-9 * (c + std::abs(unit.value0));
    int called = 0, ties = 0;
    Mismatches calls("account " + std::to_string(a) + " calls"), shadow("account " + std::to_string(a) + " shadow");
    for (std::uint64_t p = 0; p < kPaths; ++p) {
      const double shortfall = t * unit.shortfall(a, p);
      const double book_shortfall = run[(detail + LegDetailColumns::collateral_shortfall(legs, a)) * kPaths + p];
      if (t == 1.0)
        shadow.check(std::abs(book_shortfall - shortfall) <= 1e-9 * (shortfall + std::abs(unit.value0)),
                     "path " + std::to_string(p) + ": " + std::to_string(book_shortfall) + " vs " +
                         std::to_string(shortfall));
      if (std::abs(shortfall - c) <= tie) {
        ++ties;
        continue;
      }
      const bool book_called = run[(detail + LegDetailColumns::first_call_step(legs, a)) * kPaths + p] >= 0.0;
      called += book_called ? 1 : 0;
      calls.check(book_called == (shortfall > c), "path " + std::to_string(p) + ": shortfall " +
                                                      std::to_string(shortfall) + ", collateral " + std::to_string(c));
    }
    // The test is about both sides of the boundary: a good share of paths on each.
    EXPECT_GT(called, kPaths / 5) << "account " << a;
    EXPECT_LT(called, kPaths * 4 / 5) << "account " << a;
    EXPECT_LE(ties, 3) << "account " << a;
  }
}

/// The book's unit legs at its own direction, then the book itself at collateral calling about
/// 40% of the paths on each account, at t = 1, and along the ray at t = 0.7 and 1.5 (collateral
/// scaled by t, so the same paths are called).
void expect_shortfall_says_which_paths_are_called(const Model& model, BookConfig book) {
  set_collateral(book, 1e9);
  const UnitLegs unit(tables_for(model, book));
  std::vector<double> collateral;
  for (int a = 0; a < unit.accounts; ++a) collateral.push_back(collateral_calling(unit, a, 0.4));
  for (double t : {1.0, 0.7, 1.5}) {
    SCOPED_TRACE("t = " + std::to_string(t));
    std::vector<double> scaled = collateral;
    for (double& c : scaled) c *= t;
    expect_calls_follow_the_shortfall(model, book, unit, scaled, t);
  }
}

TEST(UnitLegs, ShortfallSaysWhichPathsAreCalledUnderCrossMargin) {
  const Model m = make_synthetic_model(4, 2);
  struct Case {
    const char* name;
    HedgeInstrument second;
    double ratio0, ratio1;
  };
  for (const Case& c : {Case{"perpetual and future", HedgeInstrument::future, 0.7, 0.4},
                        Case{"perpetual short, future long", HedgeInstrument::future, 1.2, -0.5},
                        Case{"perpetual and a written put", HedgeInstrument::option, 0.8, -0.6}}) {
    SCOPED_TRACE(c.name);
    expect_shortfall_says_which_paths_are_called(m, two_leg_book(m, c.second, c.ratio0, c.ratio1, MarginMode::cross));
  }
}

TEST(UnitLegs, ShortfallSaysWhichPathsAreCalledUnderIsolatedMargin) {
  const Model m = make_synthetic_model(4, 2);
  {
    SCOPED_TRACE("perpetual and future");
    expect_shortfall_says_which_paths_are_called(
        m, two_leg_book(m, HedgeInstrument::future, 0.7, 0.4, MarginMode::isolated));
  }
  {
    SCOPED_TRACE("perpetual and a written put");
    expect_shortfall_says_which_paths_are_called(
        m, two_leg_book(m, HedgeInstrument::option, 0.9, -0.6, MarginMode::isolated));
  }
}

TEST(UnitLegs, ShortfallIsAtTheDirectionTheTablesGive) {
  // The host's direction vector, not the book's ratios: the book at ratios d' has the shortfall
  // the unit legs report at direction d'.
  const Model m = make_synthetic_model(4, 2);
  BookConfig book = two_leg_book(m, HedgeInstrument::option, 0.8, 0.4, MarginMode::cross);
  set_collateral(book, 1e9);
  SimulationTables tables = tables_for(m, book);
  const double direction[] = {1.1, -0.7};
  for (int l = 0; l < 2; ++l) {
    ASSERT_EQ(tables.data[tables.offsets.direction + l], book.hedge.legs[l].ratio);  // the default
    tables.data[tables.offsets.direction + l] = direction[l];
  }
  const UnitLegs unit(tables);
  book.hedge.legs[0].ratio = direction[0];
  book.hedge.legs[1].ratio = direction[1];
  const std::vector<double> run = run_program(tables_for(m, book), PathProgram::outcomes);
  Mismatches shadow("the book's shadow shortfall at ratios d'");
  for (std::uint64_t p = 0; p < kPaths; ++p) {
    const double want = run[static_cast<int>(OutcomeField::collateral_shortfall) * kPaths + p];
    shadow.check(std::abs(unit.shortfall(0, p) - want) <= 1e-9 * (want + std::abs(unit.value0)),
                 "path " + std::to_string(p));
  }
}

}  // namespace
}  // namespace betahedge
