#!/usr/bin/python3
"""Risk-committee report: one self-contained HTML page from a betahedge output directory.

    /usr/bin/python3 python/betahedge/report.py OUT_DIR     (as betahedge run and backtest call it;
                                                             installed as share/betahedge/report.py)
    betahedge.report.render(out_dir, final_dir=None)        (from Python: writes the same page)

The CLI runs this file as a script with Debian's /usr/bin/python3, so it imports only the standard
library, numpy and matplotlib: nothing else of the betahedge package, and no pandas.

Reads, from OUT_DIR, the files `betahedge run` writes (SPEC sections 4 to 6):
    summary.json            run header, portfolio, one entry per scenario (base first; the
                            history replays, kind "replay", after the Monte Carlo ones, with
                            their daily paths: the "History replays" section when there are any)
    model.json              asset and regime names
    hedge_ratio_curve.csv   scenario,ratio,mean,stdev,var_<a>,es_<a>...,call_probability (a one-leg
                            hedge only: absent, and an error when present, for several legs)
    hedge_surface.csv       scenario,ratio_0,ratio_1,es_<a>... (a hedge of two legs or more, in place
                            of the curve): ES of a static hedge at each point of a grid of the first
                            two legs' ratios, the other legs held at their min-ES ratios, no margin
                            action; the base scenario's rows must form a full grid (at least 2 x 2).
                            The hedge-ratio section draws it for the base scenario at the highest level
    bands.csv               target_beta,band,mean_abs_deviation,mean_rebalances,mean_costs,var_<a>,es_<a>...,
                            call_probability,on_frontier,recommended (one row per target x band pair)
    pnl_distribution.csv    bin_lo,bin_hi,unhedged_density,hedged_density (base scenario)
    regimes.csv             date,filtered_<regime>...,smoothed_<regime>... (absent when the run
                            loaded a model instead of calibrating)
and writes OUT_DIR/report.html: inline CSS, every chart a base64 PNG data URI, no script and
no external reference. The file appears complete or not at all (temporary name, then rename).

A walk-forward backtest (issue 14) adds two files, written together: by `betahedge backtest`
alone (no summary.json: the report is its header and the backtest section only), or by
`betahedge run` beside summary.json when run.yaml has a backtest: block (the backtest section
follows the scenarios and replays):
    backtest.json           format "betahedge.backtest/1", observations, test_dates, levels.<a>.{unhedged,
                            hedged}: exceptions, rate, expected_exceptions, kupiec/independence/
                            conditional_coverage _lr and _p, traffic_light (green|yellow|red),
                            traffic_light_window {from, to, observations, exceptions, cumulative_probability,
                            zone}, optional worst_window (the same keys: the 250 observations with the
                            most exceptions), es_test {method, z2, p_value, simulations, zone}; hedge_effectiveness
                            {predicted, realised, realised_se}; margin_calls; optional margin_call_test
                            {realised, expected, p_value}; run {prices, benchmark, assets, from, to,
                            window_days, refit_every, horizon_days, sampling_step, regimes, distribution,
                            paths, seed, backend, device, ranks, elapsed_s}; optional book {portfolio, hedge,
                            margin, risk_levels, horizon_days, ...} (what was tested, shown as it is);
                            fits [{date, window_start, window_end, regimes, loglik, converged, iterations}];
                            warnings
    backtest.csv            date, realised_unhedged, realised_hedged, per level var_/es_/exception_ of each
                            side, sampled, predicted_hedge_effectiveness, margin_called (other columns are
                            not read): one row per test date in order from run.from to run.to, its
                            sampled rows as many as observations and their exceptions those of
                            backtest.json (an error otherwise)
The section: the book tested; a headline (the highest level's zones, then every test that rejects
at 5%, per level and side, with its direction) and a table per level and side (the traffic light of
the latest window with its zone boundaries, computed here exactly, and of the worst window;
exceptions over every observation; Kupiec and Christoffersen; the ES test), realised P&L against
-VaR and -ES at the highest level, the exceptions in the traffic light's window over time on the
zones (from the 250th observation; the part before it hatched, as no zone applies to fewer),
predicted against realised hedge effectiveness, the margin-call test, the settings and every fit. Its numbers are tagged
backtest.<key of backtest.json> (backtest.levels.0.99.hedged.kupiec_p) and
traffic_light_threshold:<yellow|red>:<level>:<observations>.

A hedge of several legs (issue 13) adds to summary.json, and all of it is absent for one leg
(which renders as before):
    legs                                    ["BTC-perpetual", "ETH-perpetual"]: two or more distinct names
    hedge.legs[i]                           name (= legs[i]), instrument, benchmark, account ("cross" or a
                                            leg name), optional ratio (static) or weight (dynamic), fee_bps,
                                            slippage_bps, funding_rate_8h {regime: rate}, future {..},
                                            option {..} (numbers, strings, or {regime: number})
    hedge.margin.mode                       cross | isolated;  hedge.allocation (optional): min_variance | weights
    scenarios[i].legs[j]                    name (= legs[j]), mean_pnl, stdev_pnl, mean_costs, mean_funding,
                                            pnl_es_contribution (number or null)
    scenarios[i].margin.accounts[j]         name, legs [leg names], collateral, call_probability,
                                            call_probability_se, collateral_for_call_probability {p: x|null};
                                            every leg in exactly one account
    scenarios[i].optimal_hedge_vector       legs (= legs), min_variance [n], min_variance_se [n],
                                            min_es {level: [n]}, margin_constrained [n] | null, optional
                                            stdev_at_min_variance and es_at_min_es {level: x}; such a
                                            scenario has no optimal_hedge_ratio (an error if it does)
    scenarios[i].contributions.<measure>    one key per leg name (no "hedge"), maybe "margin actions"
Every Monte Carlo scenario then has legs and margin.accounts; optimal_hedge_vector is optional.
Page one shows the legs (terms and the base scenario's mean P&L, costs, funding), their costs
and instrument terms, the base scenario's margin accounts and its optimal vector; the scenarios
section every scenario's legs and accounts and each optimum as a compact vector; the hedge-ratio
section the ES surface with the optima marked and every scenario's vectors with standard errors.

Every number in a table is printed from its JSON/CSV value by one of the fixed formatters
below and its cell carries `data-key`, the value's address, so tests can read it back:
    run.paths, portfolio.value, scenarios[<name>].hedged.es.0.99,
    scenarios[<name>].margin.collateral_for_call_probability.0.01,
    bands[<target_beta>,<band> as in CSV].es_0.99, bands.rule, bands.recommended.band,
    hedge.legs.0.ratio, scenarios[<name>].legs.1.mean_funding, scenarios[<name>].margin.accounts.0.collateral,
    scenarios[<name>].optimal_hedge_vector.min_es.0.99.1 (leg 1's ratio),
    hedge_surface[<scenario>,<ratio_0>,<ratio_1> as in CSV].es_0.99
A hedge vector in one cell ('0.5200 / 0.3100', the scenarios table) tags each number in a span.
Money: 2 decimals with thousands separators; probabilities, ratios, betas, effectiveness and
distances: 4 decimals; counts: 2 decimals; a JSON null prints as an em dash.

Errors: render() raises InputError (a missing or malformed input; the message names the file and
the field or line) or whatever else went wrong. As a script: exit 2 (InputError) or 1 (anything
else) with one line on stderr starting with `error:`; BETAHEDGE_REPORT_OUTPUT_DIR, when set, is
the final_dir (betahedge renders into a staging directory renamed once complete).
"""
import os
import sys

# Run as a script, Python puts this file's folder first on sys.path: in the source tree that is
# the package's folder, whose modules (betahedge/*.py) must not shadow the standard library's or
# matplotlib's imports below.
if __name__ == "__main__" and sys.path and sys.path[0] and \
        os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]

import base64
import csv
import html
import io
import json
import math
import tempfile
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

__all__ = ["render", "InputError"]

EM_DASH = "\u2014"


class InputError(Exception):
    """A missing or malformed input file; the message names the file and field or line."""


# ----------------------------------------------------------------------------- formatters

def fmt_money(x):
    return f"{x:,.2f}"


def fmt_prob(x):
    """Probabilities, ratios, betas, effectiveness, distances, multipliers."""
    return f"{x:.4f}"


def fmt_probability(x):
    """Probabilities of an event (margin calls, liquidations): four decimals, or two significant
    digits below 0.00005, where four decimals would print a rare but possible event as 0.0000."""
    return f"{x:.1e}" if 0 < abs(x) < 5e-5 else f"{x:.4f}"


def fmt_count(x):
    return f"{x:,.2f}"


def fmt_small_count(x):
    """A count's expectation to two decimals, or two significant digits below 0.005 (1.2e-03, not 0.00)."""
    return fmt_count(x) if x == 0 or x >= 0.005 else f"{x:.1e}"


def fmt_expected(x):
    """An expected count as the CLI prints it: one decimal, or two significant digits below 0.1."""
    return f"{x:.1f}" if x >= 0.1 or x == 0 else f"{x:.2g}"


def fmt_int(x):
    return f"{int(x):,}"


def fmt_seconds(x):
    return f"{x:.3f}"


def fmt_rate(x):
    return f"{x:.3e}"


def fmt_text(x):
    return str(x)


def fmt_small(x):
    """Rates per period (funding per 8 hours, basis): six significant digits."""
    return f"{x:.6g}"


def fmt_pct(x):
    """A share of the book's value, in percent with two decimals."""
    return f"{x:.2f}%"


def level_label(level):
    """'0.99' -> '99%', '0.975' -> '97.5%'."""
    return f"{float(level) * 100:g}%"


def compact_money(x, _pos=None):
    """Axis ticks: 1.25M, 250k, 1.5k. Up to two decimals, so that ticks 250 apart around 1,500
    read 1.25k, 1.5k, 1.75k rather than 1k, 2k, 2k."""
    def short(v):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    a = abs(x)
    if a >= 1e6:
        return short(x / 1e6) + "M"
    if a >= 1e3:
        return short(x / 1e3) + "k"
    return f"{x:.0f}"


# ----------------------------------------------------------------------------- loading

def load_json(out_dir, name):
    path = os.path.join(out_dir, name)
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


def load_csv(out_dir, name, numeric_columns, text_columns=()):
    """Rows of a header-first CSV as dicts; numeric columns parsed to float, text kept as str.

    The raw text of every cell is kept under ('raw', column) so keys such as a band can be
    quoted exactly as the file spells them.
    """
    path = os.path.join(out_dir, name)
    if not os.path.isfile(path):
        raise InputError(f"{path}: file not found")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    if not lines:
        raise InputError(f"{path}: empty file (expected a header row)")
    header = [h.strip() for h in lines[0]]
    for col in list(text_columns) + list(numeric_columns):
        if col not in header:
            raise InputError(f"{path}: line 1: missing column '{col}' (header: {','.join(header)})")
    rows = []
    for lineno, cells in enumerate(lines[1:], start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise InputError(f"{path}: line {lineno}: {len(cells)} fields, header has {len(header)}")
        row = {}
        for col, cell in zip(header, cells):
            cell = cell.strip()
            row[("raw", col)] = cell
            if col in numeric_columns:
                try:
                    row[col] = float(cell)
                except ValueError:
                    raise InputError(f"{path}: line {lineno}: column '{col}': not a number: '{cell}'") from None
            else:
                row[col] = cell
        rows.append(row)
    if not rows:
        raise InputError(f"{path}: no data rows")
    return rows


class Checker:
    """Field access that fails with the file and the JSON path of what is missing or wrong."""

    def __init__(self, path):
        self.path = path

    def get(self, obj, key, where, nullable=False, kind="number"):
        if not isinstance(obj, dict) or key not in obj:
            raise InputError(f"{self.path}: {where}: missing key '{key}'")
        value = obj[key]
        here = f"{where}.{key}" if where else key
        if value is None:
            if nullable:
                return None
            raise InputError(f"{self.path}: {here}: is null")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InputError(f"{self.path}: {here}: expected a number, got {json.dumps(value)[:40]}")
        if kind == "object" and not isinstance(value, dict):
            raise InputError(f"{self.path}: {here}: expected an object")
        if kind == "list" and not isinstance(value, list):
            raise InputError(f"{self.path}: {here}: expected a list")
        if kind == "string" and not isinstance(value, str):
            raise InputError(f"{self.path}: {here}: expected a string")
        if kind == "bool" and not isinstance(value, bool):
            raise InputError(f"{self.path}: {here}: expected true or false")
        return value


def validate_summary(summary, path):
    """Checks every field the report prints; returns the risk levels in config order."""
    c = Checker(path)
    run = c.get(summary, "run", "", kind="object")
    for key in ("paths", "steps", "horizon_days", "seed", "elapsed_s"):
        c.get(run, key, "run")
    for key in ("backend", "device"):
        c.get(run, key, "run", kind="string")
    portfolio = c.get(summary, "portfolio", "", kind="object")
    c.get(portfolio, "value", "portfolio")
    c.get(portfolio, "beta", "portfolio")
    scenarios = c.get(summary, "scenarios", "", kind="list")
    if not scenarios:
        raise InputError(f"{path}: scenarios: empty list")
    first = c.get(scenarios[0], "unhedged", "scenarios[0]", kind="object")
    levels = list(c.get(first, "var", "scenarios[0].unhedged", kind="object").keys())
    if not levels:
        raise InputError(f"{path}: scenarios[0].unhedged.var: no risk levels")
    for lvl in levels:
        try:
            float(lvl)
        except ValueError:
            raise InputError(f"{path}: scenarios[0].unhedged.var: level key '{lvl}' is not a number") from None
    names = set()
    for i, s in enumerate(scenarios):
        where = f"scenarios[{i}]"
        name = c.get(s, "name", where, kind="string")
        if name in names:
            raise InputError(f"{path}: {where}: duplicate scenario name '{name}'")
        names.add(name)
        where = f"scenarios[{name}]"
        for side in ("unhedged", "hedged"):
            block = c.get(s, side, where, kind="object")
            c.get(block, "mean", f"{where}.{side}")
            c.get(block, "stdev", f"{where}.{side}")
            for measure in ("var", "es"):
                values = c.get(block, measure, f"{where}.{side}", kind="object")
                for lvl in levels:
                    c.get(values, lvl, f"{where}.{side}.{measure}")
        c.get(s, "hedge_effectiveness", where)
        c.get(s, "hedge_effectiveness_se", where)
        margin = c.get(s, "margin", where, kind="object")
        for key in ("collateral", "call_probability", "call_probability_se", "liquidation_probability"):
            c.get(margin, key, f"{where}.margin")
        c.get(margin, "mean_first_call_day", f"{where}.margin", nullable=True)
        if "collateral_rule" in margin:
            c.get(margin, "collateral_rule", f"{where}.margin", kind="string")
        cfp = c.get(margin, "collateral_for_call_probability", f"{where}.margin", kind="object")
        for p in cfp:
            c.get(cfp, p, f"{where}.margin.collateral_for_call_probability", nullable=True)
        beta = c.get(s, "beta", where, kind="object")
        for key in ("target", "start", "mean_abs_deviation", "mean_rebalances", "mean_costs"):
            c.get(beta, key, f"{where}.beta")
        applied = c.get(s, "applied", where, kind="object")
        c.get(applied, "repair_distance", f"{where}.applied")
        corr = c.get(applied, "corr", f"{where}.applied", kind="list")
        if not corr or not all(isinstance(m, list) and m and all(isinstance(r, list) and len(r) == len(m) for r in m)
                               for m in corr):
            raise InputError(f"{path}: {where}.applied.corr: expected [regime][i][j] square matrices")
        if "horizons" in s:  # since issue 12
            for days, h in c.get(s, "horizons", where, kind="object").items():
                hw = f"{where}.horizons.{days}"
                if not days.isdigit():
                    raise InputError(f"{path}: {hw}: a horizon key must be a whole number of days")
                for side in ("unhedged", "hedged"):
                    block = c.get(h, side, hw, kind="object")
                    for measure in ("var", "es"):
                        values = c.get(block, measure, f"{hw}.{side}", kind="object")
                        for lvl in levels:
                            c.get(values, lvl, f"{hw}.{side}.{measure}")
                c.get(h, "hedge_effectiveness", hw)
                c.get(c.get(h, "margin", hw, kind="object"), "call_probability", f"{hw}.margin")
        if "contributions" in s:  # since issue 12
            contrib = c.get(s, "contributions", where, kind="object")
            cw = f"{where}.contributions"
            c.get(contrib, "level", cw, kind="string")
            components = list(c.get(contrib, "es", cw, kind="object").keys())
            for measure in ("es", "var", "standalone_es", "marginal_es"):
                values = c.get(contrib, measure, cw, kind="object")
                for name in components:
                    c.get(values, name, f"{cw}.{measure}", nullable=measure == "marginal_es")
        if "optimal_hedge_ratio" in s:
            ohr = c.get(s, "optimal_hedge_ratio", where, kind="object")
            c.get(ohr, "min_variance", f"{where}.optimal_hedge_ratio")
            min_es = c.get(ohr, "min_es", f"{where}.optimal_hedge_ratio", kind="object")
            for lvl in min_es:
                c.get(min_es, lvl, f"{where}.optimal_hedge_ratio.min_es")
            c.get(ohr, "margin_constrained", f"{where}.optimal_hedge_ratio", nullable=True)
    # The bands frontier's recommendation and rule (issue 12); a summary without a band sweep has none.
    if "bands" in summary:
        bands = c.get(summary, "bands", "", kind="object")
        c.get(bands, "rule", "bands", kind="string")
        recommended = c.get(bands, "recommended", "bands", kind="object")
        c.get(recommended, "target_beta", "bands.recommended")
        c.get(recommended, "band", "bands.recommended")
    # Written by every betahedge since issue 12; an older summary has none.
    if "warnings" in summary:
        warnings = c.get(summary, "warnings", "", kind="list")
        for i, w in enumerate(warnings):
            if not isinstance(w, str):
                raise InputError(f"{path}: warnings[{i}]: expected a string, got {json.dumps(w)[:40]}")
    return levels


def validate_replays(summary, path):
    """Takes the replay scenarios out of summary['scenarios'] (keeping the Monte Carlo ones there),
    checks every field the report prints, and returns them in order."""
    c = Checker(path)
    scenarios = c.get(summary, "scenarios", "", kind="list")
    replays = [s for s in scenarios if isinstance(s, dict) and s.get("kind") == "replay"]
    summary["scenarios"] = [s for s in scenarios if not (isinstance(s, dict) and s.get("kind") == "replay")]
    for i, s in enumerate(replays):
        name = c.get(s, "name", f"replays[{i}]", kind="string")
        where = f"scenarios[{name}]"
        window = c.get(s, "replay", where, kind="object")
        for key in ("from", "to"):
            c.get(window, key, f"{where}.replay", kind="string")
        c.get(window, "days", f"{where}.replay")
        regimes = c.get(window, "regimes", f"{where}.replay", kind="list")
        for side in ("unhedged", "hedged"):
            c.get(c.get(s, side, where, kind="object"), "pnl", f"{where}.{side}")
        margin = c.get(s, "margin", where, kind="object")
        for key in ("collateral", "min_equity"):
            c.get(margin, key, f"{where}.margin")
        for key in ("called", "liquidated"):
            c.get(margin, key, f"{where}.margin", kind="bool")
        c.get(margin, "first_call_date", f"{where}.margin", nullable=True, kind="string")
        beta = c.get(s, "beta", where, kind="object")
        for key in ("costs", "rebalances"):
            c.get(beta, key, f"{where}.beta")
        path_rows = c.get(s, "path", where, kind="list")
        if len(path_rows) < 2 or len(regimes) != len(path_rows):
            raise InputError(f"{path}: {where}.path: expected days + 1 >= 2 rows, one per regime of replay.regimes")
        for d, row in enumerate(path_rows):
            c.get(row, "date", f"{where}.path.{d}", kind="string")
            for key in ("pnl_unhedged", "pnl_hedged", "equity"):
                c.get(row, key, f"{where}.path.{d}")
    return replays


def validate_model(model, path, summary):
    c = Checker(path)
    assets = c.get(model, "assets", "", kind="list")
    regimes = c.get(model, "regimes", "", kind="list")
    names = [c.get(r, "name", f"regimes[{k}]", kind="string") for k, r in enumerate(regimes)]
    for s in summary["scenarios"]:
        corr = s["applied"]["corr"]
        if len(corr) != len(names):
            raise InputError(f"{path}: {len(names)} regimes, but summary.json scenarios[{s['name']}].applied.corr "
                             f"has {len(corr)}")
        for m in corr:
            if len(m) != len(assets):
                raise InputError(f"{path}: {len(assets)} assets, but summary.json scenarios[{s['name']}]"
                                 f".applied.corr has {len(m)}x{len(m)} matrices")
    return assets, names


def number_list(c, obj, key, where, length, nullable=False):
    """obj[key] as a list of `length` numbers (one per hedge leg, in leg order)."""
    values = c.get(obj, key, where, kind="list", nullable=nullable)
    if values is None:
        return None
    here = f"{where}.{key}"
    if len(values) != length:
        raise InputError(f"{c.path}: {here}: {len(values)} values, expected {length} (one per leg of 'legs')")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"{c.path}: {here}.{i}: expected a number, got {json.dumps(v)[:40]}")
    return values


def validate_legs(summary, path, levels):
    """A hedge of several legs (top-level `legs`): checks the hedge's legs, each Monte Carlo
    scenario's per-leg figures, margin accounts and optimal hedge vector, and returns the leg
    names in order; None for a one-leg book, whose summary must then carry none of these keys."""
    c = Checker(path)
    scenarios = summary["scenarios"]
    if "legs" not in summary:
        for s in scenarios:
            for key in ("legs", "optimal_hedge_vector"):
                if key in s:
                    raise InputError(f"{path}: scenarios[{s['name']}].{key}: present, but the summary has no "
                                     "top-level 'legs' (a hedge of several legs names them there)")
            if "accounts" in s["margin"]:
                raise InputError(f"{path}: scenarios[{s['name']}].margin.accounts: present, but the summary has no "
                                 "top-level 'legs'")
        if isinstance(summary.get("hedge"), dict) and "legs" in summary["hedge"]:
            raise InputError(f"{path}: hedge.legs: present, but the summary has no top-level 'legs'")
        return None
    legs = c.get(summary, "legs", "", kind="list")
    if len(legs) < 2 or not all(isinstance(n, str) and n for n in legs) or len(set(legs)) != len(legs):
        raise InputError(f"{path}: legs: expected two or more distinct leg names, got {json.dumps(legs)[:80]}")
    n = len(legs)

    hedge = c.get(summary, "hedge", "", kind="object")
    terms = c.get(hedge, "legs", "hedge", kind="list")
    if len(terms) != n:
        raise InputError(f"{path}: hedge.legs: {len(terms)} legs, but 'legs' names {n}")
    for i, leg in enumerate(terms):
        where = f"hedge.legs.{i}"
        name = c.get(leg, "name", where, kind="string")
        if name != legs[i]:
            raise InputError(f"{path}: {where}.name: '{name}', but legs[{i}] is '{legs[i]}' (same order expected)")
        for key in ("instrument", "benchmark", "account"):
            c.get(leg, key, where, kind="string")
        if leg["account"] != "cross" and leg["account"] not in legs:
            raise InputError(f"{path}: {where}.account: '{leg['account']}' is neither 'cross' nor a leg name")
        for key in ("ratio", "weight", "fee_bps", "slippage_bps"):
            if key in leg:
                c.get(leg, key, where)
        for block in ("funding_rate_8h", "future", "option"):
            if block in leg:
                terms_block = c.get(leg, block, where, kind="object")
                for key, value in terms_block.items():
                    if not isinstance(value, (str, dict)):
                        c.get(terms_block, key, f"{where}.{block}")
                    elif isinstance(value, dict):
                        for sub in value:
                            c.get(value, sub, f"{where}.{block}.{key}")
    margin = c.get(hedge, "margin", "hedge", kind="object")
    mode = c.get(margin, "mode", "hedge.margin", kind="string")
    if mode not in ("cross", "isolated"):
        raise InputError(f"{path}: hedge.margin.mode: '{mode}', expected cross or isolated")
    if "allocation" in hedge:
        c.get(hedge, "allocation", "hedge", kind="string")

    for s in scenarios:
        where = f"scenarios[{s['name']}]"
        figures = c.get(s, "legs", where, kind="list")
        if len(figures) != n:
            raise InputError(f"{path}: {where}.legs: {len(figures)} legs, expected {n} (one per leg of 'legs')")
        for i, leg in enumerate(figures):
            lw = f"{where}.legs.{i}"
            if c.get(leg, "name", lw, kind="string") != legs[i]:
                raise InputError(f"{path}: {lw}.name: '{leg['name']}', but legs[{i}] is '{legs[i]}'")
            for key in ("mean_pnl", "stdev_pnl", "mean_costs", "mean_funding"):
                c.get(leg, key, lw)
            c.get(leg, "pnl_es_contribution", lw, nullable=True)
        accounts = c.get(s["margin"], "accounts", f"{where}.margin", kind="list")
        held = []
        for i, account in enumerate(accounts):
            aw = f"{where}.margin.accounts.{i}"
            c.get(account, "name", aw, kind="string")
            members = c.get(account, "legs", aw, kind="list")
            for m in members:
                if m not in legs:
                    raise InputError(f"{path}: {aw}.legs: '{m}' is not a leg of 'legs'")
            held += members
            for key in ("collateral", "call_probability", "call_probability_se"):
                c.get(account, key, aw)
            cfp = c.get(account, "collateral_for_call_probability", aw, kind="object")
            for p in cfp:
                c.get(cfp, p, f"{aw}.collateral_for_call_probability", nullable=True)
        if sorted(held) != sorted(legs):
            raise InputError(f"{path}: {where}.margin.accounts: the accounts hold {held}; every leg of 'legs' must "
                             "be in exactly one account")
        if "optimal_hedge_ratio" in s:
            raise InputError(f"{path}: {where}.optimal_hedge_ratio: a hedge of {n} legs has an optimal_hedge_vector "
                             "instead")
        if "optimal_hedge_vector" in s:
            vw = f"{where}.optimal_hedge_vector"
            vec = c.get(s, "optimal_hedge_vector", where, kind="object")
            if c.get(vec, "legs", vw, kind="list") != legs:
                raise InputError(f"{path}: {vw}.legs: {json.dumps(vec['legs'])[:80]}, expected the top-level legs "
                                 f"{json.dumps(legs)[:80]}")
            number_list(c, vec, "min_variance", vw, n)
            number_list(c, vec, "min_variance_se", vw, n)
            min_es = c.get(vec, "min_es", vw, kind="object")
            for lvl in min_es:
                number_list(c, min_es, lvl, f"{vw}.min_es", n)
            number_list(c, vec, "margin_constrained", vw, n, nullable=True)
            if "stdev_at_min_variance" in vec:
                c.get(vec, "stdev_at_min_variance", vw)
            if "es_at_min_es" in vec:
                at = c.get(vec, "es_at_min_es", vw, kind="object")
                for lvl in at:
                    c.get(at, lvl, f"{vw}.es_at_min_es")
        if "contributions" in s:
            es = s["contributions"]["es"]
            missing = [name for name in legs if name not in es]
            if missing or "hedge" in es:
                raise InputError(f"{path}: {where}.contributions.es: expected one key per leg ({', '.join(legs)}) "
                                 f"instead of 'hedge'; " + (f"missing '{missing[0]}'" if missing else "has 'hedge'"))
    return legs


def validate_surface(rows, path, base_name):
    """hedge_surface.csv: the base scenario's rows must cover a full (ratio_0, ratio_1) grid, each
    point once, at least 2 x 2."""
    base = [r for r in rows if r["scenario"] == base_name]
    if not base:
        raise InputError(f"{path}: no rows for the base scenario '{base_name}'")
    points = [(r["ratio_0"], r["ratio_1"]) for r in base]
    if len(set(points)) != len(points):
        raise InputError(f"{path}: scenario '{base_name}': a (ratio_0, ratio_1) point appears twice")
    xs, ys = sorted(set(p[0] for p in points)), sorted(set(p[1] for p in points))
    if len(xs) < 2 or len(ys) < 2 or len(points) != len(xs) * len(ys):
        raise InputError(f"{path}: scenario '{base_name}': {len(points)} points do not form a full grid of "
                         f"{len(xs)} ratio_0 x {len(ys)} ratio_1 values (at least 2 x 2)")
    return base


# The Basel traffic light (BCBS 1996), applied at every level as the backtest applies it: x
# exceptions in n observations are green while P(X <= x) < 95%, yellow while < 99.99%, red from
# there, X ~ Binomial(n, 1 - level).
TRAFFIC_LIGHT_YELLOW = 0.95
TRAFFIC_LIGHT_RED = 0.9999
TRAFFIC_LIGHT_WINDOW = 250
TRAFFIC_ZONES = ("green", "yellow", "red")
# The Acerbi-Szekely Z2 zones backtest.json writes, and the traffic-light colour each is shown in.
ES_ZONES = {"accept": "green", "reject at 5%": "yellow", "reject at 0.01%": "red"}
BACKTEST_COVERAGE = ("kupiec", "independence", "conditional_coverage")
# The rolling chart's zone colours (those of the zone cells), and the hatched span of short windows.
ZONE_FILL = {"green": "#d6f0d8", "yellow": "#fff1b8", "red": "#f8d3d0"}
SHORT_WINDOW_FILL = "#eceef1"


def traffic_light_thresholds(n, level):
    """(yellow, red): the fewest exceptions in n observations at VaR level `level` (a decimal such
    as '0.99') that are yellow (binomial P(X <= x) >= 95%) and red (>= 99.99%); n + 1 when no count
    gets there; at least 1, as the backtest keeps no exception green however few the observations
    (at 95%, one observation has P(X <= 0) = 95%). At 99% and n = 250: (5, 10), the Basel table.
    Exact: with 1 - level = a / b, P(X <= x) b^n = sum_j C(n, j) a^j (b - a)^(n - j) in integers,
    so that a count exactly on a bound (4 observations at 90%: P(X <= 3) = 0.9999) is not moved
    across it by rounding."""
    miss = 1 - Fraction(str(level))
    a, b = miss.numerator, miss.denominator
    total, scale = 0, b ** n
    out = []
    bounds = [Fraction(TRAFFIC_LIGHT_YELLOW).limit_denominator(10000),
              Fraction(TRAFFIC_LIGHT_RED).limit_denominator(10000)]
    for k in range(n + 1):
        total += math.comb(n, k) * a ** k * (b - a) ** (n - k)
        while bounds and total * bounds[0].denominator >= bounds[0].numerator * scale:
            out.append(k)
            bounds.pop(0)
        if not bounds:
            break
    return tuple(max(1, k) for k in out + [n + 1] * (2 - len(out)))


def rolling_zone_limits(n, level, window=TRAFFIC_LIGHT_WINDOW):
    """(yellow, red): per observation 0..n-1, the fewest exceptions in the traffic light's window
    ending there that are yellow and red, as float arrays; NaN before the window's `window`th
    observation, where the window is short and no Basel zone applies (a zone painted there would
    read as that of a full window)."""
    yellow = np.full(n, np.nan)
    red = np.full(n, np.nan)
    if n >= window:
        y, r = traffic_light_thresholds(window, level)
        yellow[window - 1:] = y
        red[window - 1:] = r
    return yellow, red


def rolling_exceptions(flags, window=TRAFFIC_LIGHT_WINDOW):
    """counts[t]: exceptions among observations max(0, t - window + 1)..t (the traffic light's
    window ending at t; all observations so far until there are `window` of them)."""
    c = np.cumsum(np.asarray(flags, dtype=np.int64))
    before = np.concatenate([np.zeros(window, dtype=np.int64), c])[:len(c)]
    return c - before


def whole(c, obj, key, where, minimum=0, maximum=None):
    """obj[key] as a whole number in [minimum, maximum]."""
    value = c.get(obj, key, where)
    here = f"{where}.{key}" if where else key
    if not math.isfinite(value) or value != int(value) or value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InputError(f"{c.path}: {here}: expected a whole number {bound}, got {json.dumps(value)}")
    return int(value)


def finite(c, obj, key, where, low=-math.inf, high=math.inf):
    """obj[key] as a finite number in [low, high]."""
    value = c.get(obj, key, where)
    here = f"{where}.{key}" if where else key
    if not math.isfinite(value) or not low <= value <= high:
        bound = "" if (low, high) == (-math.inf, math.inf) else f" in [{low:g}, {high:g}]"
        raise InputError(f"{c.path}: {here}: expected a finite number{bound}, got {json.dumps(value)}")
    return value


def iso_date(c, obj, key, where):
    value = c.get(obj, key, where, kind="string")
    try:
        np.datetime64(value, "D")
    except ValueError:
        raise InputError(f"{c.path}: {where}.{key}: not an ISO date: '{value[:40]}'") from None
    return value


def validate_backtest(bt, path):
    """backtest.json (SPEC 6, and host/report/backtest_files.hpp's extra keys): checks every field
    the report prints; returns the levels, lowest first."""
    c = Checker(path)
    if not isinstance(bt, dict):
        raise InputError(f"{path}: expected a JSON object")
    fmt = c.get(bt, "format", "", kind="string")
    if fmt != "betahedge.backtest/1":
        raise InputError(f"{path}: format: '{fmt[:40]}', expected 'betahedge.backtest/1'")
    n = whole(c, bt, "observations", "", minimum=1)
    whole(c, bt, "test_dates", "", minimum=n)
    levels_obj = c.get(bt, "levels", "", kind="object")
    if not levels_obj:
        raise InputError(f"{path}: levels: no risk levels")
    for lvl in levels_obj:
        try:
            ok = 0.0 < float(lvl) < 1.0
        except ValueError:
            ok = False
        if not ok:
            raise InputError(f"{path}: levels: level key '{lvl[:20]}' is not a number between 0 and 1")
        for side in ("unhedged", "hedged"):
            s = c.get(levels_obj[lvl], side, f"levels.{lvl}", kind="object")
            w = f"levels.{lvl}.{side}"
            whole(c, s, "exceptions", w, maximum=n)
            finite(c, s, "rate", w, 0.0, 1.0)
            finite(c, s, "expected_exceptions", w, 0.0, n)
            for test in BACKTEST_COVERAGE:
                finite(c, s, f"{test}_lr", w, 0.0)
                finite(c, s, f"{test}_p", w, 0.0, 1.0)
            zone = c.get(s, "traffic_light", w, kind="string")
            if zone not in TRAFFIC_ZONES:
                raise InputError(f"{path}: {w}.traffic_light: '{zone[:40]}', expected green, yellow or red")
            tw = c.get(s, "traffic_light_window", w, kind="object")
            ww = f"{w}.traffic_light_window"
            for key in ("from", "to"):
                iso_date(c, tw, key, ww)
            m = whole(c, tw, "observations", ww, minimum=1, maximum=n)
            whole(c, tw, "exceptions", ww, maximum=m)
            finite(c, tw, "cumulative_probability", ww, 0.0, 1.0)
            if c.get(tw, "zone", ww, kind="string") != zone:
                raise InputError(f"{path}: {ww}.zone: '{tw['zone'][:40]}', but {w}.traffic_light is '{zone}'")
            if "worst_window" in s:
                worst = c.get(s, "worst_window", w, kind="object")
                wk = f"{w}.worst_window"
                for key in ("from", "to"):
                    iso_date(c, worst, key, wk)
                wm = whole(c, worst, "observations", wk, minimum=1, maximum=n)
                wx = whole(c, worst, "exceptions", wk, maximum=wm)
                finite(c, worst, "cumulative_probability", wk, 0.0, 1.0)
                if c.get(worst, "zone", wk, kind="string") not in TRAFFIC_ZONES:
                    raise InputError(f"{path}: {wk}.zone: '{worst['zone'][:40]}', expected green, yellow or red")
                if wm == m and wx < tw["exceptions"]:
                    raise InputError(f"{path}: {wk}.exceptions: {wx}, fewer than the latest window's "
                                     f"{tw['exceptions']}")
            es = c.get(s, "es_test", w, kind="object")
            ew = f"{w}.es_test"
            c.get(es, "method", ew, kind="string")
            finite(c, es, "z2", ew)
            finite(c, es, "p_value", ew, 0.0, 1.0)
            whole(c, es, "simulations", ew, minimum=1)
            if c.get(es, "zone", ew, kind="string") not in ES_ZONES:
                raise InputError(f"{path}: {ew}.zone: '{es['zone'][:40]}', expected one of "
                                 + ", ".join(f"'{z}'" for z in ES_ZONES))
            if "critical_values_zone" in es and c.get(es, "critical_values_zone", ew, kind="string") not in ES_ZONES:
                raise InputError(f"{path}: {ew}.critical_values_zone: '{es['critical_values_zone'][:40]}', expected "
                                 "one of " + ", ".join(f"'{z}'" for z in ES_ZONES))
    he = c.get(bt, "hedge_effectiveness", "", kind="object")
    for key in ("predicted", "realised"):
        finite(c, he, key, "hedge_effectiveness")
    finite(c, he, "realised_se", "hedge_effectiveness", 0.0)
    calls = whole(c, bt, "margin_calls", "", maximum=n)
    if "margin_call_test" in bt:
        mt = c.get(bt, "margin_call_test", "", kind="object")
        if whole(c, mt, "realised", "margin_call_test", maximum=n) != calls:
            raise InputError(f"{path}: margin_call_test.realised: {mt['realised']}, but margin_calls is {calls}")
        finite(c, mt, "expected", "margin_call_test", 0.0, n)
        finite(c, mt, "p_value", "margin_call_test", 0.0, 1.0)
    run = c.get(bt, "run", "", kind="object")
    for key in ("prices", "benchmark", "regimes", "distribution", "backend", "device"):
        c.get(run, key, "run", kind="string")
    assets = c.get(run, "assets", "run", kind="list")
    if not assets or not all(isinstance(a, str) for a in assets):
        raise InputError(f"{path}: run.assets: expected a list of asset names")
    for key in ("from", "to"):
        iso_date(c, run, key, "run")
    for key in ("window_days", "refit_every", "horizon_days", "sampling_step", "paths", "ranks"):
        whole(c, run, key, "run", minimum=1)
    whole(c, run, "seed", "run")
    if "filled_cells" in run:  # an older backtest.json has none
        whole(c, run, "filled_cells", "run")
    finite(c, run, "elapsed_s", "run", 0.0)
    if "book" in bt:
        book = c.get(bt, "book", "", kind="object")
        for key in ("portfolio", "hedge", "margin"):
            c.get(book, key, "book", kind="object")
        c.get(book["hedge"], "instrument", "book.hedge", kind="string")
        book_levels = c.get(book, "risk_levels", "book", kind="list")
        if sorted(book_levels, key=float) != sorted(levels_obj, key=float):
            raise InputError(f"{path}: book.risk_levels: {book_levels}, but levels has {sorted(levels_obj, key=float)}")
        if whole(c, book, "horizon_days", "book", minimum=1) != run["horizon_days"]:
            raise InputError(f"{path}: book.horizon_days: {book['horizon_days']}, but run.horizon_days is "
                             f"{run['horizon_days']}")
        for key, value in flatten_book(book):
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"{path}: book.{key}: not a finite number")
    fits = c.get(bt, "fits", "", kind="list")
    if not fits:
        raise InputError(f"{path}: fits: empty list (every walk forward fits at least once)")
    for i, f in enumerate(fits):
        fw = f"fits.{i}"
        for key in ("date", "window_start", "window_end"):
            iso_date(c, f, key, fw)
        names = c.get(f, "regimes", fw, kind="list")
        if not names or not all(isinstance(r, str) for r in names):
            raise InputError(f"{path}: {fw}.regimes: expected a list of regime names")
        finite(c, f, "loglik", fw)
        c.get(f, "converged", fw, kind="bool")
        whole(c, f, "iterations", fw)
    warnings = c.get(bt, "warnings", "", kind="list")
    for i, w in enumerate(warnings):
        if not isinstance(w, str):
            raise InputError(f"{path}: warnings[{i}]: expected a string, got {json.dumps(w)[:40]}")
    return sorted(levels_obj, key=float)


def check_backtest_csv(rows, bt, levels, path):
    """backtest.csv against backtest.json: one row per test date in date order from run.from to
    run.to, 0/1 flags, finite numbers, and, over the rows the tests read (sampled = 1), as many
    observations and exceptions as backtest.json counts."""
    if len(rows) != bt["test_dates"]:
        raise InputError(f"{path}: {len(rows)} data rows, but backtest.json test_dates is {bt['test_dates']}")
    flags = ["sampled", "margin_called"] + [f"exception_{side}_{lvl}" for lvl in levels
                                            for side in ("unhedged", "hedged")]
    previous = None
    for lineno, r in enumerate(rows, start=2):
        for col, value in r.items():
            if isinstance(col, str) and isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"{path}: line {lineno}: column '{col}': not a finite number: '{r[('raw', col)]}'")
        for col in flags:
            if r[col] not in (0.0, 1.0):
                raise InputError(f"{path}: line {lineno}: column '{col}': expected 0 or 1, got '{r[('raw', col)]}'")
        try:
            r["date"] = np.datetime64(r["date"], "D")
        except ValueError:
            raise InputError(f"{path}: line {lineno}: column 'date': not an ISO date: '{r['date'][:40]}'") from None
        if previous is not None and r["date"] <= previous:
            raise InputError(f"{path}: line {lineno}: column 'date': {r['date']} does not follow {previous}")
        previous = r["date"]
    run = bt["run"]
    for end, row in (("from", rows[0]), ("to", rows[-1])):
        if str(row["date"]) != run[end]:
            raise InputError(f"{path}: dates run {rows[0]['date']} to {rows[-1]['date']}, but backtest.json run is "
                             f"{run['from']} to {run['to']}")
    sampled = [r for r in rows if r["sampled"] == 1]
    if len(sampled) != bt["observations"]:
        raise InputError(f"{path}: column 'sampled': {len(sampled)} rows marked 1, but backtest.json observations "
                         f"is {bt['observations']}")
    for lvl in levels:
        for side in ("unhedged", "hedged"):
            counted = int(sum(r[f"exception_{side}_{lvl}"] for r in sampled))
            stated = bt["levels"][lvl][side]["exceptions"]
            if counted != stated:
                raise InputError(f"{path}: column 'exception_{side}_{lvl}': {counted} exceptions on the sampled rows, "
                                 f"but backtest.json levels.{lvl}.{side}.exceptions is {stated}")


def load_backtest(out_dir):
    """backtest.json and backtest.csv (written together by `betahedge backtest`, and by `betahedge
    run` for a run.yaml with a backtest: block): validated, or None when neither is there."""
    json_path = os.path.join(out_dir, "backtest.json")
    csv_path = os.path.join(out_dir, "backtest.csv")
    have_json, have_csv = os.path.exists(json_path), os.path.exists(csv_path)
    if not have_json and not have_csv:
        return None
    if have_json != have_csv:
        missing, present = (json_path, "backtest.csv") if have_csv else (csv_path, "backtest.json")
        raise InputError(f"{missing}: file not found ({present} is there; a backtest writes both)")
    bt = load_json(out_dir, "backtest.json")
    levels = validate_backtest(bt, json_path)
    numeric = ["realised_unhedged", "realised_hedged", "sampled", "predicted_hedge_effectiveness", "margin_called"]
    for lvl in levels:
        numeric += [f"{m}_{side}_{lvl}" for m in ("var", "es", "exception") for side in ("unhedged", "hedged")]
    rows = load_csv(out_dir, "backtest.csv", numeric, text_columns=["date"])
    check_backtest_csv(rows, bt, levels, csv_path)
    return {"json": bt, "rows": rows, "levels": levels}


def load_inputs(out_dir):
    if not os.path.isdir(out_dir):
        raise InputError(f"{out_dir}: not a directory")
    # `betahedge backtest` writes backtest.json and backtest.csv alone: a report of its section only.
    if not os.path.exists(os.path.join(out_dir, "summary.json")):
        backtest = load_backtest(out_dir)
        if backtest is not None:
            return {"summary": None, "backtest": backtest}
    summary = load_json(out_dir, "summary.json")
    # Replays (kind "replay", after the Monte Carlo scenarios) are one path each: their own
    # section; every other section reads the Monte Carlo scenarios.
    replays = validate_replays(summary, os.path.join(out_dir, "summary.json"))
    levels = validate_summary(summary, os.path.join(out_dir, "summary.json"))
    model = load_json(out_dir, "model.json")
    assets, regime_names = validate_model(model, os.path.join(out_dir, "model.json"), summary)
    legs = validate_legs(summary, os.path.join(out_dir, "summary.json"), levels)
    risk_columns = [f"{m}_{lvl}" for lvl in levels for m in ("var", "es")]
    # A hedge of several legs has no one-ratio curve: its ES surface over the first two legs' ratios
    # takes the curve's place.
    curve, surface = None, None
    if legs is None:
        curve = load_csv(out_dir, "hedge_ratio_curve.csv",
                         ["ratio", "mean", "stdev"] + risk_columns + ["call_probability"], text_columns=["scenario"])
    else:
        if os.path.exists(os.path.join(out_dir, "hedge_ratio_curve.csv")):
            raise InputError(f"{os.path.join(out_dir, 'hedge_ratio_curve.csv')}: present, but the hedge has "
                             f"{len(legs)} legs (its ratios are the ES surface of hedge_surface.csv)")
        surface_path = os.path.join(out_dir, "hedge_surface.csv")
        surface = load_csv(out_dir, "hedge_surface.csv", ["ratio_0", "ratio_1"] + [f"es_{lvl}" for lvl in levels],
                           text_columns=["scenario"])
        validate_surface(surface, surface_path, summary["scenarios"][0]["name"])
    bands = load_csv(out_dir, "bands.csv",
                     ["target_beta", "band", "mean_abs_deviation", "mean_rebalances", "mean_costs"] + risk_columns
                     + ["call_probability", "on_frontier", "recommended"])
    bands_path = os.path.join(out_dir, "bands.csv")
    recommended = [r for r in bands if r["recommended"] == 1]
    if len(recommended) != 1 or any(r["recommended"] not in (0, 1) for r in bands):
        raise InputError(f"{bands_path}: column 'recommended' must be 1 on exactly one row "
                         f"and 0 elsewhere (found {len(recommended)} rows with 1)")
    if any(r["on_frontier"] not in (0, 1) for r in bands):
        raise InputError(f"{bands_path}: column 'on_frontier' must be 0 or 1")
    pairs = [(r["target_beta"], r["band"]) for r in bands]
    if len(set(pairs)) != len(pairs):
        raise InputError(f"{bands_path}: a (target_beta, band) pair appears twice")
    if "bands" in summary:
        pick = summary["bands"]["recommended"]
        if (pick["target_beta"], pick["band"]) != (recommended[0]["target_beta"], recommended[0]["band"]):
            raise InputError(f"{bands_path}: the recommended row (target_beta {recommended[0]['target_beta']:g}, band "
                             f"{recommended[0]['band']:g}) is not summary.json bands.recommended "
                             f"(target_beta {pick['target_beta']:g}, band {pick['band']:g})")
    pnl = load_csv(out_dir, "pnl_distribution.csv", ["bin_lo", "bin_hi", "unhedged_density", "hedged_density"])
    regimes = None
    if os.path.exists(os.path.join(out_dir, "regimes.csv")):
        columns = [f"{p}_{n}" for p in ("filtered", "smoothed") for n in regime_names]
        regimes = load_csv(out_dir, "regimes.csv", columns, text_columns=["date"])
        for lineno, row in enumerate(regimes, start=2):
            try:
                row["date"] = np.datetime64(row["date"], "D")
            except ValueError:
                raise InputError(f"{os.path.join(out_dir, 'regimes.csv')}: data row {lineno - 1}: "
                                 f"not an ISO date: '{row['date']}'") from None
    return {"summary": summary, "levels": levels, "model": model, "assets": assets,
            "regime_names": regime_names, "curve": curve, "bands": bands, "pnl": pnl, "regimes": regimes,
            "replays": replays, "legs": legs, "surface": surface, "backtest": load_backtest(out_dir)}


# ----------------------------------------------------------------------------- HTML pieces

def esc(x):
    return html.escape(str(x), quote=True)


def td(key, value, fmt):
    """A table cell printing `value` with `fmt`, tagged with the value's address."""
    if value is None:
        return f'<td class="num na" data-key="{esc(key)}">{EM_DASH}</td>'
    cls = "num" if fmt is not fmt_text else "txt"
    return f'<td class="{cls}" data-key="{esc(key)}">{esc(fmt(value))}</td>'


def td_se(key, value):
    """Standard-error cell: '±0.0012', the number after the sign is the value."""
    return f'<td class="num se" data-key="{esc(key)}">\u00b1{esc(fmt_prob(value))}</td>'


def td_na():
    return f'<td class="na">{EM_DASH}</td>'


def td_vector(key, values, fmt=fmt_prob):
    """A hedge vector in one cell, '0.5200 / 0.3100' in leg order; each number a span tagged
    <key>.<leg index>. A null vector is one em dash tagged <key>."""
    if values is None:
        return f'<td class="num na" data-key="{esc(key)}">{EM_DASH}</td>'
    spans = " / ".join(f'<span data-key="{esc(f"{key}.{i}")}">{esc(fmt(v))}</span>' for i, v in enumerate(values))
    return f'<td class="num vec">{spans}</td>'


def figure_html(fig, alt, caption=None, css_class="fig"):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="{css_class}"><img alt="{esc(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 14px; color: #1d2430;
       max-width: 1240px; margin: 24px auto; padding: 0 20px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px 0; }
h2 { font-size: 18px; margin: 32px 0 10px 0; padding-bottom: 4px; border-bottom: 2px solid #3b5b8c; color: #23395d; }
h3 { font-size: 15px; margin: 18px 0 6px 0; color: #23395d; }
p.sub { color: #5b6473; margin: 0 0 12px 0; }
p.note { color: #5b6473; font-size: 12.5px; margin: 6px 0; }
nav { font-size: 13px; margin: 8px 0 4px 0; }
nav a { color: #3b5b8c; margin-right: 14px; text-decoration: none; }
table { border-collapse: collapse; margin: 6px 0 10px 0; font-size: 13px; }
th, td { padding: 4px 9px; border-bottom: 1px solid #dde2ea; }
th { background: #eef2f7; color: #23395d; font-weight: 600; text-align: center; white-space: nowrap; }
th.left, td.txt, td.name { text-align: left; }
table.kv td.num { text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.se { color: #6b7382; }
td.na { text-align: center; color: #9aa1ad; }
td.name { font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: #f8f9fb; }
tr.recommended, tbody tr.recommended:nth-child(even) { background: #fff1b8; font-weight: 600; }
td.flag { color: #8a6200; font-weight: 600; white-space: nowrap; }
table.kv th { text-align: left; background: none; color: #5b6473; font-weight: normal; padding-right: 6px; }
table.kv td { padding-right: 28px; }
table.kv tr:nth-child(even) { background: none; }
figure { margin: 8px 0 14px 0; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #5b6473; font-size: 12.5px; margin-top: 2px; }
.figrow { display: flex; flex-wrap: wrap; gap: 10px 24px; align-items: flex-start; }
.figrow figure { margin: 0 0 8px 0; }
table.corr caption { font-size: 13px; color: #23395d; text-align: left; padding-bottom: 2px; }
table.corr td.corr { text-align: center; min-width: 44px; border: 1px solid #fff; }
table.corr th { background: none; }
h3 span.sub { color: #5b6473; font-weight: normal; font-size: 13px; }
div.warnings { border: 2px solid #c26a00; background: #fff4e0; border-radius: 4px; padding: 8px 14px; margin: 14px 0; }
div.warnings strong { color: #8a4b00; }
div.warnings ul { margin: 4px 0 0 0; padding-left: 20px; }
div.warnings li { margin: 2px 0; }
table.verdict td.num { min-width: 78px; }
table.book td { max-width: 260px; }
ul.rejections, ul.zones { margin: 4px 0 8px; font-size: 14px; }
table.verdict td.num[colspan] { text-align: center; }
table.verdict tr.group th { background: none; color: #23395d; border-bottom: 1px solid #9fb0c8; padding-top: 10px; }
td.zone { text-align: center; font-weight: 600; }
span.zone { font-weight: 600; padding: 1px 6px; border-radius: 3px; }
.zone-green { background: #d6f0d8; color: #1e5a26; }
.zone-yellow { background: #fff1b8; color: #6b5200; }
.zone-red { background: #f8d3d0; color: #8a1c12; }
p.headline { font-size: 14.5px; margin: 8px 0; }
td.reject { color: #a3261b; font-weight: 600; }
details { margin: 6px 0 12px 0; font-size: 13px; }
details summary { color: #3b5b8c; cursor: pointer; }
"""


# ----------------------------------------------------------------------------- sections

def warnings_box(d):
    """summary.json's warnings, one item each, in a box above the sections; nothing when there are none."""
    warnings = d["summary"].get("warnings") or []
    if not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    return (f'<div class="warnings" id="warnings" role="note"><strong>{len(warnings)} warning'
            f'{"" if len(warnings) == 1 else "s"}</strong>: figures dominated by an edge case'
            f'<ul>{items}</ul></div>')


def tomorrow_probabilities(model):
    """Tomorrow's regime mix: today's (initial_probabilities) times the daily transition matrix,
    the mix the first simulated day is drawn from."""
    p0 = model.get("initial_probabilities") or []
    trans = model.get("transition") or []
    if not p0 or len(trans) != len(p0):
        return None
    return [sum(p0[i] * trans[i][j] for i in range(len(p0))) for j in range(len(p0))]


def td_pct(key, value, nav):
    """value as a percentage of the book's value, tagged pct_nav:<key> (the test divides it back)."""
    if value is None or not nav:
        return td_na()
    return f'<td class="num" data-key="pct_nav:{esc(key)}">{esc(fmt_pct(100.0 * value / nav))}</td>'


def section_committee(d):
    """Page one: the book, the hedge, tomorrow's regimes, the headline per horizon, the
    recommendations. Every number is tagged with where it comes from."""
    s, model, levels = d["summary"], d["model"], d["levels"]
    pf = s["portfolio"]
    nav = pf["value"]
    base = s["scenarios"][0]
    bk = f"scenarios[{base['name']}]"
    top = levels[-1]
    parts = []

    # The book: each holding, and its beta by every estimator the model carries.
    holdings = pf.get("holdings") or []
    if holdings:
        model_betas = model.get("betas") or {}
        estimators = [e for e in ("ols", "ewma", "kalman", "regime_weighted")
                      if any(isinstance((model_betas.get(h["asset"]) or {}).get(e), (int, float)) for h in holdings)]
        names = {"ols": "OLS", "ewma": "EWMA", "kalman": "Kalman", "regime_weighted": "Per-regime, weighted"}
        head = ('<tr><th class="left">Asset</th><th>Units</th><th>Spot</th><th>Value</th><th>Weight (of net value)</th>'
                '<th>Beta (hedge)</th>' + "".join(f"<th>{names[e]}</th>" for e in estimators) + "</tr>")
        body = []
        for i, h in enumerate(holdings):
            k = f"portfolio.holdings.{i}"
            cells = [f'<td class="name">{esc(h["asset"])}</td>',
                     td(f"{k}.units", h["units"], fmt_count), td(f"{k}.spot", h["spot"], fmt_money),
                     td(f"{k}.value", h["value"], fmt_money), td(f"{k}.weight", h["weight"], fmt_prob),
                     td(f"{k}.beta", h["beta"], fmt_prob)]
            for e in estimators:
                v = (model_betas.get(h["asset"]) or {}).get(e)
                cells.append(td(f"model:betas.{h['asset']}.{e}", v, fmt_prob)
                             if isinstance(v, (int, float)) and not isinstance(v, bool) else td_na())
            body.append("<tr>" + "".join(cells) + "</tr>")
        body.append('<tr><td class="name">Book</td><td></td><td></td>'
                    + td("portfolio.value", nav, fmt_money) + "<td></td>"
                    + td("portfolio.beta", pf["beta"], fmt_prob) + "<td></td>" * len(estimators) + "</tr>")
        used = pf.get("beta_estimate", "model")
        parts.append("<h3>The book</h3>"
                     f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
                     f'<p class="note">Betas to the benchmark. The hedge uses <b>{esc(used)}</b> '
                     '(hedge.beta_estimate; <i>model</i> = the regime model\'s, weighted by today\'s regime '
                     'probabilities). Weights are shares of the book\'s net value.</p>')

    # The hedge's terms and its margin account.
    hedge = s.get("hedge")
    if hedge:
        rows = []
        if d["legs"] is None or "instrument" in hedge:  # several legs: each leg names its instrument
            rows.append(("Instrument", td("hedge.instrument", hedge["instrument"], fmt_text)))
        for label, key, fmt in (("Benchmark", "benchmark", fmt_text), ("Mode", "mode", fmt_text),
                                ("Hedge ratio (short notional / value)", "ratio", fmt_prob),
                                ("Target beta", "target_beta", fmt_prob), ("Band", "band", fmt_prob),
                                ("Beta check every (days)", "rebalance_every_days", fmt_int),
                                ("Beta trade split across legs", "allocation", fmt_text),
                                ("Beta estimate", "beta_estimate", fmt_text),
                                ("Fee (bps)", "fee_bps", fmt_count), ("Slippage (bps)", "slippage_bps", fmt_count)):
            if key in hedge:
                rows.append((label, td(f"hedge.{key}", hedge[key], fmt)))
        for regime, rate in (hedge.get("funding_rate_8h") or {}).items():
            rows.append((f"Funding per 8 h, {esc(regime)} (paid by longs)",
                         td(f"hedge.funding_rate_8h.{regime}", rate, fmt_small)))
        fut = hedge.get("future") or {}
        for regime, basis in (fut.get("annual_basis") or {}).items():
            rows.append((f"Annual basis, {esc(regime)}", td(f"hedge.future.annual_basis.{regime}", basis, fmt_small)))
        for label, key, fmt in (("Expiry (days)", "expiry_days", fmt_int), ("Roll days before", "roll_days_before", fmt_int),
                                ("Roll cost (bps)", "roll_cost_bps", fmt_count)):
            if key in fut:
                rows.append((label, td(f"hedge.future.{key}", fut[key], fmt)))
        opt = hedge.get("option") or {}
        for label, key, fmt in (("Strike (x spot)", "strike", fmt_prob), ("Tenor (days)", "tenor_days", fmt_int),
                                ("Implied vol premium", "implied_vol_premium", fmt_prob), ("Rate", "rate", fmt_prob)):
            if key in opt:
                rows.append((label, td(f"hedge.option.{key}", opt[key], fmt)))
        mg = hedge.get("margin") or {}
        for label, key, fmt in (("Margin accounts", "mode", fmt_text),
                                ("Initial margin rate", "initial_rate", fmt_prob),
                                ("Maintenance margin rate", "maintenance_rate", fmt_prob),
                                ("On a margin call", "on_call", fmt_text)):
            if key in mg:
                rows.append((label, td(f"hedge.margin.{key}", mg[key], fmt)))
        rows.append(("Collateral", td(f"{bk}.margin.collateral", base["margin"]["collateral"], fmt_money)))
        if "collateral_rule" in base["margin"]:
            rows.append(("How it was chosen", td(f"{bk}.margin.collateral_rule", base["margin"]["collateral_rule"],
                                                 fmt_text)))
        parts.append("<h3>The hedge</h3><table class=\"kv\"><tbody>"
                     + "".join(f'<tr><th class="left">{label}</th>{cell}</tr>' for label, cell in rows)
                     + "</tbody></table>")
        if d["legs"] is not None:
            parts.append(legs_tables(d))

    # Tomorrow's regimes: what the first simulated day is drawn from.
    tomorrow = tomorrow_probabilities(model)
    if tomorrow and len(d["regime_names"]) == len(tomorrow):
        body = "".join(
            f'<tr><td class="name">{esc(name)}</td>'
            + td(f"model:initial_probabilities.{j}", model["initial_probabilities"][j], fmt_prob)
            + td(f"tomorrow:{j}", tomorrow[j], fmt_prob) + "</tr>"
            for j, name in enumerate(d["regime_names"]))
        parts.append("<h3>Regimes: today and tomorrow</h3>"
                     '<table><thead><tr><th class="left">Regime</th><th>Today (filtered)</th>'
                     f"<th>Tomorrow (today x transition)</th></tr></thead><tbody>{body}</tbody></table>"
                     '<p class="note">Day 1 of every path is drawn from tomorrow\'s mix: it drives the 1-day '
                     "figures.</p>")

    # The headline: the base scenario at every horizon, in currency and % of the book's value.
    horizons = base.get("horizons") or {str(s["run"]["horizon_days"]): None}
    head = ('<tr><th class="left" rowspan="2">Horizon (days)</th>'
            f'<th colspan="4">Unhedged {level_label(top)}</th><th colspan="4">Hedged {level_label(top)}</th>'
            '<th rowspan="2">Hedge effectiveness</th><th rowspan="2">Call probability</th></tr><tr>'
            + "<th>VaR</th><th>% value</th><th>ES</th><th>% value</th>" * 2 + "</tr>")
    body = []
    for days in sorted(horizons, key=int):
        k = f"{bk}.horizons.{days}" if horizons[days] is not None else bk
        h = horizons[days] if horizons[days] is not None else base
        cells = [f'<th class="left">{int(days)}</th>']
        for side in ("unhedged", "hedged"):
            for m in ("var", "es"):
                cells.append(td(f"{k}.{side}.{m}.{top}", h[side][m][top], fmt_money))
                cells.append(td_pct(f"{k}.{side}.{m}.{top}", h[side][m][top], nav))
        cells.append(td(f"{k}.hedge_effectiveness", h["hedge_effectiveness"], fmt_prob))
        cells.append(td(f"{k}.margin.call_probability", h["margin"]["call_probability"], fmt_probability))
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts.append(f"<h3>Headline: {esc(base['name'])} scenario</h3>"
                 f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>")

    # The recommendations.
    rec = []
    ohr = base.get("optimal_hedge_ratio")
    if ohr:
        rec.append(("Hedge ratio, minimum variance", td(f"{bk}.optimal_hedge_ratio.min_variance", ohr["min_variance"],
                                                         fmt_prob)))
        if top in ohr.get("min_es", {}):
            rec.append((f"Hedge ratio, minimum ES {level_label(top)}",
                        td(f"{bk}.optimal_hedge_ratio.min_es.{top}", ohr["min_es"][top], fmt_prob)))
        rec.append(("Hedge ratio, minimum variance with P(call) \u2264 max_call_probability",
                    td(f"{bk}.optimal_hedge_ratio.margin_constrained", ohr["margin_constrained"], fmt_prob)))
    chosen = [r for r in d["bands"] if r.get("recommended") == 1]
    if chosen:
        r = chosen[0]
        if "target_beta" in r:
            rec.append(("Target beta", td(band_key(r) + ".target_beta", r["target_beta"], fmt_prob)))
        rec.append(("Band", td(band_key(r) + ".band", r["band"], fmt_prob)))
    cfp = base["margin"]["collateral_for_call_probability"]
    for p in sorted(cfp, key=float, reverse=True):
        rec.append((f"Collateral for call probability \u2264 {esc(p)}",
                    td(f"{bk}.margin.collateral_for_call_probability.{p}", cfp[p], fmt_money)))
    vector = base.get("optimal_hedge_vector")
    if rec or vector:
        parts.append("<h3>Recommendations</h3>"
                     + (hedge_vector_table([base], d["legs"], levels, per_scenario=False) if vector else "")
                     + "<table class=\"kv\"><tbody>"
                     + "".join(f'<tr><th class="left">{label}</th>{cell}</tr>' for label, cell in rec)
                     + "</tbody></table>"
                     '<p class="note">Ratios are static hedges (short notional / value), on the base scenario\'s '
                     "paths; the band is the bands section's recommendation; collateral is the least starting "
                     "amount with at most that share of paths meeting a margin call over the horizon.</p>")
    # The backtest's verdict, when the run walked forward: does this VaR hold up on history?
    if d.get("backtest"):
        bt = d["backtest"]["json"]
        parts.append("<h3>Backtest: did the VaR hold up on history?</h3>"
                     + backtest_headline(bt, d["backtest"]["levels"][-1])
                     + f'<p class="note">Walk forward over {fmt_int(bt["test_dates"])} test dates, '
                     f'{esc(bt["run"]["from"])} to {esc(bt["run"]["to"])}; the tests, the P&amp;L against VaR and '
                     'the windows are in the <a href="#backtest">backtest section</a>.</p>')
        # Its caveats too (too few observations, a verdict that turns on the sampling phase, margin
        # calls in the realised paths): page one is what a committee reads.
        if bt["warnings"]:
            items = "".join(f"<li>{esc(w)}</li>" for w in bt["warnings"])
            parts.append(f'<div class="warnings" id="summary-backtest-warnings" role="note"><strong>'
                         f'{len(bt["warnings"])} backtest warning{"" if len(bt["warnings"]) == 1 else "s"}</strong>: '
                         f"read the verdict with these<ul>{items}</ul></div>")
    return ('<section id="summary"><h2>Committee summary</h2>' + "".join(parts) + "</section>")


def section_header(d, shown_dir):
    s, model = d["summary"], d["model"]
    run, pf = s["run"], s["portfolio"]
    cal = model.get("calibration") or {}
    rows = [
        ("Paths", td("run.paths", run["paths"], fmt_int)),
        ("Steps", td("run.steps", run["steps"], fmt_int)),
        ("Horizon (days)", td("run.horizon_days", run["horizon_days"], fmt_int)),
        ("Seed", td("run.seed", run["seed"], fmt_int)),
        ("Drift", td("run.drift", run.get("drift"), fmt_text)),
        ("Backend", td("run.backend", run["backend"], fmt_text)),
        ("Device", td("run.device", run["device"], fmt_text)),
    ]
    if isinstance(run.get("ranks"), int):
        rows.append(("Ranks", td("run.ranks", run["ranks"], fmt_int)))
    rows.append(("Elapsed (s)", td("run.elapsed_s", run["elapsed_s"], fmt_seconds)))
    if isinstance(run.get("path_steps_per_s"), (int, float)):
        rows.append(("Path-steps per second", td("run.path_steps_per_s", run["path_steps_per_s"], fmt_rate)))
    right = [
        ("Portfolio value", td("portfolio.value", pf["value"], fmt_money)),
        ("Portfolio beta", td("portfolio.beta", pf["beta"], fmt_prob)),
    ]
    if isinstance(pf.get("assets"), list):
        right.append(("Portfolio assets", f'<td class="txt">{esc(", ".join(map(str, pf["assets"])))}</td>'))
    right.append(("Model assets", f'<td class="txt">{esc(", ".join(map(str, d["assets"])))}</td>'))
    if model.get("benchmark"):
        right.append(("Benchmark", f'<td class="txt">{esc(model["benchmark"])}</td>'))
    right.append(("Regimes", f'<td class="txt">{esc(", ".join(d["regime_names"]))}</td>'))
    if cal.get("start") and cal.get("end"):
        right.append(("Calibration window", f'<td class="txt">{esc(cal["start"])} to {esc(cal["end"])}</td>'))
    right.append(("Risk levels", f'<td class="txt">{esc(", ".join(level_label(x) for x in d["levels"]))}</td>'))
    # One collateral for every scenario (the base's amount, sized or given).
    base = s["scenarios"][0]
    right.append(("Collateral", td(f"scenarios[{base['name']}].margin.collateral", base["margin"]["collateral"],
                                   fmt_money)))
    if "collateral_rule" in base["margin"]:
        key = f"scenarios[{base['name']}].margin.collateral_rule"
        right.append(("Collateral rule",
                      f'<td class="txt" data-key="{esc(key)}">{esc(base["margin"]["collateral_rule"])}</td>'))
    right.append(("Output directory", f'<td class="txt">{esc(shown_dir)}</td>'))
    n = max(len(rows), len(right))
    body = []
    for i in range(n):
        a = f"<th>{rows[i][0]}</th>{rows[i][1]}" if i < len(rows) else "<th></th><td></td>"
        b = f"<th>{right[i][0]}</th>{right[i][1]}" if i < len(right) else "<th></th><td></td>"
        body.append(f"<tr>{a}{b}</tr>")
    return ('<section id="run"><h2>Run</h2>'
            f'<table class="kv"><tbody>{"".join(body)}</tbody></table></section>')


def section_scenarios(d):
    s, levels = d["summary"], d["levels"]
    scen = s["scenarios"]

    # Tail losses: unhedged and hedged VaR / ES at every level.
    head1 = ('<tr><th class="left" rowspan="2">Scenario</th>'
             f'<th colspan="{2 * len(levels)}">Unhedged</th><th colspan="{2 * len(levels)}">Hedged</th></tr>')
    head2 = "<tr>" + "".join(f"<th>{m} {level_label(lvl)}</th>"
                             for _ in ("unhedged", "hedged") for lvl in levels for m in ("VaR", "ES")) + "</tr>"
    body = []
    for sc in scen:
        k = f"scenarios[{sc['name']}]"
        cells = [f'<td class="name">{esc(sc["name"])}</td>']
        for side in ("unhedged", "hedged"):
            for lvl in levels:
                for m in ("var", "es"):
                    cells.append(td(f"{k}.{side}.{m}.{lvl}", sc[side][m][lvl], fmt_money))
        body.append("<tr>" + "".join(cells) + "</tr>")
    tail = f"<table><thead>{head1}{head2}</thead><tbody>{''.join(body)}</tbody></table>"

    # Every horizon of risk.horizons_days, from the same paths (only when there is more than one).
    horizons = ""
    if any(len(sc.get("horizons", {})) > 1 for sc in scen):
        top = levels[-1]
        head = ('<tr><th class="left">Scenario</th><th>Horizon (days)</th>'
                f'<th>Unhedged VaR {level_label(top)}</th><th>Unhedged ES {level_label(top)}</th>'
                f'<th>Hedged VaR {level_label(top)}</th><th>Hedged ES {level_label(top)}</th>'
                '<th>Hedge effectiveness</th><th>Call probability</th></tr>')
        body = []
        for sc in scen:
            at = sc.get("horizons", {})
            for days in sorted(at, key=int):
                k = f"scenarios[{sc['name']}].horizons.{days}"
                h = at[days]
                body.append("<tr>" + "".join([
                    f'<td class="name">{esc(sc["name"])}</td>',
                    f'<th class="left">{int(days)}</th>',
                    td(f"{k}.unhedged.var.{top}", h["unhedged"]["var"][top], fmt_money),
                    td(f"{k}.unhedged.es.{top}", h["unhedged"]["es"][top], fmt_money),
                    td(f"{k}.hedged.var.{top}", h["hedged"]["var"][top], fmt_money),
                    td(f"{k}.hedged.es.{top}", h["hedged"]["es"][top], fmt_money),
                    td(f"{k}.hedge_effectiveness", h["hedge_effectiveness"], fmt_prob),
                    td(f"{k}.margin.call_probability", h["margin"]["call_probability"], fmt_probability)]) + "</tr>")
        horizons = ('<h3>Horizons</h3><p class="note">risk.horizons_days: the same paths read at each horizon '
                    '(losses to that day; margin calls by that day). The tables below are at the simulated '
                    'horizon.</p>'
                    f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>")

    contributions = contributions_tables(scen, d["legs"])

    # Hedge effectiveness and margin.
    cfp_keys = []
    for sc in scen:
        for p in sc["margin"]["collateral_for_call_probability"]:
            if p not in cfp_keys:
                cfp_keys.append(p)
    top = levels[-1]
    head = ('<tr><th class="left">Scenario</th><th colspan="2">Hedge effectiveness</th>'
            f'<th>ES reduction {level_label(top)}</th>'
            '<th colspan="2">Call probability</th><th>Liquidation probability</th><th>Mean first call day</th>'
            '<th>Collateral</th>'
            + "".join(f"<th>Collateral for call prob. \u2264 {esc(p)}</th>" for p in cfp_keys) + "</tr>")
    body = []
    for sc in scen:
        k = f"scenarios[{sc['name']}]"
        mg = sc["margin"]
        cells = [f'<td class="name">{esc(sc["name"])}</td>',
                 td(f"{k}.hedge_effectiveness", sc["hedge_effectiveness"], fmt_prob),
                 td_se(f"{k}.hedge_effectiveness_se", sc["hedge_effectiveness_se"]),
                 (td(f"{k}.es_reduction.{top}", sc["es_reduction"].get(top), fmt_prob)
                  if "es_reduction" in sc else td_na()),
                 td(f"{k}.margin.call_probability", mg["call_probability"], fmt_probability),
                 td_se(f"{k}.margin.call_probability_se", mg["call_probability_se"]),
                 td(f"{k}.margin.liquidation_probability", mg["liquidation_probability"], fmt_probability),
                 td(f"{k}.margin.mean_first_call_day", mg["mean_first_call_day"], fmt_count),
                 td(f"{k}.margin.collateral", mg["collateral"], fmt_money)]
        for p in cfp_keys:
            cfp = mg["collateral_for_call_probability"]
            cells.append(td(f"{k}.margin.collateral_for_call_probability.{p}", cfp[p], fmt_money)
                         if p in cfp else td_na())
        body.append("<tr>" + "".join(cells) + "</tr>")
    margin = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"

    # Optimal hedge ratios and what the stress applied.
    es_levels = []
    for sc in scen:
        for lvl in (sc.get("optimal_hedge_ratio") or sc.get("optimal_hedge_vector") or {}).get("min_es", {}):
            if lvl not in es_levels:
                es_levels.append(lvl)
    es_levels.sort(key=float)
    head = ('<tr><th class="left">Scenario</th><th>Min variance</th>'
            + "".join(f"<th>Min ES {level_label(lvl)}</th>" for lvl in es_levels)
            + "<th>Margin-constrained</th><th>Repair distance</th><th>Funding multiplier</th>"
              '<th>Forced regime</th></tr>')
    body = []
    shocks = []
    for sc in scen:
        k = f"scenarios[{sc['name']}]"
        ohr = sc.get("optimal_hedge_ratio")
        vec = sc.get("optimal_hedge_vector")
        ap = sc["applied"]
        cells = [f'<td class="name">{esc(sc["name"])}</td>']
        if vec is not None:  # several legs: each optimum a vector, printed in leg order
            cells.append(td_vector(f"{k}.optimal_hedge_vector.min_variance", vec["min_variance"]))
            for lvl in es_levels:
                cells.append(td_vector(f"{k}.optimal_hedge_vector.min_es.{lvl}", vec["min_es"][lvl])
                             if lvl in vec["min_es"] else td_na())
            cells.append(td_vector(f"{k}.optimal_hedge_vector.margin_constrained", vec["margin_constrained"]))
        elif ohr is None:
            cells += [td_na() for _ in range(len(es_levels) + 2)]
        else:
            cells.append(td(f"{k}.optimal_hedge_ratio.min_variance", ohr["min_variance"], fmt_prob))
            for lvl in es_levels:
                cells.append(td(f"{k}.optimal_hedge_ratio.min_es.{lvl}", ohr["min_es"][lvl], fmt_prob)
                             if lvl in ohr["min_es"] else td_na())
            cells.append(td(f"{k}.optimal_hedge_ratio.margin_constrained", ohr["margin_constrained"], fmt_prob))
        cells.append(td(f"{k}.applied.repair_distance", ap["repair_distance"], fmt_prob))
        fm = ap.get("funding_multiplier")
        cells.append(td(f"{k}.applied.funding_multiplier", fm, fmt_prob)
                     if isinstance(fm, (int, float)) and not isinstance(fm, bool) else td_na())
        forced = ap.get("forced_regime")
        cells.append(td(f"{k}.applied.forced_regime", forced, fmt_text) if isinstance(forced, str) else td_na())
        body.append("<tr>" + "".join(cells) + "</tr>")
        shock = ap.get("shock")
        if isinstance(shock, dict) and shock:
            parts = ", ".join(f"{esc(sym)} {float(v) * 100:+.2f}%" for sym, v in shock.items()
                              if isinstance(v, (int, float)))
            shocks.append(f"<b>{esc(sc['name'])}</b>: {parts}")
    ratios = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    shock_note = (f'<p class="note">Instantaneous shocks at t = 0+ (simple returns): {"; ".join(shocks)}.</p>'
                  if shocks else "")

    # Beta tracking of the hedge.
    head = ('<tr><th class="left">Scenario</th><th>Target beta</th><th>Start beta</th>'
            '<th>Mean |beta \u2212 target|</th><th>Mean rebalances</th><th>Mean costs</th></tr>')
    body = []
    for sc in scen:
        k = f"scenarios[{sc['name']}]"
        b = sc["beta"]
        body.append("<tr>" + "".join([
            f'<td class="name">{esc(sc["name"])}</td>',
            td(f"{k}.beta.target", b["target"], fmt_prob),
            td(f"{k}.beta.start", b["start"], fmt_prob),
            td(f"{k}.beta.mean_abs_deviation", b["mean_abs_deviation"], fmt_prob),
            td(f"{k}.beta.mean_rebalances", b["mean_rebalances"], fmt_count),
            td(f"{k}.beta.mean_costs", b["mean_costs"], fmt_money)]) + "</tr>")
    beta = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"

    return ('<section id="scenarios"><h2>Scenarios</h2>'
            '<p class="note">Base first, then the stresses in the order of the book. Losses are positive numbers '
            'in base currency over the horizon; VaR is the loss quantile, ES the mean loss beyond it.</p>'
            f"<h3>Tail losses</h3>{tail}{horizons}{contributions}"
            '<h3>Hedge effectiveness and margin</h3>'
            '<p class="note">Hedge effectiveness = 1 \u2212 Var(hedged P&amp;L) / Var(unhedged P&amp;L), a measure of '
            'variance only; ES reduction = 1 \u2212 hedged ES / unhedged ES, what the hedge does to the tail '
            '(negative: the hedge adds to it). '
            '\u00b1 columns are one standard error.</p>'
            f"{margin}{scenario_legs_tables(d)}"
            '<h3>Optimal hedge ratios and applied stress</h3>'
            '<p class="note">Ratios are static hedges, short hedge notional / portfolio value held from t0, '
            'whatever the book\'s own mode, on common random numbers. With collateral auto, sized for the '
            'book\'s own hedge, the margin-constrained ratio reflects that sizing. '
            'Repair distance is the Frobenius distance to the nearest correlation matrix.'
            + (f' With several legs each optimum is a vector of ratios, one per leg in the order '
               f'{esc(" / ".join(d["legs"]))}; the hedge-ratio section has them in full, with standard errors.'
               if d["legs"] is not None else "")
            + '</p>'
            f"{ratios}{shock_note}"
            f"<h3>Beta tracking</h3>{beta}</section>")


def contributions_tables(scen, legs=None):
    """Euler contributions: the first scenario's in full, then the ES part of every scenario side by side.
    With several legs (`legs`, their names) each leg is a component in place of the one hedge."""
    with_c = [sc for sc in scen if "contributions" in sc]
    if not with_c:
        return ""
    first = with_c[0]
    fc = first["contributions"]
    label = level_label(fc["level"])
    k0 = f"scenarios[{first['name']}].contributions"
    head = (f'<tr><th class="left">Component</th><th>ES part {label}</th><th>VaR part {label}</th>'
            f'<th>Standalone ES {label}</th><th>Marginal ES</th></tr>')
    body = []
    for name in fc["es"]:
        body.append("<tr>" + "".join([
            f'<th class="left">{esc(name)}</th>',
            td(f"{k0}.es.{name}", fc["es"][name], fmt_money),
            td(f"{k0}.var.{name}", fc["var"][name], fmt_money),
            td(f"{k0}.standalone_es.{name}", fc["standalone_es"][name], fmt_money),
            td(f"{k0}.marginal_es.{name}", fc["marginal_es"][name], fmt_prob)]) + "</tr>")
    full = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    across = ""
    if len(with_c) > 1:
        names = []
        for sc in with_c:
            for name in sc["contributions"]["es"]:
                if name not in names:
                    names.append(name)
        head = ('<tr><th class="left">Component</th>'
                + "".join(f"<th>ES part {level_label(sc['contributions']['level'])}: {esc(sc['name'])}</th>"
                          for sc in with_c) + "</tr>")
        body = []
        for name in names:
            cells = [f'<th class="left">{esc(name)}</th>']
            for sc in with_c:
                es = sc["contributions"]["es"]
                cells.append(td(f"scenarios[{sc['name']}].contributions.es.{name}", es[name], fmt_money)
                             if name in es else td_na())
            body.append("<tr>" + "".join(cells) + "</tr>")
        across = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    if legs is None:
        parts = ('each asset\'s P&amp;L on the original holdings and the hedge leg (everything the hedge programme '
                 'did: hedge P&amp;L, funding, costs, margin actions, top-up sales)')
        per_unit = "the hedge: per unit of its signed notional"
    else:
        parts = ('each asset\'s P&amp;L on the original holdings and each hedge leg (its P&amp;L, funding and '
                 'costs), with margin actions, when the book has any, as a component of their own')
        per_unit = "a hedge leg: per unit of its signed notional"
    return ('<h3>Risk contributions</h3><p class="note">Euler allocation of the hedged loss at the highest level: '
            f'{parts}. The ES parts sum to the hedged ES, the '
            'VaR parts to the hedged VaR; standalone ES is the component\'s own loss alone; marginal ES is the ES '
            f'part per unit of currency held at t0 ({per_unit}). In full for '
            f'{esc(first["name"])}, then the ES parts of every scenario.</p>{full}{across}')


# Labels and formats of a leg's instrument terms (hedge.legs[i].funding_rate_8h / future / option);
# a term not named here prints under its key, as a number of six significant digits.
LEG_TERMS = {
    "expiry_days": ("Expiry (days)", fmt_int), "roll_days_before": ("Roll days before", fmt_int),
    "roll_cost_bps": ("Roll cost (bps)", fmt_count), "kind": ("Option kind", fmt_text),
    "strike": ("Strike (x spot)", fmt_prob), "tenor_days": ("Tenor (days)", fmt_int),
    "implied_vol_premium": ("Implied vol premium", fmt_prob), "rate": ("Rate", fmt_prob),
}


def leg_terms_rows(i, leg):
    """(label, cell) of leg i's costs and instrument terms, tagged hedge.legs.<i>.<term>."""
    k = f"hedge.legs.{i}"
    rows = []
    for label, key in (("Fee (bps)", "fee_bps"), ("Slippage (bps)", "slippage_bps")):
        if key in leg:
            rows.append((label, td(f"{k}.{key}", leg[key], fmt_count)))
    for regime, rate in (leg.get("funding_rate_8h") or {}).items():
        rows.append((f"Funding per 8 h, {esc(regime)} (paid by longs)", td(f"{k}.funding_rate_8h.{regime}", rate,
                                                                         fmt_small)))
    for block in ("future", "option"):
        for key, value in (leg.get(block) or {}).items():
            if isinstance(value, dict):  # per regime: the future's annual basis
                for regime, v in value.items():
                    name = "Annual basis" if key == "annual_basis" else esc(key)
                    rows.append((f"{name}, {esc(regime)}", td(f"{k}.{block}.{key}.{regime}", v, fmt_small)))
            else:
                label, fmt = LEG_TERMS.get(key, (esc(key), fmt_small if not isinstance(value, str) else fmt_text))
                rows.append((label, td(f"{k}.{block}.{key}", value, fmt)))
    return rows


def accounts_table(scen, per_scenario=True):
    """The margin accounts (one for cross margin, one per leg when isolated) of each scenario in scen;
    per_scenario adds a scenario column."""
    cfp_keys = []
    for sc in scen:
        for a in sc["margin"]["accounts"]:
            for p in a["collateral_for_call_probability"]:
                if p not in cfp_keys:
                    cfp_keys.append(p)
    head = (('<tr><th class="left">Scenario</th>' if per_scenario else "<tr>")
            + '<th class="left">Account</th><th class="left">Legs</th><th>Collateral</th>'
            '<th colspan="2">Call probability</th>'
            + "".join(f"<th>Collateral for call prob. \u2264 {esc(p)}</th>" for p in cfp_keys) + "</tr>")
    body = []
    for sc in scen:
        k = f"scenarios[{sc['name']}].margin.accounts"
        accounts = sc["margin"]["accounts"]
        for i, a in enumerate(accounts):
            cfp = a["collateral_for_call_probability"]
            name = ""
            if per_scenario and i == 0:
                name = f'<td class="name" rowspan="{len(accounts)}">{esc(sc["name"])}</td>'
            body.append("<tr>" + name + "".join(
                [td(f"{k}.{i}.name", a["name"], fmt_text),
                 f'<td class="txt">{esc(", ".join(a["legs"]))}</td>',
                 td(f"{k}.{i}.collateral", a["collateral"], fmt_money),
                 td(f"{k}.{i}.call_probability", a["call_probability"], fmt_probability),
                 td_se(f"{k}.{i}.call_probability_se", a["call_probability_se"])]
                + [td(f"{k}.{i}.collateral_for_call_probability.{p}", cfp[p], fmt_money) if p in cfp else td_na()
                   for p in cfp_keys]) + "</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def legs_tables(d):
    """Page one, a hedge of several legs: each leg's terms and the base scenario's figures for it,
    its costs and instrument terms, and the base scenario's margin accounts."""
    s = d["summary"]
    base = s["scenarios"][0]
    bk = f"scenarios[{base['name']}]"
    terms = s["hedge"]["legs"]
    static = s["hedge"].get("mode") != "dynamic"
    head = ('<tr><th class="left">Leg</th><th>Instrument</th><th>Underlying</th>'
            f'<th>{"Hedge ratio" if static else "Allocation weight"}</th><th>Account</th>'
            f'<th>Mean P&amp;L</th><th>Mean costs</th><th>Mean funding</th></tr>')
    body, extra = [], []
    for i, leg in enumerate(terms):
        k = f"hedge.legs.{i}"
        figures = base["legs"][i]
        # A static leg holds a ratio; a dynamic one a weight (none under allocation min_variance).
        share = next((key for key in ("ratio", "weight") if key in leg), None)
        body.append("<tr>" + "".join([
            td(f"{k}.name", leg["name"], fmt_text).replace('class="txt"', 'class="txt name"'),
            td(f"{k}.instrument", leg["instrument"], fmt_text),
            td(f"{k}.benchmark", leg["benchmark"], fmt_text),
            td(f"{k}.{share}", leg[share], fmt_prob) if share else td_na(),
            td(f"{k}.account", leg["account"], fmt_text),
            td(f"{bk}.legs.{i}.mean_pnl", figures["mean_pnl"], fmt_money),
            td(f"{bk}.legs.{i}.mean_costs", figures["mean_costs"], fmt_money),
            td(f"{bk}.legs.{i}.mean_funding", figures["mean_funding"], fmt_money)]) + "</tr>")
        rows = leg_terms_rows(i, leg)
        for j, (label, cell) in enumerate(rows):
            name = f'<td class="name" rowspan="{len(rows)}">{esc(leg["name"])}</td>' if j == 0 else ""
            extra.append(f'<tr>{name}<th class="left">{label}</th>{cell}</tr>')
    legs = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    terms_table = (f'<table class="kv"><thead><tr><th class="left">Leg</th><th class="left">Term</th><th></th></tr>'
                   f'</thead><tbody>{"".join(extra)}</tbody></table>' if extra else "")
    mode = s["hedge"]["margin"]["mode"]
    return ("<h3>Hedge legs</h3>"
            f"{legs}"
            f'<p class="note">Mean P&amp;L, costs and funding over the horizon in the {esc(base["name"])} scenario; '
            'a leg\'s P&amp;L includes its costs and funding. '
            + ("Ratios: the leg's notional / portfolio value: short for a perpetual or future, bought for "
               "an option (negative: written). Mean funding is the funding paid (negative: received)." if static else
               f"Weights: the leg's share of each beta trade (hedge.allocation "
               f"{esc(s['hedge'].get('allocation', 'weights'))}). Mean funding is the funding paid "
               "(negative: received).")
            + "</p>"
            + (f"<h3>Leg costs and terms</h3>{terms_table}" if terms_table else "")
            + f"<h3>Margin accounts ({esc(mode)})</h3>{accounts_table([base], per_scenario=False)}"
            + '<p class="note">'
            + ("One account holds every leg: their P&amp;L nets before a margin call is tested."
               if mode == "cross" else "Each leg has an account of its own, called on its own P&amp;L.")
            + " Collateral is the account's starting amount; the call probability is the share of paths on "
              "which the account met a margin call over the horizon, \u00b1 one standard error.</p>")


def scenario_legs_tables(d):
    """Scenarios section, several legs: every scenario's per-leg figures and margin accounts."""
    if d["legs"] is None:
        return ""
    scen = d["summary"]["scenarios"]
    levels = [sc["contributions"]["level"] for sc in scen if "contributions" in sc]
    label = f" {level_label(levels[0])}" if levels and len(set(levels)) == 1 else ""
    head = ('<tr><th class="left">Scenario</th><th class="left">Leg</th><th>Mean P&amp;L</th><th>Stdev P&amp;L</th>'
            f'<th>Mean costs</th><th>Mean funding</th><th>ES contribution{label}</th></tr>')
    body = []
    for sc in scen:
        k = f"scenarios[{sc['name']}].legs"
        for i, leg in enumerate(sc["legs"]):
            body.append("<tr>" + "".join([
                f'<td class="name" rowspan="{len(sc["legs"])}">{esc(sc["name"])}</td>' if i == 0 else "",
                td(f"{k}.{i}.name", leg["name"], fmt_text),
                td(f"{k}.{i}.mean_pnl", leg["mean_pnl"], fmt_money),
                td(f"{k}.{i}.stdev_pnl", leg["stdev_pnl"], fmt_money),
                td(f"{k}.{i}.mean_costs", leg["mean_costs"], fmt_money),
                td(f"{k}.{i}.mean_funding", leg["mean_funding"], fmt_money),
                td(f"{k}.{i}.pnl_es_contribution", leg["pnl_es_contribution"], fmt_money)]) + "</tr>")
    legs = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    accounts = accounts_table(scen)
    return ("<h3>Hedge legs</h3>"
            '<p class="note">Each leg\'s P&amp;L over the horizon, its costs and funding inside it; the ES '
            "contribution is the leg's Euler part of the hedged ES (the risk contributions above).</p>"
            f"{legs}<h3>Margin accounts ({esc(d['summary']['hedge']['margin']['mode'])})</h3>{accounts}")


def hedge_vector_table(scen, legs, levels, per_scenario=True):
    """The optimal hedge vectors (optimal_hedge_vector) of the scenarios that have one: a column per
    leg; rows minimum variance with its standard errors, minimum ES per level, margin-constrained;
    the last column the stdev or ES the optimum reaches. per_scenario adds a scenario column."""
    head = (('<tr><th class="left">Scenario</th>' if per_scenario else "<tr>") + '<th class="left">Optimum</th>'
            + "".join(f"<th>{esc(name)}</th>" for name in legs) + "<th>Stdev or ES at the optimum</th></tr>")
    body = []
    for sc in scen:
        vec = sc.get("optimal_hedge_vector")
        if vec is None:
            continue
        k = f"scenarios[{sc['name']}].optimal_hedge_vector"
        at_es = vec.get("es_at_min_es") or {}
        rows = [("Minimum variance",
                 [td(f"{k}.min_variance.{i}", v, fmt_prob) for i, v in enumerate(vec["min_variance"])],
                 td(f"{k}.stdev_at_min_variance", vec["stdev_at_min_variance"], fmt_money)
                 if "stdev_at_min_variance" in vec else "<td></td>"),
                ("\u2003standard error", [td_se(f"{k}.min_variance_se.{i}", v)
                                          for i, v in enumerate(vec["min_variance_se"])], "<td></td>")]
        for lvl in sorted(vec["min_es"], key=float):
            rows.append((f"Minimum ES {level_label(lvl)}",
                         [td(f"{k}.min_es.{lvl}.{i}", v, fmt_prob) for i, v in enumerate(vec["min_es"][lvl])],
                         td(f"{k}.es_at_min_es.{lvl}", at_es[lvl], fmt_money) if lvl in at_es else "<td></td>"))
        mc = vec["margin_constrained"]
        rows.append(("Margin-constrained",
                     [td(f"{k}.margin_constrained.{i}", v, fmt_prob) for i, v in enumerate(mc)] if mc is not None
                     else [f'<td class="num na" colspan="{len(legs)}" data-key="{esc(k)}.margin_constrained">'
                           f'{EM_DASH}</td>'], "<td></td>"))
        for j, (label, cells, at) in enumerate(rows):
            name = ""
            if per_scenario:
                name = f'<td class="name" rowspan="{len(rows)}">{esc(sc["name"])}</td>' if j == 0 else ""
            body.append(f'<tr>{name}<th class="left">{label}</th>{"".join(cells)}{at}</tr>')
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def section_replays(d):
    """Each replay: a table row, and a chart of its daily path (P&L since the open; the hedge
    account's equity, with the day of a margin call marked)."""
    replays = d["replays"]
    if not replays:
        return ""
    head = ('<tr><th class="left">Replay</th><th>Window</th><th>Days</th><th>Unhedged P&amp;L</th>'
            '<th>Hedged P&amp;L</th><th>Margin call</th><th>Liquidated</th><th>Min equity</th>'
            '<th>Collateral</th><th>Costs</th><th>Rebalances</th></tr>')
    body, figures = [], []
    for r in replays:
        k = f"scenarios[{r['name']}]"
        mg = r["margin"]
        if mg["called"]:
            call = td(f"{k}.margin.first_call_date", mg["first_call_date"], fmt_text).replace('class="txt"',
                                                                                              'class="txt flag"')
        else:
            call = '<td class="txt">none</td>'
        body.append("<tr>" + "".join([
            f'<td class="name">{esc(r["name"])}</td>',
            f'<td class="txt">{esc(r["replay"]["from"])} to {esc(r["replay"]["to"])}</td>',
            td(f"{k}.replay.days", r["replay"]["days"], fmt_int),
            td(f"{k}.unhedged.pnl", r["unhedged"]["pnl"], fmt_money),
            td(f"{k}.hedged.pnl", r["hedged"]["pnl"], fmt_money),
            call,
            f'<td class="txt">{"yes" if mg["liquidated"] else "no"}</td>',
            td(f"{k}.margin.min_equity", mg["min_equity"], fmt_money),
            td(f"{k}.margin.collateral", mg["collateral"], fmt_money),
            td(f"{k}.beta.costs", r["beta"]["costs"], fmt_money),
            td(f"{k}.beta.rebalances", r["beta"]["rebalances"], fmt_int)]) + "</tr>")

        rows = r["path"]
        dates = np.array([np.datetime64(p["date"], "D") for p in rows])
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
        ax1.plot(dates, [p["pnl_unhedged"] for p in rows], color="#c0504d", linewidth=1.6, marker="o",
                 markersize=3, label="unhedged")
        ax1.plot(dates, [p["pnl_hedged"] for p in rows], color="#2f6db5", linewidth=1.6, marker="o",
                 markersize=3, label="hedged")
        ax1.axhline(0, color="#555555", linewidth=0.8)
        ax1.set_ylabel("P&L since the open (base currency)")
        ax1.set_title(f"Replay {r['name']}: P&L path")
        ax2.plot(dates, [p["equity"] for p in rows], color="#4f7f3a", linewidth=1.6, marker="o", markersize=3,
                 label="hedge account equity")
        ax2.set_ylabel("equity (base currency)")
        ax2.set_title(f"Replay {r['name']}: hedge account")
        for ax in (ax1, ax2):
            if mg["called"]:
                ax.axvline(np.datetime64(mg["first_call_date"], "D"), color="#c26a00", linestyle="--", linewidth=1.3,
                           label=f"margin call {mg['first_call_date']}")
            ax.yaxis.set_major_formatter(FuncFormatter(compact_money))
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=9, frameon=False)
            for label in ax.get_xticklabels():
                label.set_rotation(30)
                label.set_horizontalalignment("right")
        regimes = r["replay"]["regimes"]
        runs = []
        for day, name in enumerate(regimes):
            if runs and runs[-1][0] == name:
                runs[-1][2] = day
            else:
                runs.append([name, day, day])
        sequence = ", ".join(f"{esc(n)} (day {a})" if a == b else f"{esc(n)} (days {a}–{b})" for n, a, b in runs)
        figures.append(figure_html(fig, f"P&L path and hedge account of replay {r['name']}",
                                   f"From summary.json (and replay_paths.csv): day 0 is {esc(rows[0]['date'])}, "
                                   f"the hedge just opened. Regimes: {sequence}."))
    table = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    return ('<section id="replays"><h2>History replays</h2>'
            '<p class="note">Today\'s book, hedge rules, funding and margin through the actual daily returns of '
            'each window of the prices file, one deterministic path each, not a distribution. Each day\'s regime '
            '(its funding, basis and implied vol) is the model\'s filtered most likely regime given the window\'s '
            'returns; intraday steps split a day\'s return evenly. A margin call here is what would have '
            'happened.</p>'
            f"{table}{''.join(figures)}</section>")


def section_pnl(d):
    pnl = d["pnl"]
    base = d["summary"]["scenarios"][0]
    top = max(d["levels"], key=float)
    lo = np.array([r["bin_lo"] for r in pnl])
    hi = np.array([r["bin_hi"] for r in pnl])
    edges = np.append(lo, hi[-1])
    peak = max(max(r["unhedged_density"], r["hedged_density"]) for r in pnl)
    # Densities per unit of P&L are tiny (1e-6 for a book in millions): print them per 10^k units.
    exponent = int(math.floor(math.log10(peak))) if peak > 0 else 0
    scale = 10.0 ** -exponent
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for col, label, color in (("unhedged_density", "unhedged", "#c0504d"), ("hedged_density", "hedged", "#2f6db5")):
        dens = np.array([r[col] for r in pnl]) * scale
        ax.stairs(dens, edges, color=color, linewidth=1.6, label=f"{label} P&L")
        ax.stairs(dens, edges, color=color, alpha=0.12, fill=True)
    for side, color, style in (("unhedged", "#c0504d", "--"), ("hedged", "#2f6db5", "--")):
        v = base[side]["var"][top]
        ax.axvline(-v, color=color, linestyle=style, linewidth=1.3,
                   label=f"{side} VaR {level_label(top)}: {fmt_money(v)}")
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(compact_money))
    ax.set_xlabel("P&L over the horizon (base currency)")
    unit = "" if exponent == 0 else f"\u00d710$^{{{exponent}}}$ "
    ax.set_ylabel(f"density ({unit}per unit of P&L)")
    ax.set_title(f"P&L distribution, scenario {base['name']}: hedged vs unhedged")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    ax.set_ylim(bottom=0)
    return ('<section id="pnl"><h2>P&amp;L distribution (base)</h2>'
            + figure_html(fig, "P&L distribution of the base scenario, hedged and unhedged",
                          f"Histogram densities from pnl_distribution.csv; dashed lines: VaR {level_label(top)} "
                          f"(as a P&amp;L of \u2212VaR) from summary.json.")
            + "</section>")


def scenario_colors(names):
    cmap = plt.get_cmap("tab10")
    return {n: ("#222222" if i == 0 else cmap((i - 1) % 10)) for i, n in enumerate(names)}


def section_hedge_curve(d):
    if d["curve"] is None:  # several legs: the ES surface stands in for the curve
        return section_hedge_surface(d)
    curve, levels = d["curve"], d["levels"]
    top = max(levels, key=float)
    summary_names = [s["name"] for s in d["summary"]["scenarios"]]
    names = summary_names + [n for n in dict.fromkeys(r["scenario"] for r in curve) if n not in summary_names]
    names = [n for n in names if any(r["scenario"] == n for r in curve)]
    colors = scenario_colors(names)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    lower = [lvl for lvl in levels if lvl != top]
    for n in names:
        rows = sorted((r for r in curve if r["scenario"] == n), key=lambda r: r["ratio"])
        x = [r["ratio"] for r in rows]
        ax1.plot(x, [r[f"es_{top}"] for r in rows], color=colors[n], linewidth=1.8,
                 label=f"{n}: ES {level_label(top)}, call probability")
        if n == names[0]:
            for j, lvl in enumerate(lower):
                ax1.plot(x, [r[f"es_{lvl}"] for r in rows], color=colors[n], linewidth=1.2,
                         linestyle=[":", "-.", (0, (5, 2))][j % 3], label=f"{n}: ES {level_label(lvl)}")
        ax2.plot(x, [r["call_probability"] for r in rows], color=colors[n], linewidth=1.8)
    base = d["summary"]["scenarios"][0]
    ohr = base.get("optimal_hedge_ratio")
    marks = []
    if ohr:
        marks.append(("min variance", ohr["min_variance"], "#6b7382", "--"))
        if top in ohr["min_es"]:
            marks.append((f"min ES {level_label(top)}", ohr["min_es"][top], "#b8860b", "-."))
        if ohr["margin_constrained"] is not None:
            marks.append(("margin-constrained", ohr["margin_constrained"], "#2e8b57", ":"))
    for label, x, color, style in marks:
        for ax in (ax1, ax2):
            ax.axvline(x, color=color, linestyle=style, linewidth=1.3,
                       label=f"{names[0] if names else 'base'} optimum, {label}: {fmt_prob(x)}" if ax is ax1 else None)
    ax1.yaxis.set_major_formatter(FuncFormatter(compact_money))
    ax1.set_xlabel("hedge ratio (short notional / portfolio value)")
    ax1.set_ylabel("expected shortfall (loss)")
    ax1.set_title("Expected shortfall against hedge ratio")
    ax1.grid(alpha=0.3)
    ax2.set_xlabel("hedge ratio (short notional / portfolio value)")
    ax2.set_ylabel("margin-call probability")
    ax2.set_title("Margin-call probability against hedge ratio")
    ax2.grid(alpha=0.3)
    ax2.set_ylim(bottom=0)
    fig.tight_layout()
    # One legend under both panels: a run has up to a dozen scenarios, too many to sit on the curves.
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=9, frameon=False)
    return ('<section id="hedge-ratio"><h2>Hedge ratio</h2>'
            + figure_html(fig, "Expected shortfall and margin-call probability against hedge ratio",
                          "From hedge_ratio_curve.csv; vertical lines mark the optimal ratios of the base scenario "
                          "(summary.json optimal_hedge_ratio).")
            + "</section>")


def surface_key(r):
    """A hedge_surface.csv row's data-key prefix: hedge_surface[<scenario>,<ratio_0>,<ratio_1>] as the file
    spells them."""
    return f"hedge_surface[{r['scenario']},{r[('raw', 'ratio_0')]},{r[('raw', 'ratio_1')]}]"



def ratio_meaning(summary, leg_index):
    """What a leg's ratio is, from its instrument (summary.json hedge.legs[i].instrument)."""
    legs = summary.get("hedge", {}).get("legs", [])
    instrument = legs[leg_index].get("instrument") if leg_index < len(legs) else None
    if instrument in ("put", "call"):
        return "bought notional / portfolio value; negative: written"
    return "short notional / portfolio value"


def section_hedge_surface(d):
    """Several legs: in place of the one-ratio curve, the base scenario's ES at the highest level over
    the first two legs' ratios (hedge_surface.csv), a heatmap with contour lines, the optimal
    vectors marked; then every scenario's optimal hedge vector in full."""
    legs, levels = d["legs"], d["levels"]
    top = max(levels, key=float)
    base = d["summary"]["scenarios"][0]
    rows = [r for r in d["surface"] if r["scenario"] == base["name"]]
    xs = sorted(set(r["ratio_0"] for r in rows))
    ys = sorted(set(r["ratio_1"] for r in rows))
    es = np.empty((len(ys), len(xs)))
    for r in rows:
        es[ys.index(r["ratio_1"]), xs.index(r["ratio_0"])] = r[f"es_{top}"]
    lowest = min(rows, key=lambda r: r[f"es_{top}"])

    def edges(v):  # cell edges halfway between grid points, so each cell is centred on its ratio
        v = np.asarray(v)
        mid = (v[1:] + v[:-1]) / 2
        return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])

    fig, ax = plt.subplots(figsize=(8.4, 6.4))
    mesh = ax.pcolormesh(edges(xs), edges(ys), es, cmap="viridis_r", shading="flat")
    bar = fig.colorbar(mesh, ax=ax, format=FuncFormatter(compact_money))
    bar.set_label(f"ES {level_label(top)} (loss, base currency)")
    # Contours at set steps above the grid's lowest ES, dense near the bottom of the bowl where the
    # choice between nearby vectors is made.
    floor = float(es.min())
    steps = [f for f in (1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0) if floor * f < float(es.max())]
    if floor > 0 and steps:
        contours = ax.contour(xs, ys, es, levels=[floor * f for f in steps], colors="white", linewidths=0.8,
                              alpha=0.9)
        ax.clabel(contours, fmt=lambda v: f"+{(v / floor - 1) * 100:.0f}%", fontsize=7, colors="white")
    vec = base.get("optimal_hedge_vector")
    marks = []  # (label, field of optimal_hedge_vector, vector, marker, colour)
    if vec is not None:
        marks.append(("min variance", "min_variance", vec["min_variance"], "o", "#d9d9d9"))
        if top in vec["min_es"]:
            marks.append((f"min ES {level_label(top)}", f"min_es.{top}", vec["min_es"][top], "*", "#ffb000"))
        if vec["margin_constrained"] is not None:
            marks.append(("margin-constrained", "margin_constrained", vec["margin_constrained"], "s", "#5ec26a"))
    # The optima often lie close together: each label sits at its own height (the highest mark's
    # highest), on the side of the mark away from the nearer edge, joined to its mark.
    by_height = sorted(range(len(marks)), key=lambda j: -marks[j][2][1])
    offsets = {}
    for rank, j in enumerate(by_height):
        x = marks[j][2][0]
        offsets[j] = (45 if x <= (xs[0] + xs[-1]) / 2 else -45, 40 - 40 * rank)
    for j, (label, _, v, marker, color) in enumerate(marks):
        offset = offsets[j]
        text = f"{label} ({fmt_prob(v[0])}, {fmt_prob(v[1])})"
        ax.scatter([v[0]], [v[1]], marker=marker, s=220 if marker == "*" else 90, color=color, edgecolor="black",
                   linewidth=1.0, zorder=4, label=text)
        ax.annotate(label, (v[0], v[1]), textcoords="offset points", xytext=offset, fontsize=9, color="black",
                    ha="left" if offset[0] > 0 else "right", va="center",
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
                    arrowprops={"arrowstyle": "-", "color": "black", "linewidth": 0.8}, zorder=5)
    ax.set_xlabel(f"{legs[0]} ratio ({ratio_meaning(d['summary'], 0)})")
    ax.set_ylabel(f"{legs[1]} ratio ({ratio_meaning(d['summary'], 1)})")
    ax.set_title(f"ES {level_label(top)} over the ratios of {legs[0]} and {legs[1]}, scenario {base['name']}")
    if marks:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(marks), fontsize=9, frameon=False)
    fig.tight_layout()

    # The caption names what is marked and the grid's lowest point, each number tagged.
    k = f"scenarios[{base['name']}].optimal_hedge_vector"
    marked = [f'{esc(label)} (<span data-key="{esc(k)}.{field}.0">{esc(fmt_prob(v[0]))}</span>, '
              f'<span data-key="{esc(k)}.{field}.1">{esc(fmt_prob(v[1]))}</span>)'
              for label, field, v, _, _ in marks]
    sk = surface_key(lowest)
    others = legs[2:]
    held = (f"The other legs ({esc(', '.join(others))}) are held at their min-ES ratios."
            if others else "The hedge has these two legs only (with more, the others are held at their min-ES "
                           "ratios).")
    caption = (f"From hedge_surface.csv, scenario {esc(base['name'])}: ES {level_label(top)} of a static hedge held "
               f"from t0 at each pair of ratios of {esc(legs[0])} and {esc(legs[1])}, on common random numbers. "
               f"{held} Margin calls are not in the surface: each point is a static hedge without margin action. "
               f"Contours: ES above the grid's lowest, in percent. "
               + (f"Marked (summary.json optimal_hedge_vector, first two legs): {'; '.join(marked)}. " if marked
                  else "")
               + f'Lowest ES on the grid: <span data-key="{esc(sk)}.es_{top}">{esc(fmt_money(lowest[f"es_{top}"]))}'
               f'</span> at (<span data-key="{esc(sk)}.ratio_0">{esc(fmt_prob(lowest["ratio_0"]))}</span>, '
               f'<span data-key="{esc(sk)}.ratio_1">{esc(fmt_prob(lowest["ratio_1"]))}</span>).')
    vectors = ""
    if any("optimal_hedge_vector" in sc for sc in d["summary"]["scenarios"]):
        vectors = ("<h3>Optimal hedge vectors</h3>"
                   '<p class="note">One ratio per leg (short notional of the leg / portfolio value), static hedges '
                   "held from t0, on common random numbers; \u00b1 is one standard error; the last column is the "
                   "hedged P&amp;L's standard deviation at the minimum-variance vector and the ES each minimum-ES "
                   "vector reaches.</p>"
                   + hedge_vector_table(d["summary"]["scenarios"], legs, levels))
    return ('<section id="hedge-ratio"><h2>Hedge ratios: expected shortfall surface</h2>'
            + figure_html(fig, f"Expected shortfall {level_label(top)} over the hedge ratios of {legs[0]} and "
                               f"{legs[1]}, base scenario", caption)
            + vectors + "</section>")


def band_key(r):
    """A pair's data-key prefix: bands[<target_beta>,<band>] as bands.csv spells them."""
    return f"bands[{r[('raw', 'target_beta')]},{r[('raw', 'band')]}]"


def section_bands(d):
    bands, levels = d["bands"], d["levels"]
    top = max(levels, key=float)
    head = ("<tr><th>Target beta</th><th>Band</th><th>Mean |beta \u2212 target|</th><th>Mean rebalances</th>"
            "<th>Mean costs</th>"
            + "".join(f"<th>{m} {level_label(lvl)}</th>" for lvl in levels for m in ("VaR", "ES"))
            + "<th>Call probability</th><th>Frontier</th><th></th></tr>")
    body = []
    for r in bands:
        k = band_key(r)
        rec = r["recommended"] == 1
        cells = [td(f"{k}.target_beta", r["target_beta"], fmt_prob),
                 td(f"{k}.band", r["band"], fmt_prob),
                 td(f"{k}.mean_abs_deviation", r["mean_abs_deviation"], fmt_prob),
                 td(f"{k}.mean_rebalances", r["mean_rebalances"], fmt_count),
                 td(f"{k}.mean_costs", r["mean_costs"], fmt_money)]
        for lvl in levels:
            for m in ("var", "es"):
                cells.append(td(f"{k}.{m}_{lvl}", r[f"{m}_{lvl}"], fmt_money))
        cells.append(td(f"{k}.call_probability", r["call_probability"], fmt_probability))
        cells.append('<td class="flag">\u25cf</td>' if r["on_frontier"] == 1 else "<td></td>")
        cells.append('<td class="flag">\u25c0 recommended</td>' if rec else "<td></td>")
        body.append(f'<tr{" class=recommended" if rec else ""}>' + "".join(cells) + "</tr>")
    table = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"

    # Left: the frontier, hedged ES at the top level against mean cost, a colour per target and
    # each point labelled with its band. Right: tracking error against band, a line per target.
    targets = sorted(set(r["target_beta"] for r in bands))
    cmap = plt.get_cmap("tab10")
    colors = {t: cmap(i % 10) for i, t in enumerate(targets)}
    rec = next(r for r in bands if r["recommended"] == 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    for t in targets:
        rows = sorted((r for r in bands if r["target_beta"] == t), key=lambda r: r["band"])
        ax1.scatter([r["mean_costs"] for r in rows], [r[f"es_{top}"] for r in rows], color=colors[t], s=28,
                    zorder=3, label=f"target beta {t:g}")
        for r in rows:
            ax1.annotate(f"{r['band']:g}", (r["mean_costs"], r[f"es_{top}"]), textcoords="offset points",
                         xytext=(4, 3), fontsize=7, color="#555555")
        x = [r["band"] for r in rows]
        ax2.plot(x, [r["mean_abs_deviation"] for r in rows], "o-", color=colors[t], linewidth=1.6,
                 label=f"target beta {t:g}")
    # The frontier's pairs ringed (a frontier of one pair is still seen) and joined by cost.
    front = sorted((r for r in bands if r["on_frontier"] == 1), key=lambda r: (r["mean_costs"], r[f"es_{top}"]))
    if len(front) > 1:
        ax1.plot([r["mean_costs"] for r in front], [r[f"es_{top}"] for r in front], "--", color="#6b7382",
                 linewidth=1.2, zorder=2)
    if front:
        ax1.scatter([r["mean_costs"] for r in front], [r[f"es_{top}"] for r in front], s=110, facecolor="none",
                    edgecolor="#3a3f4a", linewidth=1.1, zorder=3, label="efficient frontier")
    rec_label = f"recommended: target beta {rec['target_beta']:g}, band {rec['band']:g}"
    ax1.scatter([rec["mean_costs"]], [rec[f"es_{top}"]], marker="*", s=260, facecolor="none", edgecolor="#b8860b",
                linewidth=1.6, zorder=4, label=rec_label)
    ax2.scatter([rec["band"]], [rec["mean_abs_deviation"]], marker="*", s=260, facecolor="none",
                edgecolor="#b8860b", linewidth=1.6, zorder=4)
    ax1.xaxis.set_major_formatter(FuncFormatter(compact_money))
    ax1.yaxis.set_major_formatter(FuncFormatter(compact_money))
    ax1.set_xlabel("mean costs (base currency)")
    ax1.set_ylabel(f"hedged ES {level_label(top)} (loss)")
    ax1.set_title(f"Frontier: hedged ES {level_label(top)} against mean cost")
    ax1.grid(alpha=0.3)
    all_bands = sorted(set(r["band"] for r in bands))
    if min(all_bands) > 0 and max(all_bands) / min(all_bands) >= 8:
        ax2.set_xscale("log")
    ax2.set_xticks(all_bands)
    ax2.set_xticklabels([f"{v:g}" for v in all_bands])
    ax2.minorticks_off()
    ax2.set_xlabel("band width around target beta")
    ax2.set_ylabel("mean |beta \u2212 target|")
    ax2.set_title("Beta tracking error against band width")
    ax2.set_ylim(bottom=0)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=9, frameon=False)

    pick = d["summary"].get("bands")
    if pick is not None:
        rec_text = (f'target beta <b data-key="bands.recommended.target_beta">'
                    f'{esc(fmt_prob(pick["recommended"]["target_beta"]))}</b>, band '
                    f'<b data-key="bands.recommended.band">{esc(fmt_prob(pick["recommended"]["band"]))}</b>')
        rule = f'<p class="note">Rule: <span data-key="bands.rule">{esc(pick["rule"])}</span>.</p>'
    else:
        rec_text = f"target beta <b>{fmt_prob(rec['target_beta'])}</b>, band <b>{fmt_prob(rec['band'])}</b>"
        rule = ""
    return ('<section id="bands"><h2>Target-beta bands</h2>'
            f'<p class="note">Recommended pair: {rec_text} (highlighted). Risk columns are hedged; '
            f'\u25cf marks the efficient frontier: no other pair has both a lower hedged ES {level_label(top)} '
            'and a lower mean cost (one lower, the other no higher).</p>'
            + rule
            + table
            + figure_html(fig, "Hedged expected shortfall against mean cost per target beta and band, and beta "
                               "tracking error against band width",
                          "From bands.csv; points labelled with their band; the star marks the recommended pair.")
            + "</section>")


def section_regimes(d):
    if d["regimes"] is None:
        return ('<section id="regimes"><h2>Regime probabilities</h2>'
                '<p>No regimes.csv in this run: the model was loaded from a file rather than calibrated, '
                'so there is no filtered regime history to show.</p></section>')
    rows = d["regimes"]
    names = d["regime_names"]
    dates = np.array([r["date"] for r in rows])
    probs = np.array([[r[f"filtered_{n}"] for r in rows] for n in names])
    colors = plt.get_cmap("coolwarm")(np.linspace(0.1, 0.9, len(names))) if len(names) > 1 else ["#2f6db5"]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.stackplot(dates, probs, labels=[f"filtered P({n})" for n in names], colors=colors, alpha=0.85,
                 step="post" if len(rows) < 60 else None)
    ax.set_ylim(0, 1)
    ax.set_xlim(dates[0], dates[-1])
    ax.set_ylabel("probability")
    ax.set_title("Filtered regime probabilities over the price history")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    fig.autofmt_xdate()
    return ('<section id="regimes"><h2>Regime probabilities</h2>'
            + figure_html(fig, "Filtered regime probabilities against date",
                          f"From regimes.csv ({esc(str(dates[0]))} to {esc(str(dates[-1]))}); "
                          "regimes ordered calmest first; stacked to one.")
            + "</section>")


def correlation_colors(c):
    """RdBu_r at correlation c in [-1, 1]: background and a text colour that reads on it."""
    r, g, b, _ = matplotlib.colormaps["RdBu_r"]((c + 1.0) / 2.0)
    text = "white" if abs(c) > 0.6 else "#1d2430"
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}", text


def correlation_table(key, matrix, assets, title):
    """One regime's matrix as a table coloured like a heatmap: the numbers stay text (exact,
    selectable, tagged) and the page needs no image per matrix."""
    head = "".join(f"<th>{esc(a)}</th>" for a in assets)
    rows = []
    for i, row in enumerate(matrix):
        cells = []
        for j, c in enumerate(row):
            background, color = correlation_colors(float(c))
            cells.append(f'<td class="num corr" style="background:{background};color:{color}" '
                         f'data-key="{esc(f"{key}.{i}.{j}")}">{esc(f"{float(c):.2f}")}</td>')
        rows.append(f"<tr><th>{esc(assets[i])}</th>{''.join(cells)}</tr>")
    return (f'<table class="corr"><caption>{esc(title)}</caption><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def section_correlations(d):
    assets, names = d["assets"], d["regime_names"]
    scenarios = d["summary"]["scenarios"]
    base_corr = scenarios[0]["applied"]["corr"]
    same_as_base = [sc["name"] for sc in scenarios[1:] if sc["applied"]["corr"] == base_corr]
    blocks = []
    for sc in scenarios:
        if sc["name"] in same_as_base:
            continue
        forced = sc["applied"].get("forced_regime")
        tables = []
        for r, matrix in enumerate(sc["applied"]["corr"]):
            title = names[r] if r < len(names) else f"regime {r}"
            if forced == title:
                title += " (forced)"
            tables.append(correlation_table(f"scenarios[{sc['name']}].applied.corr.{r}", matrix, assets, title))
        blocks.append(f'<div class="corrset"><h3>{esc(sc["name"])} <span class="sub">(repair distance '
                      f'{td_inline(sc, "applied.repair_distance")})</span></h3>'
                      f'<div class="figrow">{"".join(tables)}</div></div>')
    same = ""
    if same_as_base:
        same = (f'<p class="note">Simulated with the base matrices, not shown again: '
                f'{esc(", ".join(same_as_base))}.</p>')
    return ('<section id="correlations"><h2>Correlation matrices</h2>'
            '<p class="note">The matrices each scenario simulated (summary.json applied.corr), per regime, '
            'after stresses and repair; the base scenario shows the calibrated model. A forced regime '
            'changes which matrix a path uses, not the matrices. Red is +1, blue -1.</p>'
            f'{same}{"".join(blocks)}</section>')


def td_inline(sc, field):
    """A tagged number inside running text: scenario sc's summary.json value at `field`."""
    value = sc
    for part in field.split("."):
        value = value[part]
    key = f"scenarios[{sc['name']}].{field}"
    return f'<span data-key="{esc(key)}">{esc(fmt_prob(value))}</span>'


# ----------------------------------------------------------------------------- backtest

def td_zone(key, zone, light):
    """A zone ('yellow', 'reject at 5%') in a cell coloured as its traffic light."""
    return f'<td class="txt zone zone-{light}" data-key="{esc(key)}">{esc(zone)}</td>'


def td_pvalue(key, value):
    """A test's p-value, marked when it rejects at 5%."""
    cls = "num reject" if value < 0.05 else "num"
    return f'<td class="{cls}" data-key="{esc(key)}">{esc(fmt_probability(value))}</td>'


def backtest_key(field):
    return f"backtest.{field}"

# The book block's keys in the order a committee reads them (others follow, by name), and their labels.
BOOK_ORDER = ("portfolio", "holdings", "notional", "weights", "hedge", "instrument", "benchmark", "mode", "ratio",
              "target_beta", "band", "rebalance_every_days", "allocation", "beta_estimate", "fee_bps", "slippage_bps",
              "funding_rate_8h", "future", "option", "legs", "name", "weight", "margin", "collateral",
              "collateral_sizing", "max_call_probability", "initial_rate", "maintenance_rate", "on_call",
              "risk_levels", "horizon_days", "steps_per_day", "drift", "config")
BOOK_LABELS = {
    "holdings": "Holdings (units)", "notional": "Notional", "weights": "Weights", "instrument": "Instrument",
    "benchmark": "Hedged underlying", "mode": "Mode", "ratio": "Hedge ratio (short notional / value)",
    "target_beta": "Target beta", "band": "Band (|beta \u2212 target|)", "rebalance_every_days": "Beta check every (days)",
    "allocation": "Split among legs", "beta_estimate": "Beta estimate", "fee_bps": "Fee (bps)",
    "slippage_bps": "Slippage (bps)", "funding_rate_8h": "Funding per 8 h (per regime as given)",
    "future": "Future", "option": "Option", "expiry_days": "expiry (days)", "annual_basis": "annual basis",
    "roll_days_before": "roll (days before expiry)", "roll_cost_bps": "roll cost (bps)", "strike": "strike (of spot)",
    "tenor_days": "tenor (days)", "implied_vol_premium": "implied vol premium", "rate": "rate", "name": "name",
    "weight": "weight", "collateral": "Collateral", "collateral_sizing": "Collateral sizing",
    "max_call_probability": "Largest call probability (auto sizing)", "initial_rate": "Initial margin rate",
    "maintenance_rate": "Maintenance margin rate", "on_call": "On a margin call", "mode_margin": "Account",
    "risk_levels": "VaR / ES levels", "horizon_days": "Forecast horizon (days)", "steps_per_day": "Steps per day",
    "drift": "Drift", "config": "Book file",
}
BOOK_GROUPS = (("portfolio", "Portfolio"), ("hedge", "Hedge"), ("margin", "Margin"))


def book_sort_key(key):
    return (BOOK_ORDER.index(key) if key in BOOK_ORDER else len(BOOK_ORDER), key)


def flatten_book(obj, prefix=""):
    """[(dotted key, value)] of a book block's leaves in reading order; a list of numbers or of
    names (funding per regime, risk levels, isolated collateral) is one leaf, a list of objects
    (the legs) is walked by index."""
    out = []
    items = sorted(obj.items(), key=lambda kv: book_sort_key(kv[0])) if isinstance(obj, dict) else list(
        (str(i), v) for i, v in enumerate(obj))
    for key, value in items:
        here = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            out += flatten_book(value, here)
        else:
            out.append((here, value))
    return out


def book_value_format(key, value):
    """How a book value prints: money for a notional or collateral, a probability for a rate, six
    significant digits for the rest (units, bps, betas, funding)."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf in ("notional", "collateral"):
        return fmt_money
    if leaf in ("horizon_days", "steps_per_day", "rebalance_every_days", "expiry_days", "roll_days_before",
                "tenor_days"):
        return fmt_int
    if leaf in ("rate", "initial_rate", "maintenance_rate", "max_call_probability", "target_beta", "band", "ratio",
                "weight") or ".weights." in f".{key}.":
        return fmt_prob
    return fmt_small


def book_label(key):
    parts = key.split(".")
    if parts[0] == "portfolio" and len(parts) == 3:
        return f"{BOOK_LABELS[parts[1]].split(' (')[0]}: {parts[2]}" + (" (units)" if parts[1] == "holdings" else "")
    if len(parts) >= 3 and parts[1] == "legs":
        return f"Leg {int(parts[2]) + 1}: " + " ".join(BOOK_LABELS.get(p, p) for p in parts[3:])
    if parts[0] == "margin" and parts[-1] == "mode":
        return "Account (cross or isolated)"
    return " ".join(BOOK_LABELS.get(p, p) if i == 0 else BOOK_LABELS.get(p, p).lower()
                    for i, p in enumerate(parts[1:] or parts))


def backtest_book_table(bt):
    """backtest.json's book block: what was backtested (holdings or weights and notional, the hedge
    and its terms, the margin and how its collateral was sized, levels and horizon), every value
    tagged backtest.book.<key>: one column of labels and values per group (portfolio and the risk
    settings, hedge, margin), side by side."""
    book = bt.get("book")
    if book is None:
        return ""
    columns = {"Portfolio and risk": [], "Hedge": [], "Margin": []}
    for key, value in flatten_book(book):
        head = key.split(".")[0]
        name = {"hedge": "Hedge", "margin": "Margin"}.get(head, "Portfolio and risk")
        # A list (funding or basis per regime, isolated accounts' collateral, the levels): a row each.
        leaf = key.rsplit(".", 1)[-1]
        unit = "regime" if leaf in ("funding_rate_8h", "annual_basis") else "leg" if leaf == "collateral" else "#"
        entries = ([(f"{key}.{i}", f"{book_label(key)}, {unit} {i + 1}" if unit != "#" else f"{book_label(key)} "
                     f"({i + 1})", v) for i, v in enumerate(value)] if isinstance(value, list)
                   else [(key, book_label(key), value)])
        for entry_key, label, v in entries:
            k = backtest_key(f"book.{entry_key}")
            if isinstance(v, str):
                cell = td(k, v, fmt_text)
            elif isinstance(v, bool):
                cell = f'<td class="txt" data-key="{esc(k)}">{"true" if v else "false"}</td>'
            else:
                cell = td(k, v, book_value_format(key, v))
            columns[name].append(f'<th class="left">{esc(label)}</th>{cell}')
    head = "".join(f'<th class="left" colspan="2">{name}</th>' for name in columns)
    depth = max(len(c) for c in columns.values())
    body = "".join("<tr>" + "".join(c[i] if i < len(c) else "<th></th><td></td>" for c in columns.values()) + "</tr>"
                   for i in range(depth))
    return ('<h3 id="backtest-book">The book tested</h3>'
            f'<table class="kv book"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def backtest_rejections(bt, levels):
    """[(level, side, text)]: every test of every level and side that rejects at 5%, with which way
    it fails (as `betahedge backtest` prints them): Kupiec too many or too few exceptions,
    Christoffersen's independence (exceptions cluster, or are spaced more evenly than chance), its
    conditional coverage, the ES test (one-sided: the model understates tail losses)."""
    out = []
    for lvl in reversed(levels):
        for side in ("hedged", "unhedged"):
            s = bt["levels"][lvl][side]
            series = f"{side} {level_label(lvl)}: "
            x, e = s["exceptions"], s["expected_exceptions"]
            too_many = x > e
            count = (f"{'too many' if too_many else 'too few'} exceptions: {x} vs {fmt_expected(e)} expected"
                     + (": model understates risk" if too_many else ", conservative"))
            (n00, n01), (n10, n11) = s.get("transitions", [[0, 0], [0, 0]])
            after_exception = n11 / (n10 + n11) if n10 + n11 else 0.0
            after_quiet = n01 / (n00 + n01) if n00 + n01 else 0.0
            cluster = after_exception > after_quiet
            spacing = "exceptions cluster" if cluster else "exceptions spaced more evenly than chance"
            if s["kupiec_p"] < 0.05:
                out.append((lvl, side, f"{series}Kupiec rejects ({count})"))
            if s["independence_p"] < 0.05:
                out.append((lvl, side, f"{series}Christoffersen independence rejects ({spacing}: "
                                       f"{100 * after_exception:.1f}% of exceptions followed by another, "
                                       f"{100 * after_quiet:.1f}% of quiet observations)"))
            if s["conditional_coverage_p"] < 0.05:
                out.append((lvl, side, f"{series}Christoffersen conditional coverage rejects ({count}"
                                       + (f"; {spacing}" if s["independence_p"] < 0.05 else "") + ")"))
            es = s["es_test"]
            if es["p_value"] < 0.05:
                out.append((lvl, side, f"{series}ES test rejects (Z2 {es['z2']:.2f}, p {es['p_value']:.3g}: losses "
                                       "beyond VaR larger than the ES forecast, model understates tail losses)"))
    return out


def backtest_verdict_table(bt, levels):
    """One column per level and side, one row per figure: the traffic light of the latest window
    first (what a committee is asked to sign off), then the coverage tests over every observation,
    then the ES test."""
    series = [(lvl, side) for lvl in levels for side in ("unhedged", "hedged")]
    head = ('<tr><th class="left" rowspan="2"></th>'
            + "".join(f'<th colspan="2">VaR / ES {level_label(lvl)}</th>' for lvl in levels)
            + "</tr><tr>" + "<th>Unhedged</th><th>Hedged</th>" * len(levels) + "</tr>")
    width = 1 + len(series)

    def k(lvl, side, field):
        return backtest_key(f"levels.{lvl}.{side}.{field}")

    def s(lvl, side):
        return bt["levels"][lvl][side]

    def row(label, cells, note=""):
        title = f' title="{esc(note)}"' if note else ""
        return f'<tr><th class="left"{title}>{label}</th>{"".join(cells)}</tr>'

    def group(label):
        return f'<tr class="group"><th class="left" colspan="{width}">{label}</th></tr>'

    windows = {(s(lvl, side)["traffic_light_window"]["from"], s(lvl, side)["traffic_light_window"]["to"],
                s(lvl, side)["traffic_light_window"]["observations"]) for lvl, side in series}
    if len(windows) == 1:
        a, b, m = windows.pop()
        window = f"the latest {m} observations, {esc(a)} to {esc(b)}"
    else:
        window = "the latest window of each series"
    n = bt["observations"]
    body = [group(f"Traffic light: {window}")]
    body.append(row("Zone", [td_zone(k(lvl, side, "traffic_light"), s(lvl, side)["traffic_light"],
                                     s(lvl, side)["traffic_light"]) for lvl, side in series]))
    body.append(row("Exceptions in the window", [td(k(lvl, side, "traffic_light_window.exceptions"),
                                                    s(lvl, side)["traffic_light_window"]["exceptions"], fmt_int)
                                                 for lvl, side in series]))
    body.append(row("Observations in the window", [td(k(lvl, side, "traffic_light_window.observations"),
                                                      s(lvl, side)["traffic_light_window"]["observations"], fmt_int)
                                                   for lvl, side in series]))
    body.append(row("Cumulative probability P(X \u2264 exceptions)",
                    [td(k(lvl, side, "traffic_light_window.cumulative_probability"),
                        s(lvl, side)["traffic_light_window"]["cumulative_probability"], fmt_prob)
                     for lvl, side in series]))
    # The zone boundaries for the window's length, computed here from the binomial law.
    for name, index in (("Yellow from (exceptions)", 0), ("Red from (exceptions)", 1)):
        cells = []
        for lvl in levels:
            m = s(lvl, "hedged")["traffic_light_window"]["observations"]
            if m == s(lvl, "unhedged")["traffic_light_window"]["observations"]:
                cells.append(f'<td class="num" colspan="2" data-key="traffic_light_threshold:'
                             f'{"yellow" if index == 0 else "red"}:{esc(lvl)}:{m}">'
                             f'{esc(fmt_int(traffic_light_thresholds(m, lvl)[index]))}</td>')
            else:
                for side in ("unhedged", "hedged"):
                    m = s(lvl, side)["traffic_light_window"]["observations"]
                    cells.append(f'<td class="num" data-key="traffic_light_threshold:'
                                 f'{"yellow" if index == 0 else "red"}:{esc(lvl)}:{m}">'
                                 f'{esc(fmt_int(traffic_light_thresholds(m, lvl)[index]))}</td>')
        body.append(row(name, cells))

    if all("worst_window" in s(lvl, side) for lvl, side in series):
        def worst(lvl, side):
            return s(lvl, side)["worst_window"]
        body.append(group(f"Worst window: the {TRAFFIC_LIGHT_WINDOW} observations with the most exceptions "
                          f"(all of them when there are fewer)"))
        body.append(row("Zone", [td_zone(k(lvl, side, "worst_window.zone"), worst(lvl, side)["zone"],
                                         worst(lvl, side)["zone"]) for lvl, side in series]))
        body.append(row("Exceptions in the window", [td(k(lvl, side, "worst_window.exceptions"),
                                                        worst(lvl, side)["exceptions"], fmt_int)
                                                     for lvl, side in series]))
        body.append(row("Observations in the window", [td(k(lvl, side, "worst_window.observations"),
                                                          worst(lvl, side)["observations"], fmt_int)
                                                       for lvl, side in series]))
        body.append(row("Cumulative probability P(X \u2264 exceptions)",
                        [td(k(lvl, side, "worst_window.cumulative_probability"),
                            worst(lvl, side)["cumulative_probability"], fmt_prob) for lvl, side in series]))
        body.append(row("From", [td(k(lvl, side, "worst_window.from"), worst(lvl, side)["from"], fmt_text)
                                 for lvl, side in series]))
        body.append(row("To", [td(k(lvl, side, "worst_window.to"), worst(lvl, side)["to"], fmt_text)
                               for lvl, side in series]))

    body.append(group(f"Exceptions over all {fmt_int(n)} observations"))
    body.append(row("Exceptions", [td(k(lvl, side, "exceptions"), s(lvl, side)["exceptions"], fmt_int)
                                   for lvl, side in series]))
    body.append(row("Expected", [td(k(lvl, side, "expected_exceptions"), s(lvl, side)["expected_exceptions"],
                                    fmt_count) for lvl, side in series]))
    body.append(row("Rate (expected: 1 \u2212 level)", [td(k(lvl, side, "rate"), s(lvl, side)["rate"], fmt_prob)
                                                       for lvl, side in series]))

    body.append(group("Coverage tests (p below 0.05, in red, rejects the forecasts at 5%)"))
    for label, test, note in (
            ("Kupiec proportion of failures", "kupiec", "LR ~ chi-square(1): is the exception rate 1 - level?"),
            ("Christoffersen independence", "independence",
             "LR ~ chi-square(1): does an exception make the next more likely?"),
            ("Christoffersen conditional coverage", "conditional_coverage",
             "LR ~ chi-square(2): the rate and independence together")):
        body.append(row(f"{label}: LR", [td(k(lvl, side, f"{test}_lr"), s(lvl, side)[f"{test}_lr"], fmt_prob)
                                         for lvl, side in series], note))
        body.append(row("\u2003p-value", [td_pvalue(k(lvl, side, f"{test}_p"), s(lvl, side)[f"{test}_p"])
                                          for lvl, side in series]))

    body.append(group("Expected shortfall: Acerbi\u2013Szekely Z2 (0: the ES forecasts are right; "
                      "positive: they understate the tail)"))
    body.append(row("Z2", [td(k(lvl, side, "es_test.z2"), s(lvl, side)["es_test"]["z2"], fmt_prob)
                           for lvl, side in series]))
    body.append(row("\u2003p-value (simulated)", [td_pvalue(k(lvl, side, "es_test.p_value"),
                                                             s(lvl, side)["es_test"]["p_value"])
                                                   for lvl, side in series]))
    body.append(row("\u2003zone (simulated p-value)",
                    [td_zone(k(lvl, side, "es_test.zone"), s(lvl, side)["es_test"]["zone"],
                             ES_ZONES[s(lvl, side)["es_test"]["zone"]]) for lvl, side in series]))
    if all("critical_values_zone" in s(lvl, side)["es_test"] for lvl, side in series):
        body.append(row("\u2003published critical values",
                        [f'<td class="txt" data-key="{k(lvl, side, "es_test.critical_values_zone")}">'
                         f'{esc(s(lvl, side)["es_test"]["critical_values_zone"])}</td>' for lvl, side in series]))
    return f'<table class="verdict"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def backtest_pnl_chart(b, top):
    """Realised P&L per test date against -VaR and -ES at the highest level, unhedged above hedged on
    one scale; the exceptions the tests count marked."""
    rows = b["rows"]
    dates = np.array([r["date"] for r in rows])
    sampled = np.array([r["sampled"] == 1 for r in rows])
    called = np.array([r["margin_called"] == 1 for r in rows])
    overlapping = not sampled.all()
    fig, axes = plt.subplots(2, 1, figsize=(12, 7.2), sharex=True, sharey=True)
    marker_size = 9 if len(rows) > 250 else 16
    for ax, side, color in zip(axes, ("unhedged", "hedged"), ("#c0504d", "#2f6db5")):
        pnl = np.array([r[f"realised_{side}"] for r in rows])
        var = np.array([r[f"var_{side}_{top}"] for r in rows])
        es = np.array([r[f"es_{side}_{top}"] for r in rows])
        hit = np.array([r[f"exception_{side}_{top}"] == 1 for r in rows])
        ax.scatter(dates, pnl, s=marker_size, color=color, alpha=0.55, linewidths=0, label=f"realised {side} P&L")
        ax.plot(dates, -var, color="#222222", linewidth=1.2, drawstyle="steps-mid",
                label=f"\u2212VaR {level_label(top)} (forecast)")
        ax.plot(dates, -es, color="#6b7382", linewidth=1.0, linestyle="--", drawstyle="steps-mid",
                label=f"\u2212ES {level_label(top)} (forecast)")
        counted = hit & sampled
        ax.scatter(dates[counted], pnl[counted], marker="v", s=70, facecolor="#d62728", edgecolor="black",
                   linewidth=0.7, zorder=4, label=f"exception ({int(counted.sum())} counted by the tests)")
        if overlapping and (hit & ~sampled).any():
            skipped = hit & ~sampled
            ax.scatter(dates[skipped], pnl[skipped], marker="v", s=50, facecolor="none", edgecolor="#d62728",
                       linewidth=0.9, zorder=4, label=f"exception on a date the tests skip ({int(skipped.sum())})")
        if side == "hedged" and called.any():
            ax.scatter(dates[called], pnl[called], marker="s", s=60, facecolor="none", edgecolor="#c26a00",
                       linewidth=1.2, zorder=5, label=f"margin call on the realised path ({int(called.sum())})")
        ax.axhline(0, color="#555555", linewidth=0.7)
        ax.yaxis.set_major_formatter(FuncFormatter(compact_money))
        ax.set_ylabel(f"{side} P&L (base currency)")
        ax.set_title(f"{side.capitalize()}: realised P&L against the forecast \u2212VaR and \u2212ES "
                     f"{level_label(top)}")
        ax.grid(alpha=0.3)
        # Losses reach furthest down early in a history of shrinking risk, later ones sit near zero:
        # the lower right is the emptier corner.
        ax.legend(loc="lower right", fontsize=8.5, frameon=True, framealpha=0.85, ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def backtest_rolling_chart(b):
    """Per level: the exceptions in the traffic light's window ending at each observation, unhedged
    and hedged, over the green / yellow / red zones of a full 250-observation window. The zones
    start at the 250th observation (rolling_zone_limits); before it the window is short, no zone
    applies, and that part is hatched grey, labelled as such."""
    levels = b["levels"]
    sampled = [r for r in b["rows"] if r["sampled"] == 1]
    dates = np.array([r["date"] for r in sampled])
    n = len(sampled)
    window = TRAFFIC_LIGHT_WINDOW
    full = np.arange(n) >= window - 1
    fig, axes = plt.subplots(1, len(levels), figsize=(12, 3.9), squeeze=False)
    latest = {}
    for ax, lvl in zip(axes[0], levels):
        yellow, red = rolling_zone_limits(n, lvl, window)
        counts = {side: rolling_exceptions([r[f"exception_{side}_{lvl}"] for r in sampled])
                  for side in ("unhedged", "hedged")}
        full_red = traffic_light_thresholds(window, lvl)[1]
        top = max(full_red + 1 if full.any() else 1, max(int(c.max()) for c in counts.values()) + 1)
        if full.any():
            # Zone edges halfway between counts: a count on the yellow threshold sits inside the yellow band.
            d, y, r = dates[full], yellow[full], red[full]
            ax.fill_between(d, -0.5, y - 0.5, step="mid", color=ZONE_FILL["green"], linewidth=0)
            ax.fill_between(d, y - 0.5, r - 0.5, step="mid", color=ZONE_FILL["yellow"], linewidth=0)
            ax.fill_between(d, r - 0.5, top + 0.5, step="mid", color=ZONE_FILL["red"], linewidth=0)
        if not full.all():
            # The observations before the 250th: a window of fewer, which Basel's zones do not judge.
            last_short = dates[min(n, window - 1) - 1] if n > 1 else dates[0]
            end = dates[window - 1] if full.any() else last_short
            ax.axvspan(dates[0], end, facecolor=SHORT_WINDOW_FILL, edgecolor="#b9bec7", hatch="///", linewidth=0,
                       label=f"fewer than {window} observations: no zone")
        # Unhedged wide and pale under hedged narrow: where the counts agree both stay visible.
        for side, color, width in (("unhedged", "#e08a87", 4.0), ("hedged", "#2f6db5", 1.6)):
            ax.plot(dates, counts[side], drawstyle="steps-mid", color=color, linewidth=width, label=side)
            latest[(lvl, side)] = int(counts[side][-1])
        if full.any():
            zone_text = f"yellow from {int(yellow[-1])}, red from {int(red[-1])} in {window}"
        else:
            zone_text = f"no zone: {n} < {window} observations"
        ax.set_title(f"VaR {level_label(lvl)}: exceptions in the window ({zone_text})", fontsize=10.5)
        ax.set_ylim(-0.5, top + 0.5)
        if n > 1:
            ax.set_xlim(dates[0], dates[-1])
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("exceptions in the window")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(loc="upper left", fontsize=9, frameon=True, framealpha=0.85)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig, latest


def realised_effectiveness(unhedged, hedged):
    """1 - Var(hedged) / Var(unhedged) of paired realised P&Ls (None for a zero unhedged variance)."""
    vu = float(np.var(unhedged))
    return None if vu <= 0 else 1.0 - float(np.var(hedged)) / vu


def backtest_effectiveness_chart(b):
    """Predicted hedge effectiveness per observation against the realised one over a rolling window,
    with the whole sample's realised figure and its two standard errors."""
    bt = b["json"]
    he = bt["hedge_effectiveness"]
    sampled = [r for r in b["rows"] if r["sampled"] == 1]
    dates = np.array([r["date"] for r in sampled])
    predicted = np.array([r["predicted_hedge_effectiveness"] for r in sampled])
    u = np.array([r["realised_unhedged"] for r in sampled])
    h = np.array([r["realised_hedged"] for r in sampled])
    n = len(sampled)
    window = min(60, max(10, n // 3))
    fig, ax = plt.subplots(figsize=(12, 3.9))
    ax.plot(dates, predicted, color="#6b7382", linewidth=1.4, drawstyle="steps-mid",
            label="predicted, each date's forecast")
    if n >= 2 * window:
        rolled = [realised_effectiveness(u[t - window + 1:t + 1], h[t - window + 1:t + 1])
                  for t in range(window - 1, n)]
        ax.plot(dates[window - 1:], [np.nan if v is None else v for v in rolled], color="#2f6db5", linewidth=1.6,
                label=f"realised over the last {window} observations")
    span = (dates[0], dates[-1])
    ax.hlines(he["predicted"], *span, color="#6b7382", linestyle="--", linewidth=1.2,
              label=f"predicted, mean: {fmt_prob(he['predicted'])}")
    ax.hlines(he["realised"], *span, color="#1f4e8c", linestyle="--", linewidth=1.4,
              label=f"realised, all observations: {fmt_prob(he['realised'])}")
    ax.fill_between(span, he["realised"] - 2 * he["realised_se"], he["realised"] + 2 * he["realised_se"],
                    color="#2f6db5", alpha=0.12, linewidth=0, label="realised \u00b1 2 standard errors")
    ax.set_ylabel("hedge effectiveness")
    ax.set_title("Hedge effectiveness, 1 \u2212 Var(hedged) / Var(unhedged): predicted against realised")
    ax.grid(alpha=0.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    fig.tight_layout()
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=9, frameon=False)
    return fig, window


def backtest_settings(b, shown_dir):
    """The walk forward's settings and where it ran, two columns of a key-value table, and every
    refit in a table that opens on demand."""
    bt = b["json"]
    run = bt["run"]
    fits = bt["fits"]
    k = backtest_key
    left = [
        ("First test date", td(k("run.from"), run["from"], fmt_text)),
        ("Last test date", td(k("run.to"), run["to"], fmt_text)),
        ("Number of test dates", td(k("test_dates"), bt["test_dates"], fmt_int)),
        ("Observations tested", td(k("observations"), bt["observations"], fmt_int)),
        ("Sampling step (test dates)", td(k("run.sampling_step"), run["sampling_step"], fmt_int)),
        ("Horizon (days)", td(k("run.horizon_days"), run["horizon_days"], fmt_int)),
        ("Calibration window (days of returns)", td(k("run.window_days"), run["window_days"], fmt_int)),
        ("Refit every (test dates)", td(k("run.refit_every"), run["refit_every"], fmt_int)),
        ("Regimes", td(k("run.regimes"), run["regimes"], fmt_text)),
        ("Distribution", td(k("run.distribution"), run["distribution"], fmt_text)),
    ]
    right = [
        ("Prices", td(k("run.prices"), run["prices"], fmt_text)),
        *((("Empty price cells filled with the previous close", td(k("run.filled_cells"), run["filled_cells"], fmt_int)),)
          if "filled_cells" in run else ()),
        ("Assets", f'<td class="txt">{esc(", ".join(run["assets"]))}</td>'),
        ("Model benchmark (its volatility orders the regimes)", td(k("run.benchmark"), run["benchmark"], fmt_text)),
        ("Paths per test date", td(k("run.paths"), run["paths"], fmt_int)),
        ("Seed", td(k("run.seed"), run["seed"], fmt_int)),
        ("Backend", td(k("run.backend"), run["backend"], fmt_text)),
        ("Device", td(k("run.device"), run["device"], fmt_text)),
        ("Ranks", td(k("run.ranks"), run["ranks"], fmt_int)),
        ("Elapsed (s)", td(k("run.elapsed_s"), run["elapsed_s"], fmt_seconds)),
    ]
    if shown_dir is not None:
        right.append(("Output directory", f'<td class="txt">{esc(shown_dir)}</td>'))
    body = []
    for i in range(max(len(left), len(right))):
        a = f"<th>{left[i][0]}</th>{left[i][1]}" if i < len(left) else "<th></th><td></td>"
        c = f"<th>{right[i][0]}</th>{right[i][1]}" if i < len(right) else "<th></th><td></td>"
        body.append(f"<tr>{a}{c}</tr>")
    table = f'<table class="kv"><tbody>{"".join(body)}</tbody></table>'
    head = ('<tr><th class="left">Fitted at</th><th>Window from</th><th>Window to</th><th class="left">Regimes</th>'
            '<th>Log-likelihood</th><th>Converged</th><th>EM iterations</th></tr>')
    fit_rows = []
    for i, f in enumerate(fits):
        fk = f"fits.{i}"
        fit_rows.append("<tr>" + "".join([
            td(k(f"{fk}.date"), f["date"], fmt_text), td(k(f"{fk}.window_start"), f["window_start"], fmt_text),
            td(k(f"{fk}.window_end"), f["window_end"], fmt_text),
            f'<td class="txt">{esc(", ".join(f["regimes"]))}</td>',
            td(k(f"{fk}.loglik"), f["loglik"], fmt_money),
            '<td class="txt">yes</td>' if f["converged"] else '<td class="txt flag">no</td>',
            td(k(f"{fk}.iterations"), f["iterations"], fmt_int)]) + "</tr>")
    unconverged = sum(1 for f in fits if not f["converged"])
    state = "all converged" if unconverged == 0 else f"{unconverged} stopped at the EM iteration cap"
    fits_table = (f'<details><summary>The {len(fits)} fits, each on its window\'s returns only ({state})</summary>'
                  f'<table><thead>{head}</thead><tbody>{"".join(fit_rows)}</tbody></table></details>')
    return table + fits_table


def backtest_margin_calls(bt):
    """The margin model on history: the calls the realised paths met against those the forecasts'
    call probabilities expected (margin_call_test; an older backtest.json has the count only)."""
    test = bt.get("margin_call_test")
    rows = [("Observations whose realised path met a margin call", td(backtest_key("margin_calls"),
                                                                      bt["margin_calls"], fmt_int))]
    note = ""
    if test is not None:
        rows += [("Expected by the forecasts (sum of their call probabilities)",
                  td(backtest_key("margin_call_test.expected"), test["expected"], fmt_small_count)),
                 ("P(as many calls or more), dates independent",
                  td_pvalue(backtest_key("margin_call_test.p_value"), test["p_value"]))]
        note = ('<p class="note">Each date calls with its forecast probability (exact Poisson-binomial). A small '
                "p-value (below 0.05, in red) means calls came more often than the model said: the collateral "
                "it sized was too thin. A hedged P&amp;L on a called date includes the call's liquidation or "
                "top-up.</p>")
    return ('<h3 id="backtest-margin">Margin calls</h3><table class="kv"><tbody>'
            + "".join(f'<tr><th class="left">{label}</th>{cell}</tr>' for label, cell in rows)
            + "</tbody></table>" + note)


def backtest_headline(bt, top):
    """One sentence a committee reads first: the traffic light at the highest level, each side's
    exceptions in its window, and the ES test's zone; then every other window outside green
    (backtest_zone_flags) and every rejection, the margin-call test's included; every value tagged."""
    parts = []
    for side in ("hedged", "unhedged"):
        s = bt["levels"][top][side]
        k = backtest_key(f"levels.{top}.{side}")
        w = s["traffic_light_window"]
        es = s["es_test"]
        parts.append(f'{side} <span class="zone zone-{esc(s["traffic_light"])}" data-key="{k}.traffic_light">'
                     f'{esc(s["traffic_light"])}</span> with <span data-key="{k}.traffic_light_window.exceptions">'
                     f'{esc(fmt_int(w["exceptions"]))}</span> exception{"" if w["exceptions"] == 1 else "s"} '
                     f'in the latest '
                     f'<span data-key="{k}.traffic_light_window.observations">{esc(fmt_int(w["observations"]))}</span> '
                     f'observations, ES test: <span class="zone zone-{ES_ZONES[es["zone"]]}" '
                     f'data-key="{k}.es_test.zone">'
                     f'{esc(es["zone"])}</span>')
    rejected = backtest_rejections(bt, sorted(bt["levels"], key=float))
    test = bt.get("margin_call_test")
    if test is not None and test["realised"] > 0 and test["p_value"] < 0.05:
        rejected.append(("margin", "hedged",
                         f"margin-call test rejects (too many calls: {test['realised']} vs {fmt_expected(test['expected'])} "
                         f"expected, p {test['p_value']:.3g}: the collateral the model sized was too thin)"))
    zones = backtest_zone_flags(bt, top)
    flagged = headline_list(f"<b>Outside the green zone</b> (any level, latest and worst {TRAFFIC_LIGHT_WINDOW} "
                            "observations)", "zones", zones) if zones else ""
    if rejected:
        verdict = headline_list(f'<b>Rejected at 5%</b> ({len(rejected)} test{"" if len(rejected) == 1 else "s"})',
                                "rejections", [(lvl, side, esc(text)) for lvl, side, text in rejected])
    else:
        verdict = '<p class="headline rejections-none">No test rejects at 5% at any level, unhedged or hedged.</p>'
    return f'<p class="headline"><b>At {level_label(top)}:</b> {"; ".join(parts)}.</p>' + flagged + verdict


def headline_list(heading, css_class, entries):
    """A headline's heading (HTML) and its list: one item per (level, side, html) entry, each item
    marked with its series."""
    items = "".join(f'<li data-series="{esc(lvl)}.{side}">{text}</li>' for lvl, side, text in entries)
    return f'<p class="headline">{heading}:</p><ul class="{css_class}">{items}</ul>'


def backtest_zone_flags(bt, top):
    """[(level, side, html)]: every traffic light outside green that the headline's sentence does not
    already give (it gives the top level's latest windows): the latest window at the other levels,
    and the worst window at every level, each zone tagged with its exceptions, observations and dates."""
    out = []
    for lvl in sorted(bt["levels"], key=float, reverse=True):
        for side in ("hedged", "unhedged"):
            s = bt["levels"][lvl][side]
            k = backtest_key(f"levels.{lvl}.{side}")
            windows = []
            if lvl != top:
                windows.append(("latest", "traffic_light_window"))
            if "worst_window" in s:
                windows.append(("worst", "worst_window"))
            latest = s["traffic_light_window"]
            latest_is_worst = "worst_window" in s and (s["worst_window"]["from"], s["worst_window"]["to"]) == (
                latest["from"], latest["to"])
            for name, field in windows:
                w = s[field]
                if w["zone"] == "green":
                    continue
                if name == "worst" and latest_is_worst:
                    continue  # the worst window is the latest, given above: said once
                if name == "latest" and latest_is_worst:
                    name = "latest (and worst)"
                out.append((lvl, side,
                            f'{esc(side)} {esc(level_label(lvl))}, {name} window: '
                            f'<span class="zone zone-{esc(w["zone"])}" data-key="{k}.{field}.zone">'
                            f'{esc(w["zone"])}</span> with <span data-key="{k}.{field}.exceptions">'
                            f'{esc(fmt_int(w["exceptions"]))}</span> exception{"" if w["exceptions"] == 1 else "s"} in '
                            f'<span data-key="{k}.{field}.observations">{esc(fmt_int(w["observations"]))}</span> '
                            f'observations (<span data-key="{k}.{field}.from">{esc(w["from"])}</span> to '
                            f'<span data-key="{k}.{field}.to">{esc(w["to"])}</span>)'))
    return out


def section_backtest(d, shown_dir=None):
    """The walk-forward backtest (backtest.json, backtest.csv): the verdict table, realised P&L
    against the forecasts, the traffic light over time, hedge effectiveness, settings and fits."""
    b = d.get("backtest")
    if b is None:
        return ""
    bt, levels = b["json"], b["levels"]
    run = bt["run"]
    top = levels[-1]
    horizon, n = run["horizon_days"], bt["observations"]
    day = "day" if horizon == 1 else "days"
    if horizon > 1:
        sampling = (f'<p class="note"><b>Overlapping horizons.</b> Forecasts run over {horizon} days, so '
                    f"consecutive test dates share {horizon - 1} days of P&amp;L and their exceptions are not "
                    f"independent. Every test here reads the {fmt_int(n)} non-overlapping observations, one every "
                    f"{run['sampling_step']} test dates (backtest.csv's <i>sampled</i> rows); the chart of P&amp;L "
                    "shows every test date.</p>")
    else:
        sampling = f'<p class="note">Horizon one day: each of the {fmt_int(n)} test dates is one observation.</p>'
    warnings = bt["warnings"]
    box = ""
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        box = (f'<div class="warnings" id="backtest-warnings" role="note"><strong>{len(warnings)} backtest warning'
               f'{"" if len(warnings) == 1 else "s"}</strong>: read these figures with care<ul>{items}</ul></div>')

    pnl_fig = backtest_pnl_chart(b, top)
    rolling_fig, latest = backtest_rolling_chart(b)
    he_fig, window = backtest_effectiveness_chart(b)
    he = bt["hedge_effectiveness"]
    gap = he["realised"] - he["predicted"]
    in_se = f" ({gap / he['realised_se']:+.1f} standard errors)" if he["realised_se"] > 0 else ""
    he_table = ('<table class="kv"><tbody>'
                f'<tr><th class="left">Predicted (mean of the forecasts)</th>'
                f'{td(backtest_key("hedge_effectiveness.predicted"), he["predicted"], fmt_prob)}</tr>'
                f'<tr><th class="left">Realised (all observations)</th>'
                f'{td(backtest_key("hedge_effectiveness.realised"), he["realised"], fmt_prob)}'
                f'{td_se(backtest_key("hedge_effectiveness.realised_se"), he["realised_se"])}</tr>'
                "</tbody></table>")
    latest_text = "; ".join(f"{level_label(lvl)} {side} {latest[(lvl, side)]}" for lvl in levels
                            for side in ("unhedged", "hedged"))
    return ('<section id="backtest"><h2>Backtest: forecast VaR and ES against realised P&amp;L</h2>'
            f'<p class="note">A walk forward over <b>{esc(run["from"])}</b> to <b>{esc(run["to"])}</b>. On each of '
            f'the {fmt_int(bt["test_dates"])} test dates the book as it stood was simulated over the next {horizon} '
            f"{day} by a model fitted to the {fmt_int(run['window_days'])} days of returns before its last refit "
            f"(refitted every {fmt_int(run['refit_every'])} test dates; the regime probabilities filtered through "
            "each date), and the P&amp;L the book and its hedge then realised on the actual prices is compared with "
            "that forecast. No forecast sees a price after its date. An <b>exception</b> is a realised loss beyond "
            "the forecast VaR.</p>"
            + sampling + box
            + backtest_book_table(bt)
            + '<h3 id="backtest-verdict">Traffic light and tests</h3>'
            + backtest_headline(bt, top)
            + '<p class="note">The traffic light counts exceptions in the latest 250 observations (all of them when '
            "there are fewer): green while the probability of at most that many under a correct model, P(X \u2264 "
            "exceptions), is below 95%, yellow while below 99.99%, red from there (Basel; at 99% and 250 observations "
            "green 0\u20134, yellow 5\u20139, red 10+). The coverage tests and the ES test read every observation. "
            "The ES zone is the simulated p-value's (below 5%: reject at 5%; below 0.01%: at 0.01%), the test at "
            "this sample's size and level; Acerbi and Szekely's published critical values (Z2 above 0.70: reject "
            "at 5%; above 1.8: at 0.01%), derived for 250 observations at 97.5%, are shown beside it.</p>"
            + backtest_verdict_table(bt, levels)
            + '<h3 id="backtest-pnl">Realised P&amp;L against the forecasts</h3>'
            + figure_html(pnl_fig, f"Realised P&L against forecast VaR and ES {level_label(top)}, unhedged and hedged",
                          f"From backtest.csv: each test date's realised P&amp;L over the next {horizon} {day} "
                          f"(dots) and the loss levels forecast for it at {level_label(top)} (lines, as P&amp;L). "
                          "Triangles: exceptions the tests count. Both panels on one scale.")
            + '<h3 id="backtest-rolling">Exceptions over time</h3>'
            + figure_html(rolling_fig, "Exceptions in the traffic light's window over time, per level",
                          f"From backtest.csv's exception columns over the observations the tests read: at each "
                          f"observation, the exceptions in the {TRAFFIC_LIGHT_WINDOW} observations ending there "
                          f"(all so far before the {TRAFFIC_LIGHT_WINDOW}th), on the green, yellow and red zones "
                          f"of a full {TRAFFIC_LIGHT_WINDOW}-observation window (the least counts whose binomial "
                          "cumulative probability reaches 95% and 99.99%). "
                          + f"Hatched grey: the first {fmt_int(min(n, TRAFFIC_LIGHT_WINDOW - 1))} observations, "
                            f"fewer than {TRAFFIC_LIGHT_WINDOW} observations, where no zone applies (the table's "
                            "traffic light judges a short test by the law of its own count). "
                          + f"Latest: {esc(latest_text)}.")
            + '<h3 id="backtest-effectiveness">Hedge effectiveness: predicted against realised</h3>'
            + he_table
            + f'<p class="note">Realised minus predicted: {gap:+.4f}{in_se}. Realised: 1 \u2212 Var(hedged) / '
              "Var(unhedged) of the realised P&amp;Ls of every observation, \u00b1 one standard error; predicted: "
              "the mean of each date's forecast.</p>"
            + figure_html(he_fig, "Predicted and realised hedge effectiveness over time",
                          f"From backtest.csv; the rolling realised figure over {window} observations.")
            + backtest_margin_calls(bt)
            + '<h3 id="backtest-settings">Settings and fits</h3>'
            + backtest_settings(b, shown_dir)
            + "</section>")


def render_backtest_only(d, shown_dir):
    """The report of a `betahedge backtest` directory: the header and the backtest section."""
    b = d["backtest"]
    bt = b["json"]
    run = bt["run"]
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        *((("backtest-book", "The book"),) if "book" in bt else ()), ("backtest-verdict", "Traffic light and tests"),
        ("backtest-pnl", "P&amp;L against VaR"),
        ("backtest-rolling", "Exceptions over time"), ("backtest-effectiveness", "Hedge effectiveness"),
        ("backtest-margin", "Margin calls"),
        ("backtest-settings", "Settings")))
    # What the hedge trades, from the book block (an older backtest.json has none).
    hedge = bt.get("book", {}).get("hedge", {})
    instrument = hedge.get("instrument", "")
    hedged_with = ("" if not hedge.get("benchmark") else
                   f'; hedged with {len(hedge.get("legs", []))} legs' if instrument == "legs" else
                   f'; hedged with a {esc(instrument)} on {esc(hedge["benchmark"])}')
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>betahedge backtest report</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>betahedge backtest report</h1>",
        f'<p class="sub">Walk-forward test of the book (model assets {esc(", ".join(run["assets"]))}{hedged_with}; '
        f'model benchmark {esc(run["benchmark"])}): {fmt_int(bt["test_dates"])} test dates, {esc(run["from"])} to {esc(run["to"])}, '
        f'VaR and ES at {esc(", ".join(level_label(x) for x in b["levels"]))}</p>',
        f"<nav>{nav}</nav></header>",
        section_backtest(d, shown_dir),
        "</body></html>",
        "",
    ]
    return "\n".join(parts)


def render_page(d, shown_dir):
    """The page's HTML from load_inputs' data; `shown_dir` is the output directory it names."""
    if d["summary"] is None:
        return render_backtest_only(d, shown_dir)
    s = d["summary"]
    names = ", ".join(sc["name"] for sc in s["scenarios"])
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("summary", "Summary"), ("run", "Run"), ("scenarios", "Scenarios"))
        + ((("replays", "Replays"),) if d["replays"] else ())
        + ((("backtest", "Backtest"),) if d["backtest"] else ()) + (
        ("pnl", "P&amp;L distribution"), ("hedge-ratio", "Hedge ratio"),
        ("bands", "Bands"), ("regimes", "Regimes"), ("correlations", "Correlations")))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>betahedge risk report</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>betahedge risk report</h1>",
        f'<p class="sub">{len(s["scenarios"])} scenario{"" if len(s["scenarios"]) == 1 else "s"}: {esc(names)}'
        + (f'; {len(d["replays"])} history replays: {esc(", ".join(r["name"] for r in d["replays"]))}'
           if d["replays"] else "")
        + (f'; a backtest of {fmt_int(d["backtest"]["json"]["test_dates"])} dates, '
           f'{esc(d["backtest"]["json"]["run"]["from"])} to {esc(d["backtest"]["json"]["run"]["to"])}'
           if d["backtest"] else "") + "</p>",
        f"<nav>{nav}</nav></header>",
        warnings_box(d),
        section_committee(d),
        section_header(d, shown_dir),
        section_scenarios(d),
        section_replays(d),
        section_backtest(d),
        section_pnl(d),
        section_hedge_curve(d),
        section_bands(d),
        section_regimes(d),
        section_correlations(d),
        "</body></html>",
        "",
    ]
    return "\n".join(parts)


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".report.html.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def render(out_dir, final_dir=None):
    """Writes out_dir/report.html from the betahedge output files in out_dir and returns its path.

    final_dir: the directory the page names as the output directory (default: out_dir), for
    output rendered in a staging directory that is renamed once complete. The page appears
    complete or not at all; an earlier report.html stays as it was when rendering fails.
    Raises InputError naming the file and field or line when an input is missing or malformed.
    """
    out_dir = os.fspath(out_dir)
    shown_dir = os.path.abspath(os.fspath(final_dir if final_dir is not None else out_dir))
    text = render_page(load_inputs(out_dir), shown_dir)
    path = os.path.join(out_dir, "report.html")
    write_atomically(path, text)
    return path


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print("error: usage: report.py OUT_DIR", file=sys.stderr)
        return 2
    out_dir = argv[1]
    try:
        render(out_dir, os.environ.get("BETAHEDGE_REPORT_OUTPUT_DIR") or None)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # one line, never a stack trace (SPEC 3)
        msg = " ".join(str(e).split())
        print(f"error: rendering {os.path.join(out_dir, 'report.html')} failed: {type(e).__name__}: {msg}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
