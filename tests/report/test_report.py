#!/usr/bin/python3
"""ctest report.rendered_numbers_match_summary: python/betahedge/report.py on a fixture run.

    /usr/bin/python3 tests/report/test_report.py SOURCE_DIR

Copies tests/report/fixture (a hand-made output directory in the exact formats of SPEC 6:
two scenarios, assets BTC ETH SOL, two regimes, levels 0.95 and 0.99) to a temporary
directory, renders report.html, loads it in headless Chromium (--dump-dom and --screenshot)
and checks, on the DOM Chromium built:
  - every cell with data-key prints the value at that key in summary.json / bands.csv to the
    precision it shows, with the fixed formatter of its kind (money: 1,234.56; probability,
    ratio, beta: 0.1234), and every number in a table cell carries a data-key;
  - every field the report must show is there: each scenario x {unhedged, hedged} x
    {var, es} x level, effectiveness and call probability with their standard errors,
    collateral for a call probability, optimal ratios, repair distance, run header, every
    bands.csv row and column (one row per target beta x band pair, keyed by both); summary.json's
    bands.rule and recommended pair; the recommended pair is the one highlighted row;
  - summary.json's warnings are the items of one box above the first section, in order and
    as written (none drawn for an empty list or a summary without the key);
  - the sections come in the specified order; the correlation matrices are tables of tagged
    numbers, for the base and each scenario whose matrices differ from it; the 4 charts are
    embedded as data:image/png;base64 and decode as PNG; nothing refers outside the file (src, href,
    url(), script, link);
  - the screenshot is a non-blank PNG.
Then, without Chromium: optional inputs absent (no regimes.csv, no optimal_hedge_ratio for
the stress, null margin_constrained and mean_first_call_day) still render, with dashes; and
the error paths: no summary.json, a bands.csv column missing, a non-number in
pnl_distribution.csv each exit non-zero with one `error:` line naming the file, leaving no
report.html (or the earlier one untouched) and no temporary file.
Then tests/report/fixture_legs (written by make_fixture_legs.py from closed forms: two scenarios,
a hedge of two legs, BTC-perpetual and ETH-perpetual, in one cross-margin account, a 21 x 21
hedge_surface.csv and no hedge_ratio_curve.csv), read back through Chromium with the same checks,
and more: every leg's terms and figures, every margin account and every optimal-vector entry
tagged; the legs and accounts on page one and in the scenarios section; each optimum one compact
cell of tagged numbers ('0.2783 / 0.8849') in the scenarios table and in full, with standard
errors, in the hedge-ratio section; that section's one chart the ES surface (a coloured heatmap,
its caption saying the other legs sit at their min-ES ratios and margin calls are not in it),
with the grid's lowest point as found here from the CSV. Variants: a dynamic hedge split by
weights in isolated accounts with a null margin-constrained vector, and a third leg. Error paths:
a vector of the wrong length, an account set missing a leg, an optimal ratio beside a vector, a
hedge_surface.csv missing a column or a grid point or the file, a one-ratio curve beside legs.
Then the backtest (issue 14): the renderer's traffic-light thresholds against scipy and the Basel
table, its rolling window against a direct count; tests/report/fixture_backtest (what `betahedge
backtest` writes for 60 one-day dates; make_fixture_backtest.py regenerates it) through Chromium, and
fixture_backtest_horizon (a three-day horizon, every third date sampled): each fixture's CSV and
JSON agree (exception flags are losses beyond VaR; counts, Kupiec and Christoffersen against scipy's
chi-square, the latest window's binomial probability and zone, each window against the rolling
count, hedge effectiveness, the margin-call test's Poisson-binomial tail); the report is the header
and the backtest section alone; every backtest.json value a committee needs is shown tagged, the
zones and exception counts equal backtest.json's, zones coloured as their light, p-values below
0.05 marked, the warnings listed, the non-overlapping sampling stated when the horizon exceeds a
day, the three charts there. The run fixture with the backtest beside it renders everything as
before plus the backtest section after the replays. Error paths (exit 2, the file and field named):
a malformed backtest.json (a string p-value, a missing or unknown zone, a fractional count, a
non-boolean fit, the format, a null in a run directory), a backtest.csv missing a column, with a
flag that disagrees with backtest.json, a NaN, a row short, a flag of 2, or absent.
The renderer as the package's module (betahedge.report, loaded from its file, as the package is
not built here): render(out_dir, final_dir) writes the same page, returns its path, names final_dir
(else out_dir) as the output directory (as the script does with BETAHEDGE_REPORT_OUTPUT_DIR), and
raises InputError naming the file on bad input (no exit, no report.html); the file imports only
the standard library, numpy, matplotlib and scipy (the CLI runs it with /usr/bin/python3 outside
the package), and run as a script it still works beside sibling modules named like the standard
library's (the package's folder is dropped from sys.path).
With --check-run, a real run's backtest files (when run.yaml has a backtest: block) get the same
agreement checks and section checks.
Fails, with a message, when Chromium is not installed (scripts/install-deps.sh installs it).
"""
import ast
import base64
import csv
import html
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

PYTHON = "/usr/bin/python3"
SECTIONS = ["summary", "run", "scenarios", "pnl", "hedge-ratio", "bands", "regimes", "correlations"]
MONEY = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
FOUR_DECIMALS = re.compile(r"^-?\d+\.\d{4}$")
TINY_PROBABILITY = re.compile(r"^\d\.\de-\d\d$")
PERCENT = re.compile(r"^-?\d+\.\d{2}%$")
INTEGER = re.compile(r"^-?\d{1,3}(,\d{3})*$")
THREE_DECIMALS = re.compile(r"^-?\d+\.\d{3}$")
LOOKS_NUMERIC = re.compile(r"^[\u00b1+-]?\d[\d,]*(\.\d+)?(e[+-]?\d+)?%?$")


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Page(HTMLParser):
    """The parts of the report the checks need: tagged cells, images, references, sections."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells = []            # [key or None, text, tag] per td/th
        self.cell_sections = []    # the section id of each of cells
        self.rows = []             # [classes, [cell indexes]] per tr
        self.imgs = []
        self.img_alts = []         # (section id, alt) per img
        self.vectors = []          # [[span keys], td cell index] per table cell holding tagged spans (a hedge vector)
        self.refs = []             # (tag, attribute, value) of every src / href
        self.forbidden = []        # tags that load or run something
        self.section_ids = []
        self.warning_boxes = []    # sections seen before each warnings box
        self.warnings = []         # the text of each item of a warnings box
        self.h2 = []
        self.style = ""
        self._cell = None
        self._inline = None
        self._span = None          # a tagged span inside a table cell: its own cell, its text not the td's
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "srcset", "poster", "data", "action"):
            if name in a:
                self.refs.append((tag, name, a[name] or ""))
        if tag in ("script", "link", "iframe", "object", "embed", "base", "frame"):
            self.forbidden.append(tag)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
            self.img_alts.append((self.section_ids[-1] if self.section_ids else None, a.get("alt", "")))
        if tag == "section":
            self.section_ids.append(a.get("id"))
        if tag == "div" and a.get("id") == "warnings":
            self.warning_boxes.append(len(self.section_ids))
            self._in = "warnings"
        if tag == "li" and self._in == "warnings":
            self.warnings.append("")
        if tag == "tr":
            self.rows.append([(a.get("class") or "").split(), []])
        if tag in ("td", "th"):
            self._cell = len(self.cells)
            self.cells.append([a.get("data-key"), "", tag])
            self.cell_sections.append(self.section_ids[-1] if self.section_ids else None)
            if self.rows:
                self.rows[-1][1].append(self._cell)
        elif tag == "span" and a.get("data-key") is not None and self._inline is None and self._span is None \
                and self._cell is not None and self.cells[self._cell][2] == "td":
            # Several tagged numbers in one cell (a hedge vector, '0.5200 / 0.3100'): each checked as a cell.
            if not self.vectors or self.vectors[-1][1] != self._cell:
                self.vectors.append([[], self._cell])
            self.vectors[-1][0].append(a.get("data-key"))
            self._span = len(self.cells)
            self.cells.append([a.get("data-key"), "", "span"])
            self.cell_sections.append(self.section_ids[-1] if self.section_ids else None)
        elif tag in ("span", "b") and a.get("data-key") is not None and self._cell is None:
            # A tagged value in running text (the recommended pair, the band rule): checked as a cell.
            self._cell = len(self.cells)
            self._inline = tag
            self.cells.append([a.get("data-key"), "", tag])
            self.cell_sections.append(self.section_ids[-1] if self.section_ids else None)
        if tag in ("h2", "style"):
            self._in = tag
            if tag == "h2":
                self.h2.append("")

    def handle_endtag(self, tag):
        if tag == "span" and self._span is not None:
            self._span = None
            return
        if tag in ("td", "th") or tag == self._inline:
            self._cell = None
            self._inline = None
        if tag == self._in or (tag == "div" and self._in == "warnings"):
            self._in = None

    def handle_data(self, data):
        if self._span is not None:
            self.cells[self._span][1] += data
        elif self._cell is not None:
            self.cells[self._cell][1] += data
        if self._in == "h2":
            self.h2[-1] += data
        elif self._in == "warnings" and self.warnings:
            self.warnings[-1] += data
        elif self._in == "style":
            self.style += data


def parse(text):
    page = Page()
    page.feed(text)
    page.close()
    for c in page.cells:
        c[1] = " ".join(c[1].split())
    page.warnings = [" ".join(w.split()) for w in page.warnings]
    return page


def read_bands(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


MODEL = {}  # the run's model.json, for the model: and tomorrow: data-keys
BACKTEST = {}  # the directory's backtest.json, for the backtest. data-keys
SURFACE = []  # the run's hedge_surface.csv rows (a hedge of several legs), for the hedge_surface[..] data-keys


def load_model(out_dir):
    global MODEL, SURFACE
    with open(os.path.join(out_dir, "model.json")) as f:
        MODEL = json.load(f)
    path = os.path.join(out_dir, "hedge_surface.csv")
    SURFACE = read_bands(path) if os.path.exists(path) else []


def resolve(key, summary, bands, model=None):
    """The value a data-key names. Level keys contain dots ('0.99'), so each step takes the
    longest run of dot-separated parts that is a key of the current object. Prefixes:
    pct_nav:K is K's value in percent of portfolio.value; model:K a key of model.json;
    tomorrow:j regime j's probability tomorrow, computed here as sum_i p0_i P_ij."""
    if key.startswith("pct_nav:"):
        return 100.0 * resolve(key[len("pct_nav:"):], summary, bands, model) / summary["portfolio"]["value"]
    m = re.fullmatch(r"traffic_light_threshold:(yellow|red):([0-9.]+):(\d+)", key)
    if m:
        return traffic_light_threshold_scipy(m.group(1), float(m.group(2)), int(m.group(3)))
    if key.startswith("backtest."):
        check(BACKTEST, f"data-key {key}: the directory has no backtest.json")
        summary, key = BACKTEST, key[len("backtest."):]
    if key.startswith("tomorrow:"):
        j = int(key[len("tomorrow:"):])
        p0, trans = MODEL["initial_probabilities"], MODEL["transition"]
        return sum(p0[i] * trans[i][j] for i in range(len(p0)))
    if key.startswith("model:"):
        summary, key = MODEL, key[len("model:"):]
    m = re.fullmatch(r"hedge_surface\[([^\],]+),([^\],]+),([^\]]+)\]\.(.+)", key)
    if m:
        rows = [r for r in SURFACE if (r["scenario"], r["ratio_0"], r["ratio_1"]) == m.group(1, 2, 3)]
        check(len(rows) == 1, f"data-key {key}: no single hedge_surface.csv row at scenario {m.group(1)}, "
                              f"ratios {m.group(2)}, {m.group(3)}")
        check(m.group(4) in rows[0], f"data-key {key}: hedge_surface.csv has no column {m.group(4)}")
        return float(rows[0][m.group(4)])
    m = re.fullmatch(r"bands\[([^\],]+),([^\]]+)\]\.(.+)", key)
    if m:
        rows = [r for r in bands if (r["target_beta"], r["band"]) == (m.group(1), m.group(2))]
        check(len(rows) == 1, f"data-key {key}: no single bands.csv row with target_beta {m.group(1)}, band {m.group(2)}")
        check(m.group(3) in rows[0], f"data-key {key}: bands.csv has no column {m.group(3)}")
        return float(rows[0][m.group(3)])
    m = re.fullmatch(r"scenarios\[([^\]]+)\]\.(.+)", key)
    if m:
        found = [s for s in summary["scenarios"] if s["name"] == m.group(1)]
        check(len(found) == 1, f"data-key {key}: no scenario named {m.group(1)} in summary.json")
        obj, rest = found[0], m.group(2)
    else:
        obj, rest = summary, key
    parts = rest.split(".")
    i = 0
    while i < len(parts):
        if isinstance(obj, list):  # an index: applied.corr.<regime>.<row>.<column>
            check(parts[i].isdigit() and int(parts[i]) < len(obj), f"data-key {key}: no element {parts[i]}")
            obj, i = obj[int(parts[i])], i + 1
            continue
        check(isinstance(obj, dict), f"data-key {key}: {'.'.join(parts[:i])} is not an object")
        for j in range(len(parts), i, -1):
            name = ".".join(parts[i:j])
            if name in obj:
                obj, i = obj[name], j
                break
        else:
            raise Failure(f"data-key {key}: summary.json has no {'.'.join(parts[i:])}")
    return obj


def backtest_kind(key):
    """The format of a backtest.json value, or a traffic-light threshold."""
    if key.startswith("traffic_light_threshold:") or re.search(
            r"\.(exceptions|observations|test_dates|margin_calls|window_days|refit_every|horizon_days|sampling_step|"
            r"paths|seed|ranks|iterations|simulations)$", key) or key in (
                "backtest.observations", "backtest.test_dates", "backtest.margin_calls",
                "backtest.margin_call_test.realised"):
        return "integer"
    if re.search(r"(\.expected_exceptions|\.loglik|margin_call_test\.expected)$", key):
        return "money"  # two decimals with thousands separators
    if key.endswith(".elapsed_s"):
        return "three_decimals"
    if re.search(r"(_p|\.p_value)$", key):
        return "probability"
    if re.search(r"(\.rate|_lr|\.z2|\.cumulative_probability|hedge_effectiveness\.\w+)$", key):
        return "four_decimals"
    return None


def kind_of(key):
    if key.startswith("backtest.") or key.startswith("traffic_light_threshold:"):
        return backtest_kind(key)
    if key.startswith("pct_nav:"):
        return "percent"
    if re.search(r"(call|liquidation)_probability$", key):
        return "probability"
    if re.search(r"(\.(mean_pnl|stdev_pnl|mean_funding|pnl_es_contribution|stdev_at_min_variance)|"
                 r"es_at_min_es\.[0-9.]+|"
                 r"\.contributions\.(es|var|standalone_es)\.[^.]+|\.(var|es)\.[0-9.]+|\.(var|es)_[0-9.]+|\.mean_costs|\.collateral|\.pnl|\.min_equity|\.costs|"
                 r"collateral_for_call_probability\.[0-9.]+|^portfolio\.value)$", key):
        return "money"
    if re.search(r"(\.(min_variance|min_variance_se|margin_constrained)\.\d+|\.legs\.\d+\.(ratio|weight)|\.ratio_\d+|"
                 r"\.contributions\.marginal_es\.[^.]+|hedge_effectiveness(_se)?|probability(_se)?|min_variance|min_es\.[0-9.]+|margin_constrained|"
                 r"repair_distance|funding_multiplier|\.band|\.target_beta|mean_abs_deviation|beta\.target|beta\.start|"
                 r"^portfolio\.beta)$", key):
        return "four_decimals"
    if key in ("run.paths", "run.steps", "run.horizon_days", "run.seed", "run.ranks"):
        return "integer"
    return None


def check_cell(key, text, value):
    if value is None:
        check(text == "\u2014", f"{key}: null in the input, but the cell shows '{text}' (expected an em dash)")
        return
    if isinstance(value, str):
        check(text == value, f"{key}: cell shows '{text}', input has '{value}'")
        return
    check(isinstance(value, (int, float)) and not isinstance(value, bool),
          f"{key}: input value {value!r} is not a number")
    shown = text[1:] if text.startswith("\u00b1") else text
    kind = kind_of(key)
    # A rare event's probability keeps two significant digits rather than print as 0.0000.
    probability = TINY_PROBABILITY if 0 < abs(value) < 5e-5 else FOUR_DECIMALS
    # So does a small expected count (the margin calls a calm history expects: 0.0012, not 0.00).
    if kind == "money" and key.endswith("margin_call_test.expected") and 0 < value < 0.005:
        kind = "probability"
        probability = TINY_PROBABILITY
    pattern = {"money": MONEY, "four_decimals": FOUR_DECIMALS, "integer": INTEGER, "percent": PERCENT,
               "probability": probability, "three_decimals": THREE_DECIMALS}.get(kind)
    if pattern:
        check(pattern.match(shown), f"{key}: '{text}' is not in the {kind} format")
    if kind == "percent":
        shown = shown[:-1]
    plain = shown.replace(",", "")
    try:
        parsed = float(plain)
    except ValueError:
        raise Failure(f"{key}: cell text '{text}' is not a number") from None
    m = re.fullmatch(r"-?\d+(?:\.(\d+))?(?:e([+-]?\d+))?", plain)
    check(m, f"{key}: cannot read the precision of '{text}'")
    decimals = len(m.group(1) or "")
    exponent = int(m.group(2) or 0)
    half_unit = 0.5 * 10.0 ** (exponent - decimals)
    check(abs(parsed - value) <= half_unit * (1 + 1e-9) + 1e-9 * abs(value),
          f"{key}: cell shows {text}, input has {value!r} (more than half a unit of the last printed digit apart)")


def monte_carlo(summary):
    return [s for s in summary["scenarios"] if s.get("kind") != "replay"]


def replays_of(summary):
    return [s for s in summary["scenarios"] if s.get("kind") == "replay"]


def expected_keys(summary, bands, levels):
    keys = ["run.paths", "run.steps", "run.horizon_days", "run.seed", "run.drift", "run.backend", "run.device", "run.elapsed_s",
            "portfolio.value", "portfolio.beta", f"scenarios[{summary['scenarios'][0]['name']}].margin.collateral"]
    if "collateral_rule" in summary["scenarios"][0]["margin"]:
        keys.append(f"scenarios[{summary['scenarios'][0]['name']}].margin.collateral_rule")
    for s in replays_of(summary):
        k = f"scenarios[{s['name']}]"
        keys += [f"{k}.unhedged.pnl", f"{k}.hedged.pnl", f"{k}.replay.days", f"{k}.margin.min_equity",
                 f"{k}.margin.collateral", f"{k}.beta.costs", f"{k}.beta.rebalances"]
        if s["margin"]["called"]:
            keys.append(f"{k}.margin.first_call_date")
    for s in monte_carlo(summary):
        k = f"scenarios[{s['name']}]"
        keys += [f"{k}.{side}.{m}.{lvl}" for side in ("unhedged", "hedged") for m in ("var", "es") for lvl in levels]
        keys += [f"{k}.hedge_effectiveness", f"{k}.hedge_effectiveness_se", f"{k}.margin.call_probability",
                 f"{k}.margin.call_probability_se", f"{k}.applied.repair_distance"]
        keys += [f"{k}.margin.collateral_for_call_probability.{p}"
                 for p in s["margin"]["collateral_for_call_probability"]]
        contrib = s.get("contributions")
        if contrib is not None:
            keys += [f"{k}.contributions.es.{name}" for name in contrib["es"]]
            if s is summary["scenarios"][0]:
                keys += [f"{k}.contributions.{m}.{name}" for m in ("var", "standalone_es", "marginal_es")
                         for name in contrib["es"]]
        ohr = s.get("optimal_hedge_ratio")
        if ohr is not None:
            keys += [f"{k}.optimal_hedge_ratio.min_variance", f"{k}.optimal_hedge_ratio.margin_constrained"]
            keys += [f"{k}.optimal_hedge_ratio.min_es.{lvl}" for lvl in ohr["min_es"]]
    for r in bands:
        keys += [f"bands[{r['target_beta']},{r['band']}].{c}" for c in r if c not in ("recommended", "on_frontier")]
    if "bands" in summary:
        keys += ["bands.rule", "bands.recommended.target_beta", "bands.recommended.band"]
    # Page one: the book, the hedge, tomorrow's regimes, the headline per horizon in currency and
    # in % of the book's value, the collateral ladder.
    for i, h in enumerate(summary["portfolio"].get("holdings", [])):
        keys += [f"portfolio.holdings.{i}.{c}" for c in ("units", "spot", "value", "weight", "beta")]
        keys += [f"model:betas.{h['asset']}.{e}" for e in ("ols", "ewma", "kalman")
                 if e in MODEL.get("betas", {}).get(h["asset"], {})]
    for name, value in summary.get("hedge", {}).items():
        if name == "legs":  # several legs: legs_keys
            continue
        if isinstance(value, dict):
            keys += [f"hedge.{name}.{k}" for k, v in value.items() if not isinstance(v, dict)]
        else:
            keys.append(f"hedge.{name}")
    keys += [f"tomorrow:{j}" for j in range(len(MODEL["initial_probabilities"]))]
    base = summary["scenarios"][0]
    top = levels[-1]
    for days in base.get("horizons", {}):
        k = f"scenarios[{base['name']}].horizons.{days}"
        keys += [f"{p}{k}.{side}.{m}.{top}" for p in ("", "pct_nav:") for side in ("unhedged", "hedged")
                 for m in ("var", "es")]
    if "legs" in summary:
        keys += legs_keys(summary, levels)
    return keys


def legs_keys(summary, levels):
    """A hedge of several legs: each leg's terms, each scenario's per-leg figures, margin accounts
    and optimal hedge vector, and the ES surface's lowest point."""
    keys = []
    for i, leg in enumerate(summary["hedge"]["legs"]):
        k = f"hedge.legs.{i}"
        for name, value in leg.items():
            if isinstance(value, dict):
                for term, v in value.items():
                    if isinstance(v, dict):
                        keys += [f"{k}.{name}.{term}.{regime}" for regime in v]
                    else:
                        keys.append(f"{k}.{name}.{term}")
            else:
                keys.append(f"{k}.{name}")
    for s in monte_carlo(summary):
        k = f"scenarios[{s['name']}]"
        keys += [f"{k}.legs.{i}.{f}" for i in range(len(s["legs"]))
                 for f in ("name", "mean_pnl", "stdev_pnl", "mean_costs", "mean_funding", "pnl_es_contribution")]
        for i, a in enumerate(s["margin"]["accounts"]):
            keys += [f"{k}.margin.accounts.{i}.{f}" for f in ("name", "collateral", "call_probability",
                                                              "call_probability_se")]
            keys += [f"{k}.margin.accounts.{i}.collateral_for_call_probability.{p}"
                     for p in a["collateral_for_call_probability"]]
        vec = s.get("optimal_hedge_vector")
        if vec is not None:
            v = f"{k}.optimal_hedge_vector"
            n = len(vec["legs"])
            keys += [f"{v}.{f}.{i}" for f in ("min_variance", "min_variance_se") for i in range(n)]
            keys += [f"{v}.min_es.{lvl}.{i}" for lvl in vec["min_es"] for i in range(n)]
            keys += ([f"{v}.margin_constrained.{i}" for i in range(n)] if vec["margin_constrained"] is not None
                     else [f"{v}.margin_constrained"])
            if "stdev_at_min_variance" in vec:
                keys.append(f"{v}.stdev_at_min_variance")
            keys += [f"{v}.es_at_min_es.{lvl}" for lvl in vec.get("es_at_min_es", {})]
    # The lowest ES at the highest level on the base scenario's grid, found here from the CSV.
    top = max(levels, key=float)
    base = [r for r in SURFACE if r["scenario"] == summary["scenarios"][0]["name"]]
    check(base, "hedge_surface.csv has no rows of the base scenario")
    low = min(base, key=lambda r: float(r[f"es_{top}"]))
    row = f"hedge_surface[{low['scenario']},{low['ratio_0']},{low['ratio_1']}]"
    keys += [f"{row}.es_{top}", f"{row}.ratio_0", f"{row}.ratio_1"]
    return keys


def check_report(page, raw, summary, bands, expect_regimes, backtest=None):
    """The report of a run directory; `backtest` (backtest_files' rows) when it holds a backtest too."""
    levels = list(summary["scenarios"][0]["unhedged"]["var"].keys())
    check(levels == ["0.95", "0.99"], f"fixture levels changed: {levels}")

    # Numbers: every tagged cell reads back; every numeric-looking cell is tagged.
    tagged = {}
    for key, text, tag in page.cells:
        if key is None:
            check(tag == "th" or not LOOKS_NUMERIC.match(text),
                  f"table cell '{text}' shows a number but has no data-key")
            continue
        check_cell(key, text, resolve(key, summary, bands))
        tagged.setdefault(key, 0)
        tagged[key] += 1
    missing = [k for k in expected_keys(summary, bands, levels) if k not in tagged]
    check(not missing, f"{len(missing)} values not shown with a data-key, e.g. {missing[:5]}")
    for lvl in levels:
        label = f"{float(lvl) * 100:g}%"
        check(sum(1 for _, text, tag in page.cells if tag == "th" and label in text) >= 4,
              f"level {lvl} ({label}) missing from the table headers")
    for s in monte_carlo(summary):
        rows_named = sum(1 for _, text, tag in page.cells if tag == "td" and text == s["name"])
        check(rows_named >= 4, f"scenario {s['name']} has {rows_named} table rows, expected one per scenario table")
    replays = replays_of(summary)
    for s in replays:
        rows_named = sum(1 for _, text, tag in page.cells if tag == "td" and text == s["name"])
        check(rows_named == 1, f"replay {s['name']} has {rows_named} table rows, expected one (the replays table)")
        if s["margin"]["called"]:  # a replayed call is shown as a fact, flagged in the table
            check(f'class="txt flag" data-key="scenarios[{s["name"]}].margin.first_call_date"' in raw,
                  f"replay {s['name']}: its margin call is not flagged")

    # The recommended pair is the one highlighted row; the frontier's rows are the ones marked.
    highlighted = [cells for classes, cells in page.rows if "recommended" in classes]
    check(len(highlighted) == 1, f"{len(highlighted)} highlighted band rows, expected 1")
    rec = [f"{r['target_beta']},{r['band']}" for r in bands if r["recommended"] == "1"]
    check(page.cells[highlighted[0][0]][0] == f"bands[{rec[0]}].target_beta",
          f"highlighted row is {page.cells[highlighted[0][0]][0]}, bands.csv recommends {rec[0]}")
    marked = []
    for _, cells in page.rows:
        key = page.cells[cells[0]][0] if cells else None
        if key and key.startswith("bands[") and any(page.cells[i][1] == "\u25cf" for i in cells):
            marked.append(key[len("bands["):key.index("]")])
    frontier = [f"{r['target_beta']},{r['band']}" for r in bands if r["on_frontier"] == "1"]
    check(marked == frontier, f"rows marked on the frontier {marked}, bands.csv has {frontier}")

    # The warnings: one box above the first section, one item per warning, as written; no box
    # when there are none.
    warnings = summary.get("warnings", [])
    if warnings:
        check(page.warning_boxes == [0], f"warnings box(es) before sections {page.warning_boxes}, expected one "
                                         "before the first section")
        check(page.warnings == warnings, f"warnings box shows {page.warnings}, summary.json has {warnings}")
    else:
        check(not page.warning_boxes, "a warnings box is drawn, but summary.json has no warnings")

    # Sections in the specified order, each with a heading.
    sections = SECTIONS[:3] + (["replays"] if replays else []) + (["backtest"] if backtest else []) + SECTIONS[3:]
    check(page.section_ids == sections, f"sections {page.section_ids}, expected {sections}")
    check(len(page.h2) == len(sections) and all(h.strip() for h in page.h2), f"section headings {page.h2}")
    regimes_text = "No regimes.csv" in raw
    check(regimes_text != expect_regimes,
          "regimes section: " + ("chart expected" if expect_regimes else "missing the 'No regimes.csv' sentence"))

    # Correlation matrices, as coloured tables: every entry for the base and for each scenario
    # whose matrices differ from the base's; none for the others.
    base_corr = summary["scenarios"][0]["applied"]["corr"]
    for s in monte_carlo(summary):
        shown = {key for key in tagged if key.startswith(f"scenarios[{s['name']}].applied.corr.")}
        drawn = s is summary["scenarios"][0] or s["applied"]["corr"] != base_corr
        entries = sum(len(m) * len(m) for m in s["applied"]["corr"]) if drawn else 0
        check(len(shown) == entries, f"scenario {s['name']}: {len(shown)} correlation entries shown, expected {entries}")

    # Self-contained: embedded PNGs only, no outside references.
    expected_charts = (3 + (1 if expect_regimes else 0) + len(replays)  # one chart per replay
                       + (len(BACKTEST_CHARTS) if backtest else 0))
    check_self_contained(page, raw, expected_charts)
    if backtest:
        check_backtest_section(page, raw, backtest)
        # Page one carries the backtest's verdict: each side's zone at the highest level.
        where = {}
        for (key, _, _), section in zip(page.cells, page.cell_sections):
            if key:
                where.setdefault(key, set()).add(section)
        top = max(BACKTEST["levels"], key=float)
        for side in ("hedged", "unhedged"):
            key = f"backtest.levels.{top}.{side}.traffic_light"
            check("summary" in where.get(key, ()), f"{key}: the backtest's zone is not on page one")
    else:
        check('id="backtest"' not in raw, "a backtest section without backtest.json")
    if "legs" in summary:
        check_legs(page, raw, summary, levels)
    else:
        check(not page.vectors and "optimal_hedge_vector" not in raw and 'id="hedge-ratio"><h2>Hedge ratio</h2>' in raw,
              "a one-leg report shows hedge vectors or no one-ratio curve")


def check_legs(page, raw, summary, levels):
    """A hedge of several legs: the legs and margin-account tables on page one and in the scenarios
    section, each optimum a vector (compact in the scenarios table, in full in the hedge-ratio
    section), and the ES surface in place of the one-ratio curve."""
    legs = summary["legs"]
    base = summary["scenarios"][0]
    bk = f"scenarios[{base['name']}]"
    where = {}
    for (key, _, _), section in zip(page.cells, page.cell_sections):
        if key:
            where.setdefault(key, set()).add(section)
    headers = {" ".join(text.split()) for _, text, tag in page.cells if tag == "th"}
    for h in ("Leg", "Instrument", "Underlying", "Account", "Mean P&L", "Mean costs", "Mean funding", "Legs",
              "Collateral", "Call probability", "Stdev P&L"):
        check(h in headers, f"no table header '{h}' (the legs and margin-account tables)")
    check(("Hedge ratio" if summary["hedge"].get("mode") != "dynamic" else "Allocation weight") in headers,
          "the legs table's ratio or weight column is not named for the hedge's mode")
    page_one = [f"hedge.legs.{i}.{f}" for i in range(len(legs)) for f in ("name", "instrument", "benchmark", "account")]
    page_one += [f"{bk}.legs.{i}.{f}" for i in range(len(legs)) for f in ("mean_pnl", "mean_costs", "mean_funding")]
    page_one += [f"{bk}.margin.accounts.{i}.{f}" for i in range(len(base["margin"]["accounts"]))
                 for f in ("name", "collateral", "call_probability", "call_probability_se")]
    if "optimal_hedge_vector" in base:
        page_one += [f"{bk}.optimal_hedge_vector.min_variance.{i}" for i in range(len(legs))]
    for key in page_one:
        check("summary" in where.get(key, ()), f"{key} is not on page one (the committee summary)")
    for s in monte_carlo(summary):
        k = f"scenarios[{s['name']}]"
        for key in [f"{k}.legs.{i}.mean_pnl" for i in range(len(legs))] + [f"{k}.margin.accounts.0.collateral"]:
            check("scenarios" in where.get(key, ()), f"{key} is not in the scenarios section")
        vec = s.get("optimal_hedge_vector")
        if vec is None:
            check(not any(key.startswith(f"{k}.optimal_hedge_vector") for key in where),
                  f"scenario {s['name']} has no optimal_hedge_vector, but one is printed")
            continue
        # The scenarios table: each optimum one cell of tagged numbers in leg order, '/' between them.
        fields = ["min_variance"] + [f"min_es.{lvl}" for lvl in vec["min_es"]]
        if vec["margin_constrained"] is not None:
            fields.append("margin_constrained")
        else:
            check("scenarios" in where.get(f"{k}.optimal_hedge_vector.margin_constrained", ()),
                  f"scenario {s['name']}: the null margin-constrained vector is not shown as a dash")
        for field in fields:
            want = [f"{k}.optimal_hedge_vector.{field}.{i}" for i in range(len(legs))]
            found = [cell for keys, cell in page.vectors if keys == want]
            check(len(found) == 1 and page.cell_sections[found[0]] == "scenarios",
                  f"scenario {s['name']}: no single compact cell of {field} in the scenarios table")
        # In full, with standard errors, in the hedge-ratio section.
        for key in ([f"{k}.optimal_hedge_vector.min_variance_se.{i}" for i in range(len(legs))]
                    + [f"{k}.optimal_hedge_vector.min_es.{lvl}.{i}"
                       for lvl in vec["min_es"] for i in range(len(legs))]):
            check("hedge-ratio" in where.get(key, ()), f"{key} is not in the hedge-ratio section's vector table")
    for keys, cell in page.vectors:
        text = page.cells[cell][1]
        check(not re.search(r"\d", text) and text.count("/") == len(keys) - 1,
              f"a vector cell {keys[0]}... shows '{text}' around its tagged numbers (expected only '/')")

    # The ES surface in place of the curve: one chart there, the optima marked and named.
    top = max(levels, key=float)
    label = f"{float(top) * 100:g}%"
    charts = [alt for section, alt in page.img_alts if section == "hedge-ratio"]
    check(charts == [f"Expected shortfall {label} over the hedge ratios of {legs[0]} and {legs[1]}, base scenario"],
          f"hedge-ratio section charts {charts}, expected the ES surface alone")
    src = [src for src, (section, _) in zip(page.imgs, page.img_alts) if section == "hedge-ratio"][0]
    import io
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image
    pixels = matplotlib.image.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")
    # The middle of the chart is the plot area: a heatmap fills it with colour (not white or grey),
    # in many shades.
    h, w = pixels.shape[:2]
    middle = pixels[int(0.3 * h):int(0.6 * h), int(0.25 * w):int(0.6 * w), :3]
    coloured = (middle.max(axis=2) - middle.min(axis=2)) > 0.1
    shades = len({tuple(p) for p in (middle[coloured] * 255).astype(int)})
    check(h > 400 and w > 600 and coloured.mean() > 0.5 and shades > 30,
          f"the ES surface chart ({h} x {w}) is {coloured.mean():.0%} coloured in {shades} shades in its middle: "
          "not a heatmap")
    for phrase in ("Margin calls are not in the surface", "held at their min-ES ratios",
                   f"ES {label} of a static hedge"):
        check(phrase in raw, f"the ES surface's caption does not say '{phrase}'")
    if len(legs) > 2:
        check(f"The other legs ({', '.join(legs[2:])}) are held at their min-ES ratios" in raw,
              "the ES surface's caption does not name the legs held at their min-ES ratios")
    vec = base.get("optimal_hedge_vector")
    if vec is not None:
        v = f"{bk}.optimal_hedge_vector"
        for key in [f"{v}.min_variance.0", f"{v}.min_variance.1", f"{v}.min_es.{top}.0", f"{v}.min_es.{top}.1"]:
            check("hedge-ratio" in where.get(key, ()), f"{key}: not named among the surface's marks")
    check("hedge_ratio_curve.csv" not in raw, "a report of several legs mentions the one-ratio curve")


def renderer_path(source_dir):
    """The one report renderer: the package's module, which the CLI runs as a script."""
    return os.path.join(source_dir, "python", "betahedge", "report.py")


def run_render(script, out_dir, env=None):
    return subprocess.run([PYTHON, script, out_dir], capture_output=True, text=True, timeout=120, env=env)


def chromium(binary, args, work):
    env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=work, XDG_CACHE_HOME=work)
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={os.path.join(work, 'chromium-profile')}"] + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env)
    check(r.returncode == 0, f"chromium {' '.join(args[:-1])} exited {r.returncode}: {r.stderr.strip()[-500:]}")
    return r.stdout


def check_screenshot(path):
    check(os.path.isfile(path) and os.path.getsize(path) > 10000, f"chromium wrote no screenshot at {path}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image
    pixels = matplotlib.image.imread(path)
    check(pixels.ndim == 3 and pixels.shape[0] >= 1000, f"screenshot has shape {pixels.shape}")
    check(float(pixels[..., :3].std()) > 0.05, "screenshot is (nearly) blank")


def check_error(script, out_dir, must_name, report_before, code=None):
    r = run_render(script, out_dir)
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0, f"report.py exited 0 on a bad directory ({must_name})")
    check(code is None or r.returncode == code, f"report.py exited {r.returncode}, expected {code} "
                                                f"({must_name}): {r.stderr.strip()[:300]}")
    check(len(lines) == 1 and lines[0].startswith("error:"),
          f"expected one 'error:' line on stderr, got: {r.stderr.strip()[:400]!r}")
    check(must_name in lines[0], f"error line does not name {must_name}: {lines[0]}")
    report = os.path.join(out_dir, "report.html")
    if report_before is None:
        check(not os.path.exists(report), f"report.html written despite the error ({must_name})")
    else:
        with open(report) as f:
            check(f.read() == report_before, "an earlier report.html was changed by a failed render")
    leftovers = [n for n in os.listdir(out_dir) if n.startswith(".report") or n.endswith(".tmp")]
    check(not leftovers, f"temporary files left behind: {leftovers}")


def check_axis_labels(script):
    """Money axis ticks stay distinct at any spacing: 1,000 to 2,000 by 250 once read
    '1k 1k 2k 2k 2k' on the bands chart."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("betahedge_report", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for ticks in ([1000, 1250, 1500, 1750, 2000], [1.0e6, 1.25e6, 1.5e6], [0, 250, 500], [-1500, -1000, 0]):
        labels = [module.compact_money(t) for t in ticks]
        check(len(set(labels)) == len(labels), f"axis labels {labels} for ticks {ticks} repeat")
    check(module.compact_money(1250) == "1.25k" and module.compact_money(2.5e6) == "2.5M",
          "axis labels: 1250 -> 1.25k, 2.5e6 -> 2.5M")


def main(source_dir):
    script = renderer_path(source_dir)
    check_axis_labels(script)
    check_standalone_imports(script)
    fixture = os.path.join(source_dir, "tests", "report", "fixture")
    binary = shutil.which("chromium")
    check(binary is not None, "chromium is not installed; it renders the report in this test. Install the Debian "
                              "package 'chromium' (scripts/install-deps.sh does: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="betahedge-report-test-") as work:
        out = os.path.join(work, "run")
        shutil.copytree(fixture, out)
        r = run_render(script, out)
        check(r.returncode == 0, f"report.py exited {r.returncode}: {r.stderr.strip()}")
        report = os.path.join(out, "report.html")
        check(os.path.isfile(report), "no report.html written")
        check(sorted(os.listdir(out)) == sorted(os.listdir(fixture) + ["report.html"]),
              f"unexpected files in the output directory: {sorted(os.listdir(out))}")
        with open(report, encoding="utf-8") as f:
            raw = f.read()
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        load_model(out)
        bands = read_bands(os.path.join(out, "bands.csv"))

        url = "file://" + report
        dom = chromium(binary, ["--dump-dom", url], work)
        check("<table" in dom and 'data-key="' in dom, "chromium's DOM has no report tables")
        page = parse(dom)
        check(len([c for c in page.cells if c[0]]) == len([c for c in parse(raw).cells if c[0]]),
              "chromium's DOM and the file disagree on the tagged cells")
        check_report(page, raw, summary, bands, expect_regimes=True)
        shot = os.path.join(work, "report.png")
        chromium(binary, ["--window-size=1280,2400", f"--screenshot={shot}", url], work)
        check_screenshot(shot)

        # Optional inputs absent: still a full report, with dashes and the regimes sentence.
        variant = os.path.join(work, "variant")
        shutil.copytree(fixture, variant)
        os.remove(os.path.join(variant, "regimes.csv"))
        trimmed = json.loads(json.dumps(summary))
        del trimmed["scenarios"][1]["optimal_hedge_ratio"]
        trimmed["scenarios"][0]["optimal_hedge_ratio"]["margin_constrained"] = None
        trimmed["scenarios"][0]["margin"]["mean_first_call_day"] = None
        # The warning that goes with a null margin_constrained; its '<=' must reach the page as text.
        trimmed["warnings"] = ["scenario base: no ratio of risk.hedge_ratio_grid (from 0) keeps the call probability "
                               "<= 0.01; margin_constrained is null"]
        # The stress with the base's matrices: named, not drawn again (check_report counts).
        trimmed["scenarios"][1]["applied"]["corr"] = trimmed["scenarios"][0]["applied"]["corr"]
        with open(os.path.join(variant, "summary.json"), "w") as f:
            json.dump(trimmed, f)
        r = run_render(script, variant)
        check(r.returncode == 0, f"report.py without optional inputs exited {r.returncode}: {r.stderr.strip()}")
        with open(os.path.join(variant, "report.html"), encoding="utf-8") as f:
            raw = f.read()
        page = parse(raw)
        check_report(page, raw, trimmed, bands, expect_regimes=False)
        stress = trimmed["scenarios"][1]["name"]
        check(not any(k and k.startswith(f"scenarios[{stress}].optimal_hedge_ratio") for k, _, _ in page.cells),
              "absent optimal_hedge_ratio still printed")
        check(any(k == "scenarios[base].optimal_hedge_ratio.margin_constrained" for k, _, _ in page.cells),
              "null margin_constrained not shown")
        check(f"not shown again: {stress}." in raw, "the stress with the base's matrices is not named as such")

        # No warnings (an empty list, or a summary from before there were any): no box. No replays:
        # no replays section.
        check(len(replays_of(summary)) == 2 and sum(r["margin"]["called"] for r in replays_of(summary)) == 1,
              "the fixture has two replays, one of them called")
        for name, edit in (("empty-warnings", lambda s: s.update(warnings=[])),
                           ("no-warnings-key", lambda s: s.pop("warnings")),
                           ("no-replays", lambda s: s.update(scenarios=monte_carlo(s)))):
            quiet = os.path.join(work, name)
            shutil.copytree(fixture, quiet)
            edited = json.loads(json.dumps(summary))
            edit(edited)
            with open(os.path.join(quiet, "summary.json"), "w") as f:
                json.dump(edited, f)
            r = run_render(script, quiet)
            check(r.returncode == 0, f"report.py with {name} exited {r.returncode}: {r.stderr.strip()}")
            with open(os.path.join(quiet, "report.html"), encoding="utf-8") as f:
                raw = f.read()
            check_report(parse(raw), raw, edited, bands, expect_regimes=True)
            if name == "no-replays":
                check('id="replays"' not in raw, "no-replays: a replays section is drawn")
            else:
                check('class="warnings"' not in raw, f"{name}: a warnings box is drawn")

        # Error paths.
        broken = os.path.join(work, "no-summary")
        shutil.copytree(fixture, broken)
        os.remove(os.path.join(broken, "summary.json"))
        check_error(script, broken, "summary.json", None)

        broken = os.path.join(work, "bad-bands")
        shutil.copytree(fixture, broken)
        with open(os.path.join(broken, "bands.csv")) as f:
            rows = list(csv.reader(f))
        drop = rows[0].index("es_0.99")
        with open(os.path.join(broken, "bands.csv"), "w", newline="") as f:
            csv.writer(f).writerows([c for i, c in enumerate(row) if i != drop] for row in rows)
        check_error(script, broken, "bands.csv", None)

        broken = os.path.join(work, "bad-pnl")
        shutil.copytree(fixture, broken)
        with open(os.path.join(broken, "pnl_distribution.csv")) as f:
            text = f.read().splitlines()
        text[5] = text[5].rsplit(",", 1)[0] + ",nan-ish"
        with open(os.path.join(broken, "pnl_distribution.csv"), "w") as f:
            f.write("\n".join(text) + "\n")
        earlier = "<html>an earlier report</html>\n"
        with open(os.path.join(broken, "report.html"), "w") as f:
            f.write(earlier)
        check_error(script, broken, "pnl_distribution.csv", earlier)

        check_render_function(script, fixture, work)
        check_beside_shadowing_modules(script, fixture, work)
        check_legs_fixture(script, os.path.join(source_dir, "tests", "report", "fixture_legs"), binary, work)
        check_backtest_fixtures(script, source_dir, binary, work)
    print("report.rendered_numbers_match_summary: OK")


def shown_output_directory(report_path):
    """The directory the page's run table names as its output directory."""
    with open(report_path, encoding="utf-8") as f:
        found = re.findall(r'<th>Output directory</th><td class="txt">([^<]*)</td>', f.read())
    check(len(found) == 1, f"{report_path}: {len(found)} output-directory cells, expected 1")
    return html.unescape(found[0])


def check_standalone_imports(script):
    """The CLI runs the file with /usr/bin/python3 outside the package: no relative import, no
    betahedge import, nothing but the standard library and numpy, matplotlib, scipy."""
    with open(script, encoding="utf-8") as f:
        tree = ast.parse(f.read(), script)
    allowed = set(sys.stdlib_module_names) | {"numpy", "matplotlib", "scipy"}
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            check(node.level == 0, f"{script}:{node.lineno}: a relative import (the script runs outside the package)")
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
    check(imported and imported <= allowed, f"{script} imports {sorted(imported - allowed)}, which /usr/bin/python3 "
                                            "running it as a script may lack")


def check_render_function(script, fixture, work):
    """betahedge.report.render: the page to out_dir/report.html, its path returned, final_dir (else
    out_dir, made absolute) named as the output directory; bad input raises InputError, never exits."""
    module = load_renderer(script)
    check(callable(getattr(module, "render", None)) and "render" in module.__all__, "report.py has no public render()")
    out = os.path.join(work, "api")
    shutil.copytree(fixture, out)
    path = module.render(out)
    check(path == os.path.join(out, "report.html") and os.path.isfile(path), f"render() returned {path!r}")
    check(shown_output_directory(path) == os.path.abspath(out), "render(out_dir): the page does not name out_dir")
    final = os.path.join(work, "final <name>")
    check(module.render(pathlib.Path(out), final_dir=pathlib.Path(final)) == path, "render() with paths")
    check(shown_output_directory(path) == final, "render(out_dir, final_dir): the page does not name final_dir")
    # The script, as the CLI runs it: the staged directory's final name comes in the environment.
    r = run_render(script, out, env=dict(os.environ, BETAHEDGE_REPORT_OUTPUT_DIR="/srv/risk/2025-01-02"))
    check(r.returncode == 0, f"report.py with BETAHEDGE_REPORT_OUTPUT_DIR exited {r.returncode}: {r.stderr.strip()}")
    check(shown_output_directory(path) == "/srv/risk/2025-01-02", "the script ignored BETAHEDGE_REPORT_OUTPUT_DIR")

    broken = os.path.join(work, "api-bad-pnl")
    shutil.copytree(fixture, broken)
    with open(os.path.join(broken, "pnl_distribution.csv"), "a") as f:
        f.write("1,2,x,4\n")
    try:
        module.render(broken)
        check(False, "render() returned on a malformed pnl_distribution.csv")
    except module.InputError as e:
        check("pnl_distribution.csv" in str(e) and "\n" not in str(e), f"render()'s InputError: {e}")
    except SystemExit as e:
        check(False, f"render() exited ({e.code}) instead of raising InputError")
    check(not os.path.exists(os.path.join(broken, "report.html")), "render() wrote report.html despite the error")
    try:
        module.render(os.path.join(work, "no-such-directory"))
        check(False, "render() returned on a missing directory")
    except module.InputError as e:
        check("no-such-directory: not a directory" in str(e), f"render()'s InputError: {e}")


def check_beside_shadowing_modules(script, fixture, work):
    """Run as a script from a folder whose modules share names with the standard library's (the
    package's folder may grow any module): they are not imported in its place."""
    folder = os.path.join(work, "package-folder")
    os.makedirs(folder)
    shutil.copy(script, os.path.join(folder, "report.py"))
    for name in ("json", "csv", "tempfile", "numpy"):
        with open(os.path.join(folder, name + ".py"), "w") as f:
            f.write(f"raise ImportError('{name}.py beside report.py was imported in place of the real {name}')\n")
    out = os.path.join(work, "shadowed")
    shutil.copytree(fixture, out)
    r = run_render(os.path.join(folder, "report.py"), out)
    check(r.returncode == 0 and os.path.isfile(os.path.join(out, "report.html")),
          f"report.py beside modules named json.py, csv.py, ... exited {r.returncode}: {r.stderr.strip()[:300]}")


def edited_copy(fixture, out, edit):
    """fixture copied to out with edit(summary) applied to its summary.json; the edited summary."""
    shutil.copytree(fixture, out)
    with open(os.path.join(fixture, "summary.json")) as f:
        summary = json.load(f)
    edit(summary)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f)
    return summary


def isolated_dynamic(s):
    """The two legs as a dynamic hedge split by weights, each leg in an isolated account, and no
    margin-constrained vector for the stress."""
    s["hedge"].update(mode="dynamic", target_beta=0.0, band=0.05, rebalance_every_days=1, allocation="weights")
    s["hedge"]["margin"]["mode"] = "isolated"
    for leg, weight in zip(s["hedge"]["legs"], (0.7, 0.3)):
        del leg["ratio"]
        leg.update(weight=weight, account=leg["name"])
    for sc in s["scenarios"]:
        if sc.get("kind") == "replay":
            continue
        cross = sc["margin"]["accounts"][0]
        sc["margin"]["accounts"] = [
            {"name": name, "legs": [name], "collateral": cross["collateral"] * share,
             "call_probability": cross["call_probability"] * factor,
             "call_probability_se": cross["call_probability_se"] * factor,
             "collateral_for_call_probability": {p: v * share
                                                 for p, v in cross["collateral_for_call_probability"].items()}}
            for name, share, factor in zip(s["legs"], (0.4, 0.6), (1.5, 0.75))]
    s["scenarios"][1]["optimal_hedge_vector"]["margin_constrained"] = None
    s["warnings"] = [f"scenario {s['scenarios'][1]['name']}: no vector of the hedge ratio grid keeps the call "
                     "probability <= 0.01; margin_constrained is null"]


def three_legs(s):
    """A third leg, SOL-perpetual, beside the two (the surface stays over the first two)."""
    name = "SOL-perpetual"
    s["legs"].append(name)
    leg = json.loads(json.dumps(s["hedge"]["legs"][1]))
    leg.update(name=name, benchmark="SOL", ratio=0.15)
    s["hedge"]["legs"].append(leg)
    for sc in s["scenarios"]:
        if sc.get("kind") == "replay":
            continue
        figures = json.loads(json.dumps(sc["legs"][1]))
        figures.update(name=name, mean_pnl=812.5, stdev_pnl=60312.25, mean_costs=232.12, mean_funding=1044.62,
                       pnl_es_contribution=None)
        sc["legs"].append(figures)
        sc["margin"]["accounts"][0]["legs"].append(name)
        vec = sc["optimal_hedge_vector"]
        vec["legs"].append(name)
        for key, value in (("min_variance", 0.0412), ("min_variance_se", 0.0031)):
            vec[key].append(value)
        for lvl in vec["min_es"]:
            vec["min_es"][lvl].append(0.075)
        vec["margin_constrained"].append(0.03)
        for measure in ("es", "var", "standalone_es", "marginal_es"):
            sc["contributions"][measure][name] = 0.0


def check_legs_fixture_consistent(summary, surface):
    """fixture_legs agrees with itself as an engine's output does: legs sum to the hedged mean, Euler
    parts to the hedged ES, accounts to the collateral; the min-ES vectors are the surface's lowest
    points and reach its ES there."""
    for s in monte_carlo(summary):
        name = s["name"]
        legs_mean = sum(leg["mean_pnl"] for leg in s["legs"])
        check(abs(s["hedged"]["mean"] - s["unhedged"]["mean"] - legs_mean) < 1e-6,
              f"fixture_legs {name}: the legs' mean P&L does not make up the hedge's")
        c = s["contributions"]
        check(abs(sum(c["es"].values()) - s["hedged"]["es"][c["level"]]) < 1e-6,
              f"fixture_legs {name}: ES parts do not sum to the hedged ES")
        check(all(leg["pnl_es_contribution"] == c["es"][leg["name"]] for leg in s["legs"]),
              f"fixture_legs {name}: a leg's ES contribution is not its Euler part")
        check(sum(a["collateral"] for a in s["margin"]["accounts"]) == s["margin"]["collateral"],
              f"fixture_legs {name}: the accounts' collateral does not add up")
        rows = [r for r in surface if r["scenario"] == name]
        vec = s["optimal_hedge_vector"]
        for lvl, at in vec["es_at_min_es"].items():
            low = min(rows, key=lambda r: float(r[f"es_{lvl}"]))
            check([float(low["ratio_0"]), float(low["ratio_1"])] == vec["min_es"][lvl]
                  and abs(float(low[f"es_{lvl}"]) - at) < 1e-6,
                  f"fixture_legs {name}: min_es {lvl} is not the surface's lowest point")


def check_legs_fixture(script, fixture, binary, work):
    """tests/report/fixture_legs (two legs, cross margin): rendered and read back through Chromium
    like the one-leg fixture; then an isolated, dynamic variant and a three-leg one; then the error
    paths of the new inputs."""
    out = os.path.join(work, "legs")
    shutil.copytree(fixture, out)
    r = run_render(script, out)
    check(r.returncode == 0, f"report.py on fixture_legs exited {r.returncode}: {r.stderr.strip()}")
    check(sorted(os.listdir(out)) == sorted(os.listdir(fixture) + ["report.html"]),
          f"unexpected files in the output directory: {sorted(os.listdir(out))}")
    check("hedge_ratio_curve.csv" not in os.listdir(out), "fixture_legs has a one-ratio curve")
    report = os.path.join(out, "report.html")
    with open(report, encoding="utf-8") as f:
        raw = f.read()
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    check(len(summary["legs"]) == 2 and summary["hedge"]["margin"]["mode"] == "cross"
          and len(monte_carlo(summary)) == 2 and not replays_of(summary),
          "fixture_legs: two scenarios, two legs, cross margin")
    load_model(out)
    check(len([r for r in SURFACE if r["scenario"] == "base"]) == 21 * 21, "fixture_legs: a 21 x 21 surface for base")
    check_legs_fixture_consistent(summary, SURFACE)
    bands = read_bands(os.path.join(out, "bands.csv"))
    url = "file://" + report
    page = parse(chromium(binary, ["--dump-dom", url], work))
    check(len([c for c in page.cells if c[0]]) == len([c for c in parse(raw).cells if c[0]]),
          "fixture_legs: chromium's DOM and the file disagree on the tagged cells")
    check_report(page, raw, summary, bands, expect_regimes=True)
    shot = os.path.join(work, "legs.png")
    chromium(binary, ["--window-size=1280,2400", f"--screenshot={shot}", url], work)
    check_screenshot(shot)

    for name, edit in (("legs-isolated-dynamic", isolated_dynamic), ("legs-three", three_legs)):
        variant = os.path.join(work, name)
        edited = edited_copy(fixture, variant, edit)
        r = run_render(script, variant)
        check(r.returncode == 0, f"report.py on {name} exited {r.returncode}: {r.stderr.strip()}")
        with open(os.path.join(variant, "report.html"), encoding="utf-8") as f:
            raw = f.read()
        load_model(variant)
        check_report(parse(raw), raw, edited, bands, expect_regimes=True)
    load_model(out)

    # Error paths: one error line naming the file and what is wrong, no report.
    def wrong_length(s):
        s["scenarios"][0]["optimal_hedge_vector"]["min_variance"].append(0.5)
    broken = os.path.join(work, "legs-bad-vector")
    edited_copy(fixture, broken, wrong_length)
    check_error(script, broken, "summary.json: scenarios[base].optimal_hedge_vector.min_variance: 3 values, expected 2",
                None)

    def leg_without_account(s):
        s["scenarios"][1]["margin"]["accounts"][0]["legs"].pop()
    broken = os.path.join(work, "legs-bad-accounts")
    edited_copy(fixture, broken, leg_without_account)
    check_error(script, broken, "summary.json: scenarios[corr-to-one].margin.accounts", None)

    def ratio_and_vector(s):
        s["scenarios"][0]["optimal_hedge_ratio"] = {"min_variance": 0.5, "min_es": {}, "margin_constrained": None}
    broken = os.path.join(work, "legs-ratio-and-vector")
    edited_copy(fixture, broken, ratio_and_vector)
    check_error(script, broken, "summary.json: scenarios[base].optimal_hedge_ratio", None)

    broken = os.path.join(work, "legs-bad-surface")
    shutil.copytree(fixture, broken)
    with open(os.path.join(broken, "hedge_surface.csv")) as f:
        rows = list(csv.reader(f))
    drop = rows[0].index("es_0.99")
    with open(os.path.join(broken, "hedge_surface.csv"), "w", newline="") as f:
        csv.writer(f).writerows([c for i, c in enumerate(row) if i != drop] for row in rows)
    check_error(script, broken, "hedge_surface.csv: line 1: missing column 'es_0.99'", None)

    broken = os.path.join(work, "legs-surface-hole")
    shutil.copytree(fixture, broken)
    with open(os.path.join(broken, "hedge_surface.csv")) as f:
        lines = f.read().splitlines()
    with open(os.path.join(broken, "hedge_surface.csv"), "w") as f:
        f.write("\n".join(lines[:50] + lines[51:]) + "\n")
    check_error(script, broken, "hedge_surface.csv: scenario 'base': 440 points do not form a full grid", None)

    broken = os.path.join(work, "legs-with-curve")
    shutil.copytree(fixture, broken)
    shutil.copyfile(os.path.join(os.path.dirname(fixture), "fixture", "hedge_ratio_curve.csv"),
                    os.path.join(broken, "hedge_ratio_curve.csv"))
    check_error(script, broken, "hedge_ratio_curve.csv: present, but the hedge has 2 legs", None)

    broken = os.path.join(work, "legs-no-surface")
    shutil.copytree(fixture, broken)
    os.remove(os.path.join(broken, "hedge_surface.csv"))
    check_error(script, broken, "hedge_surface.csv: file not found", None)


# ----------------------------------------------------------------------------- backtest (issue 14)

# The backtest section's charts, in order ({top}: the highest level as a percentage).
BACKTEST_CHARTS = ["Realised P&L against forecast VaR and ES {top}, unhedged and hedged",
                   "Exceptions in the traffic light's window over time, per level",
                   "Predicted and realised hedge effectiveness over time"]
BACKTEST_SIDES = ("unhedged", "hedged")
ES_ZONE_LIGHT = {"accept": "green", "reject at 5%": "yellow", "reject at 0.01%": "red"}
BACKTEST_SIDE_FIELDS = ("traffic_light", "traffic_light_window.exceptions", "traffic_light_window.observations",
                        "traffic_light_window.cumulative_probability", "exceptions", "expected_exceptions", "rate",
                        "kupiec_lr", "kupiec_p", "independence_lr", "independence_p", "conditional_coverage_lr",
                        "conditional_coverage_p", "es_test.z2", "es_test.p_value", "es_test.zone")


def traffic_light_threshold_scipy(colour, level, n):
    """The fewest exceptions of n observations at VaR level `level` in the yellow zone (binomial
    P(X <= x) >= 95%) or the red (>= 99.99%), X ~ Binomial(n, 1 - level), from scipy; at least 1
    (no exception is green)."""
    from scipy.stats import binom
    bound = 0.95 if colour == "yellow" else 0.9999
    k = 0
    while k <= n and binom.cdf(k, n, 1.0 - level) < bound:
        k += 1
    return max(1, k)


def load_renderer(script):
    import importlib.util
    spec = importlib.util.spec_from_file_location("betahedge_report", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_backtest_files(out_dir):
    """backtest.json into BACKTEST (for the backtest. data-keys); backtest.csv's rows as strings;
    None, and BACKTEST empty, when the directory has no backtest."""
    global BACKTEST
    path = os.path.join(out_dir, "backtest.json")
    if not os.path.exists(path):
        BACKTEST = {}
        return None
    with open(path) as f:
        BACKTEST = json.load(f)
    return read_bands(os.path.join(out_dir, "backtest.csv"))


def backtest_levels():
    return sorted(BACKTEST["levels"], key=float)


def check_traffic_light_functions(module):
    """The renderer's zone thresholds and rolling window against scipy, the Basel table and a direct
    count."""
    # BCBS (1996), Table 2: 250 observations at 99%: green 0-4, yellow 5-9, red 10 or more.
    check(module.traffic_light_thresholds(250, "0.99") == (5, 10),
          f"traffic light at 99%, 250 observations: {module.traffic_light_thresholds(250, '0.99')}, Basel (5, 10)")
    for level in ("0.9", "0.95", "0.975", "0.99", "0.999"):
        for n in list(range(1, 40)) + [60, 100, 249, 250, 500]:
            want = tuple(traffic_light_threshold_scipy(c, float(level), n) for c in ("yellow", "red"))
            got = module.traffic_light_thresholds(n, level)
            check(got == want, f"traffic light thresholds at {level}, {n} observations: {got}, scipy {want}")
    flags = [1 if (i * 7) % 11 < 3 else 0 for i in range(600)]
    counts = module.rolling_exceptions(flags)
    for t in range(len(flags)):
        want = sum(flags[max(0, t - 249):t + 1])
        check(counts[t] == want, f"rolling_exceptions at {t}: {counts[t]}, a direct count {want}")
    # The chart's zones: none before the 250th observation (a short window is no Basel window),
    # Basel's (5, 10) at 99% from it.
    import numpy as np
    for n in (60, 249, 250, 600):
        yellow, red = module.rolling_zone_limits(n, "0.99")
        check(len(yellow) == len(red) == n, f"rolling_zone_limits({n}): {len(yellow)} limits")
        check(np.isnan(yellow[:249]).all() and np.isnan(red[:249]).all(),
              f"rolling_zone_limits({n}): a zone before the 250th observation")
        check((yellow[249:] == 5).all() and (red[249:] == 10).all(),
              f"rolling_zone_limits({n}): from the 250th observation {set(yellow[249:])}, {set(red[249:])}, Basel 5, 10")
    check_rolling_chart(module)


def check_rolling_chart(module):
    """The exceptions chart paints the green / yellow / red zones only from the 250th observation;
    the part before is one hatched span labelled 'fewer than 250 observations'."""
    import numpy as np
    import matplotlib
    from matplotlib.colors import to_rgba
    from matplotlib.dates import date2num
    zone_colours = {tuple(round(c, 3) for c in to_rgba(v)) for v in module.ZONE_FILL.values()}
    for n in (60, 300):
        dates = np.arange(np.datetime64("2023-01-01"), np.datetime64("2023-01-01") + n)
        rows = [{"date": d, "sampled": 1.0, "exception_unhedged_0.99": float(i % 37 == 5),
                 "exception_hedged_0.99": float(i % 53 == 7)} for i, d in enumerate(dates)]
        fig, _ = module.backtest_rolling_chart({"levels": ["0.99"], "rows": rows})
        ax = fig.axes[0]
        zones = [c for c in ax.collections
                 if tuple(round(x, 3) for x in c.get_facecolor()[0]) in zone_colours]
        check(len(zones) == (3 if n >= 250 else 0), f"rolling chart of {n} observations: {len(zones)} zone bands")
        for band in zones:
            left = min(path.vertices[:, 0].min() for path in band.get_paths())
            # step="mid" starts the band half a day before the 250th observation, after the 249th.
            check(left > date2num(dates[248]), f"rolling chart of {n}: a zone starts at {left}, before the 250th "
                                               f"observation {dates[249]}")
        hatched = [p for p in ax.patches if p.get_hatch()]
        check(len(hatched) == 1, f"rolling chart of {n}: {len(hatched)} hatched spans, expected 1")
        xs = hatched[0].get_path().transformed(hatched[0].get_patch_transform()).vertices[:, 0] \
            if hasattr(hatched[0], "get_patch_transform") else hatched[0].get_xy()[:, 0]
        end = dates[249] if n >= 250 else dates[-1]
        check(abs(min(xs) - date2num(dates[0])) < 1e-9 and abs(max(xs) - date2num(end)) < 1e-9,
              f"rolling chart of {n}: the hatched span covers {min(xs)}..{max(xs)}")
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        check("fewer than 250 observations: no zone" in labels, f"rolling chart of {n}: legend {labels}")
        matplotlib.pyplot.close(fig)


def check_backtest_files(rows, module, name):
    """backtest.csv and backtest.json agree as the engine writes them, recomputed here from the CSV:
    the sampled rows are every horizon_days-th; an exception is a loss beyond VaR; the counts, rates,
    Kupiec and Christoffersen statistics (scipy's chi-square), the traffic light's latest window, its
    binomial probability and zone; each of `windows` is the renderer's rolling count at its last
    observation; the realised and predicted hedge effectiveness."""
    from scipy.stats import binom, chi2
    import numpy as np
    bt = BACKTEST
    sampled = [r for r in rows if r["sampled"] == "1"]
    h = bt["run"]["horizon_days"]
    check(len(rows) == bt["test_dates"] and len(sampled) == bt["observations"],
          f"{name}: {len(rows)} rows, {len(sampled)} sampled; backtest.json: {bt['test_dates']}, {bt['observations']}")
    check([i for i, r in enumerate(rows) if r["sampled"] == "1"] == list(range(0, len(rows), h)),
          f"{name}: the sampled rows are not every {h}th test date from the first")

    def ln(x):
        return math.log(x) if x > 0 else 0.0  # 0 ln 0 = 0

    for lvl in backtest_levels():
        p = 1.0 - float(lvl)
        for side in BACKTEST_SIDES:
            s = bt["levels"][lvl][side]
            where = f"{name} {lvl} {side}"
            beyond = [int(-float(r[f"realised_{side}"]) > float(r[f"var_{side}_{lvl}"])) for r in rows]
            check([int(r[f"exception_{side}_{lvl}"]) for r in rows] == beyond,
                  f"{where}: an exception flag differs from realised loss > VaR")
            x = [int(r[f"exception_{side}_{lvl}"]) for r in sampled]
            n, k = len(x), sum(x)
            check(s["exceptions"] == k and abs(s["rate"] - k / n) < 1e-12
                  and abs(s["expected_exceptions"] - n * p) < 1e-9, f"{where}: counts differ from the CSV's")
            kupiec = -2 * ((n - k) * ln(1 - p) + k * ln(p)) + 2 * ((n - k) * ln(1 - k / n) + k * ln(k / n))
            t = [[0, 0], [0, 0]]
            for a, b in zip(x, x[1:]):
                t[a][b] += 1
            pi01 = t[0][1] / max(1, t[0][0] + t[0][1])
            pi11 = t[1][1] / max(1, t[1][0] + t[1][1])
            pi = (t[0][1] + t[1][1]) / (n - 1)
            independence = (-2 * ((t[0][0] + t[1][0]) * ln(1 - pi) + (t[0][1] + t[1][1]) * ln(pi))
                            + 2 * (t[0][0] * ln(1 - pi01) + t[0][1] * ln(pi01) + t[1][0] * ln(1 - pi11)
                                   + t[1][1] * ln(pi11)))
            for key, value, dof in (("kupiec", kupiec, 1), ("independence", independence, 1),
                                    ("conditional_coverage", kupiec + independence, 2)):
                check(abs(s[f"{key}_lr"] - value) < 1e-9 * max(1.0, value)
                      and abs(s[f"{key}_p"] - float(chi2.sf(value, dof))) < 1e-9,
                      f"{where}: {key} LR {s[f'{key}_lr']!r}, p {s[f'{key}_p']!r}; from the CSV {value!r}, "
                      f"{float(chi2.sf(value, dof))!r}")
            m = min(250, n)
            w = s["traffic_light_window"]
            cdf = float(binom.cdf(sum(x[-m:]), m, p))
            # No exception is green however few the observations (the engine's rule since issue 14).
            zone = "green" if cdf < 0.95 or sum(x[-m:]) == 0 else "yellow" if cdf < 0.9999 else "red"
            check(w["observations"] == m and w["exceptions"] == sum(x[-m:]) and w["from"] == sampled[-m]["date"]
                  and w["to"] == sampled[-1]["date"] and abs(w["cumulative_probability"] - cdf) < 1e-10
                  and s["traffic_light"] == w["zone"] == zone,
                  f"{where}: the traffic light's latest window differs from the CSV's ({m} observations, "
                  f"{sum(x[-m:])} exceptions, P {cdf!r}, {zone})")
            # The worst window: the most exceptions in any m consecutive observations, the latest of equals.
            sums = [(sum(x[i - m + 1:i + 1]), i) for i in range(m - 1, n)]
            most, end = max(sums)
            cdf = float(binom.cdf(most, m, p))
            zone = "green" if cdf < 0.95 or most == 0 else "yellow" if cdf < 0.9999 else "red"
            worst = s["worst_window"]
            check(worst["observations"] == m and worst["exceptions"] == most
                  and worst["from"] == sampled[end - m + 1]["date"] and worst["to"] == sampled[end]["date"]
                  and abs(worst["cumulative_probability"] - cdf) < 1e-10 and worst["zone"] == zone,
                  f"{where}: worst_window {worst}; from the CSV {most} exceptions in {sampled[end - m + 1]['date']} .. "
                  f"{sampled[end]['date']}, P {cdf!r}, {zone}")
            counts = module.rolling_exceptions(x)
            dates = [r["date"] for r in sampled]
            for win in s.get("windows", []):
                end = dates.index(win["to"])
                check(counts[end] == win["exceptions"] and min(end + 1, 250) == win["observations"],
                      f"{where}: window to {win['to']}: {win['exceptions']} exceptions, the rolling count "
                      f"{counts[end]}")
    u = np.array([float(r["realised_unhedged"]) for r in sampled])
    hh = np.array([float(r["realised_hedged"]) for r in sampled])
    realised = 1 - np.var(hh) / np.var(u)
    predicted = np.mean([float(r["predicted_hedge_effectiveness"]) for r in sampled])
    he = bt["hedge_effectiveness"]
    check(abs(he["realised"] - realised) < 1e-9 and abs(he["predicted"] - predicted) < 1e-12,
          f"{name}: hedge effectiveness {he['realised']!r} / {he['predicted']!r}, from the CSV {realised!r} / "
          f"{predicted!r}")
    calls = sum(int(r["margin_called"]) for r in sampled)
    check(bt["margin_calls"] == calls, f"{name}: margin calls differ")
    # Per date, the hedge as opened and the realised path's rebalances (whole, at most one beta
    # check a day of the horizon, at the book's steps per day).
    book = bt["book"]
    check(book["horizon_days"] == h and book["risk_levels"] == backtest_levels(), f"{name}: the book block {book}")
    for r in rows:
        check(math.isfinite(float(r["hedge_notional"])), f"{name} {r['date']}: hedge_notional {r['hedge_notional']}")
        check(r["rebalances"].isdigit() and int(r["rebalances"]) <= h * book["steps_per_day"],
              f"{name} {r['date']}: rebalances '{r['rebalances']}' over a {h}-day horizon")
    if name.startswith("fixture"):
        # The demo book: short a BTC perpetual (a negative notional), collateral sized on each date.
        check(all(float(r["hedge_notional"]) < 0 for r in rows), f"{name}: a hedge_notional not short")
        check(book["hedge"]["instrument"] == "perpetual" and book["margin"]["collateral"] == "auto"
              and book["portfolio"]["holdings"] == {"ETH": 400, "SOL": 6000}, f"{name}: the book block {book}")
    test = bt.get("margin_call_test")
    if test is not None:
        # P(K >= calls), K the calls of independent dates each with its forecast probability: the
        # distribution of K as the product of the dates' generating polynomials (1 - q + q z).
        q = [float(r["predicted_call_probability"]) for r in sampled]
        law = np.array([1.0])
        for qi in q:
            law = np.convolve(law, [1.0 - qi, qi])
        tail = float(law[calls:].sum())
        check(test["realised"] == calls and abs(test["expected"] - sum(q)) < 1e-9
              and abs(test["p_value"] - tail) < 1e-9,
              f"{name}: margin_call_test {test}, from the CSV: {calls} calls, {sum(q)!r} expected, P {tail!r}")


def backtest_expected_keys():
    bt = BACKTEST
    keys = [f"backtest.levels.{lvl}.{side}.{f}" for lvl in backtest_levels() for side in BACKTEST_SIDES
            for f in BACKTEST_SIDE_FIELDS]
    keys += [f"backtest.hedge_effectiveness.{f}" for f in ("predicted", "realised", "realised_se")]
    keys += ["backtest.test_dates", "backtest.observations", "backtest.margin_calls"]
    if "margin_call_test" in bt:
        keys += ["backtest.margin_call_test.expected", "backtest.margin_call_test.p_value"]
    keys += [f"backtest.run.{f}" for f in ("from", "to", "window_days", "refit_every", "horizon_days", "sampling_step",
                                           "regimes", "distribution", "paths", "seed", "backend", "device", "ranks",
                                           "elapsed_s", "prices", "benchmark")]
    keys += [f"backtest.fits.{i}.{f}" for i in range(len(bt["fits"]))
             for f in ("date", "window_start", "window_end", "loglik", "iterations")]
    for lvl in backtest_levels():
        m = bt["levels"][lvl]["hedged"]["traffic_light_window"]["observations"]
        keys += [f"traffic_light_threshold:{c}:{lvl}:{m}" for c in ("yellow", "red")]
        keys += [f"backtest.levels.{lvl}.{side}.worst_window.{f}" for side in BACKTEST_SIDES
                 for f in ("zone", "exceptions", "observations", "cumulative_probability", "from", "to")]
    keys += book_keys(bt["book"], "backtest.book")
    return keys


def book_keys(obj, prefix):
    """Every leaf of backtest.json's book block as a data-key; each element of a list of values
    its own (funding per regime, the risk levels)."""
    if isinstance(obj, dict):
        return [k for key, value in obj.items() for k in book_keys(value, f"{prefix}.{key}")]
    if isinstance(obj, list):
        return [k for i, value in enumerate(obj) for k in book_keys(value, f"{prefix}.{i}")]
    return [prefix]


def expected_rejections(bt):
    """(series, test, the start of its line) of every test that rejects at 5%, from backtest.json."""
    out = []
    for lvl in backtest_levels():
        for side in BACKTEST_SIDES:
            s = bt["levels"][lvl][side]
            series = f"{side} {float(lvl) * 100:g}%: "
            x, e = s["exceptions"], s["expected_exceptions"]
            shown = f"{e:.1f}" if e >= 0.1 or e == 0 else f"{e:.2g}"  # as the CLI prints an expected count
            direction = (f"too many exceptions: {x} vs {shown} expected: model understates risk" if x > e
                         else f"too few exceptions: {x} vs {shown} expected, conservative")
            (n00, n01), (n10, n11) = s["transitions"]
            clusters = n10 + n11 > 0 and n11 / (n10 + n11) > (n01 / (n00 + n01) if n00 + n01 else 0.0)
            if s["kupiec_p"] < 0.05:
                out.append(f"{series}Kupiec rejects ({direction})")
            if s["independence_p"] < 0.05:
                out.append(f"{series}Christoffersen independence rejects (exceptions "
                           + ("cluster" if clusters else "spaced more evenly than chance"))
            if s["conditional_coverage_p"] < 0.05:
                out.append(f"{series}Christoffersen conditional coverage rejects ({direction}")
            if s["es_test"]["p_value"] < 0.05:
                out.append(f"{series}ES test rejects (Z2 {s['es_test']['z2']:.2f}, p ")
    test = bt.get("margin_call_test")
    if test and test["realised"] > 0 and test["p_value"] < 0.05:
        e = test["expected"]
        expected = f"{e:.1f}" if e >= 0.1 or e == 0 else f"{e:.2g}"
        out.append(f"margin-call test rejects (too many calls: {test['realised']} vs {expected} expected")
    return out


def expected_zone_flags(bt):
    """(series, window) of every traffic light outside green the headline must flag beyond its sentence
    (the top level's latest windows): the latest window at the other levels, the worst at every level
    (unless it is the latest window already flagged or given)."""
    levels = backtest_levels()
    top = levels[-1]
    out = []
    for lvl in levels:
        for side in BACKTEST_SIDES:
            s = bt["levels"][lvl][side]
            latest, worst = s["traffic_light_window"], s.get("worst_window")
            same = worst is not None and (worst["from"], worst["to"]) == (latest["from"], latest["to"])
            if lvl != top and latest["zone"] != "green":
                out.append((f"{side} {float(lvl) * 100:g}%", "latest (and worst)" if same else "latest"))
            if worst and worst["zone"] != "green" and not same:
                out.append((f"{side} {float(lvl) * 100:g}%", "worst"))
    return out


def check_headline_zones(raw):
    """The headline flags every yellow or red window its sentence does not give, with its dates."""
    want = expected_zone_flags(BACKTEST)
    found = re.search(r'<ul class="zones">(.*?)</ul>', raw, re.S)
    items = [re.sub(r"<[^>]+>", "", html.unescape(i)) for i in re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)] if found else []
    check(len(items) == len(want), f"headline zone flags {items}, expected {want}")
    for series, window in want:
        check(sum(1 for i in items if i.startswith(f"{series}, {window} window: ")) == 1,
              f"headline: no single flag of the {window} window of {series} in {items}")


def check_headline_rejections(raw):
    """The headline lists every test that rejects at 5%, each with its direction, or says none does."""
    want = expected_rejections(BACKTEST)
    found = re.search(r'<ul class="rejections">(.*?)</ul>', raw, re.S)
    items = [html.unescape(i) for i in re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)] if found else []
    check(len(items) == len(want), f"headline rejections {items}, expected {len(want)}: {want}")
    for start in want:
        check(sum(1 for i in items if i.startswith(start)) == 1, f"headline: no single rejection '{start}' in {items}")
    if not want:
        check("No test rejects at 5% at any level, unhedged or hedged." in raw, "headline: no rejection, not said")
    return items


def check_backtest_section(page, raw, rows):
    """The backtest section: every value of backtest.json the committee needs, in the section; each
    zone, exception count and test as in backtest.json, zones coloured as their light, rejections at
    5% marked; the headline at the highest level; the warnings; the sampling sentence; its charts."""
    bt = BACKTEST
    levels = backtest_levels()
    top = levels[-1]
    shown = {}
    for (key, text, _), section in zip(page.cells, page.cell_sections):
        if key and section == "backtest":
            shown.setdefault(key, set()).add(text)
    missing = [k for k in backtest_expected_keys() if k not in shown]
    check(not missing, f"backtest section: {len(missing)} values not shown with a data-key, e.g. {missing[:4]}")
    for lvl in levels:
        for side in BACKTEST_SIDES:
            k = f"backtest.levels.{lvl}.{side}"
            s = bt["levels"][lvl][side]
            check(shown[f"{k}.traffic_light"] == {s["traffic_light"]},
                  f"{k}: zone shown {shown[f'{k}.traffic_light']}, backtest.json {s['traffic_light']}")
            check(shown[f"{k}.exceptions"] == {f"{s['exceptions']:,}"},
                  f"{k}: exceptions shown {shown[f'{k}.exceptions']}, backtest.json {s['exceptions']}")
            check(shown[f"{k}.traffic_light_window.exceptions"] == {f"{s['traffic_light_window']['exceptions']:,}"},
                  f"{k}: exceptions in the window shown {shown[f'{k}.traffic_light_window.exceptions']}")
            check(re.search(rf'class="txt zone zone-{s["traffic_light"]}" data-key="{re.escape(k)}\.traffic_light"',
                            raw), f"{k}: the zone cell is not coloured {s['traffic_light']}")
            es_light = ES_ZONE_LIGHT[s["es_test"]["zone"]]
            check(re.search(rf'class="txt zone zone-{es_light}" data-key="{re.escape(k)}\.es_test\.zone"', raw),
                  f"{k}: the ES zone cell is not coloured {es_light}")
            for test in ("kupiec_p", "independence_p", "conditional_coverage_p", "es_test.p_value"):
                value = s[test] if "." not in test else s["es_test"]["p_value"]
                marked = re.search(rf'class="num reject" data-key="{re.escape(k)}\.{re.escape(test)}"', raw)
                check(bool(marked) == (value < 0.05), f"{k}.{test} = {value}: marked as a rejection: {bool(marked)}")
    # The headline: the highest level's zones in running text before the table.
    head = raw.split('<table class="verdict">')[0].split('id="backtest-verdict"')[1]
    for side in BACKTEST_SIDES:
        check(f'data-key="backtest.levels.{top}.{side}.traffic_light">{bt["levels"][top][side]["traffic_light"]}<'
              in head, f"the headline does not give the {side} zone at {top}")
    check_headline_rejections(head)
    check_headline_zones(head)
    check(f"fewer than 250 observations, where no zone applies" in raw,
          "the exceptions chart's caption does not say where the window is short of 250 observations")
    box = re.search(r'<div class="warnings" id="backtest-warnings"[^>]*>(.*?)</div>', raw, re.S)
    if bt["warnings"]:
        check(box is not None, "backtest.json has warnings, but the section has no warnings box")
        items = [html.unescape(" ".join(i.split())) for i in re.findall(r"<li>(.*?)</li>", box.group(1), re.S)]
        check(items == bt["warnings"], f"backtest warnings shown {items}, backtest.json {bt['warnings']}")
    else:
        check(box is None, "a backtest warnings box without warnings")
    run = bt["run"]
    if run["horizon_days"] > 1:
        check(f"reads the {bt['observations']:,} non-overlapping observations, one every {run['sampling_step']} test "
              "dates" in raw, "horizon > 1 day: the section does not say the tests read non-overlapping observations")
    else:
        check("non-overlapping" not in raw, "a one-day horizon, but the section speaks of non-overlapping observations")
    alts = [alt for section, alt in page.img_alts if section == "backtest"]
    want = [c.format(top=f"{float(top) * 100:g}%") for c in BACKTEST_CHARTS]
    check(alts == want, f"backtest charts {alts}, expected {want}")


def check_self_contained(page, raw, charts):
    pngs = [s for s in page.imgs if s.startswith("data:image/png;base64,")]
    check(len(pngs) == len(page.imgs) == charts, f"{len(pngs)} embedded PNGs of {len(page.imgs)} images, "
                                                  f"expected {charts}")
    for s in pngs:
        check(base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n", "an embedded image is not a PNG")
    external = [r for r in page.refs if not (r[2].startswith("data:") or (r[1] == "href" and r[2].startswith("#")))]
    check(not external, f"external references: {external[:3]}")
    check(not page.forbidden, f"tags that load or run something: {sorted(set(page.forbidden))}")
    check("url(" not in page.style and "@import" not in page.style, "CSS refers to an outside resource")
    check(not re.search(r"(https?|ftp|file):", raw), "report mentions an http(s)/ftp/file URL")


def check_backtest_only(page, raw, rows):
    """The report of a directory holding only a backtest: its header and the backtest section."""
    for key, text, tag in page.cells:
        if key is None:
            check(tag == "th" or not LOOKS_NUMERIC.match(text),
                  f"table cell '{text}' shows a number but has no data-key")
            continue
        check_cell(key, text, resolve(key, {}, []))
    check(page.section_ids == ["backtest"], f"sections {page.section_ids}, expected the backtest's alone")
    check(len(page.h2) == 1 and "<h1>betahedge backtest report</h1>" in raw, "header or heading missing")
    check(not page.warning_boxes, "a run's warnings box in a backtest-only report")
    check_backtest_section(page, raw, rows)
    check_self_contained(page, raw, len(BACKTEST_CHARTS))


def check_backtest_fixtures(script, source_dir, binary, work):
    """tests/report/fixture_backtest (60 one-day observations) through Chromium and
    fixture_backtest_horizon (three-day horizon, 20 observations) rendered alone; the run fixture with
    fixture_backtest's files beside it; the error paths of backtest.json and backtest.csv."""
    module = load_renderer(script)
    check_traffic_light_functions(module)
    report_dir = os.path.join(source_dir, "tests", "report")
    for name in ("fixture_backtest", "fixture_backtest_horizon"):
        fixture = os.path.join(report_dir, name)
        out = os.path.join(work, name)
        shutil.copytree(fixture, out)
        check(sorted(os.listdir(fixture)) == ["backtest.csv", "backtest.json", "manifest.json"],
              f"{name}: expected what `betahedge backtest --no-report` writes, found {sorted(os.listdir(fixture))}")
        r = run_render(script, out)
        check(r.returncode == 0, f"report.py on {name} exited {r.returncode}: {r.stderr.strip()}")
        check(sorted(os.listdir(out)) == sorted(os.listdir(fixture) + ["report.html"]),
              f"unexpected files in the output directory: {sorted(os.listdir(out))}")
        rows = load_backtest_files(out)
        check_backtest_files(rows, module, name)
        report = os.path.join(out, "report.html")
        with open(report, encoding="utf-8") as f:
            raw = f.read()
        if name == "fixture_backtest":
            url = "file://" + report
            page = parse(chromium(binary, ["--dump-dom", url], work))
            check(len([c for c in page.cells if c[0]]) == len([c for c in parse(raw).cells if c[0]]),
                  f"{name}: chromium's DOM and the file disagree on the tagged cells")
            shot = os.path.join(work, "backtest.png")
            chromium(binary, ["--window-size=1280,2400", f"--screenshot={shot}", url], work)
            check_screenshot(shot)
            # What this fixture is for: a yellow light, an ES test that the published critical values
            # reject and its simulated p-value does not (both shown), and the warnings.
            check("zone zone-yellow" in raw and BACKTEST["warnings"], f"{name}: no yellow zone or warnings to show")
            check(re.search(r'data-key="backtest\.levels\.0\.99\.hedged\.es_test\.critical_values_zone">reject at 0\.01%<', raw),
                  f"{name}: the published critical values' verdict is not shown")
        else:
            page = parse(raw)
            check(BACKTEST["run"]["horizon_days"] == 3 and BACKTEST["observations"] == 20,
                  f"{name}: expected a three-day horizon sampled to 20 observations")
        check_backtest_only(page, raw, rows)

    # Rejections at 5% (none in the fixtures) marked in the table: an edited copy.
    out = os.path.join(work, "backtest-rejections")
    shutil.copytree(os.path.join(report_dir, "fixture_backtest_horizon"), out)
    with open(os.path.join(out, "backtest.json")) as f:
        bt = json.load(f)
    bt["levels"]["0.95"]["hedged"]["kupiec_p"] = 0.012
    bt["levels"]["0.99"]["unhedged"]["es_test"]["p_value"] = 0.0001
    # The margin-call test rejecting; the 95% hedged light yellow (below the headline's level) and
    # a yellow worst window that is not the latest: each flagged in the headline.
    bt["margin_calls"] = 3
    bt["margin_call_test"] = {"realised": 3, "expected": 0.6, "p_value": 0.02}
    for field in ("traffic_light_window", "worst_window"):
        bt["levels"]["0.95"]["hedged"][field]["zone"] = "yellow"
    bt["levels"]["0.95"]["hedged"]["traffic_light"] = "yellow"
    bt["levels"]["0.99"]["unhedged"]["worst_window"].update(zone="yellow", to="2023-07-20")
    with open(os.path.join(out, "backtest.json"), "w") as f:
        json.dump(bt, f)
    r = run_render(script, out)
    check(r.returncode == 0, f"report.py on backtest-rejections exited {r.returncode}: {r.stderr.strip()}")
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        raw = f.read()
    rows = load_backtest_files(out)
    check_backtest_only(parse(raw), raw, rows)
    check(raw.count('class="num reject"') == 3,
          "backtest-rejections: expected three p-values marked as rejections (Kupiec, ES, margin calls)")
    items = check_headline_rejections(raw)
    check(items[0].startswith("unhedged 99%: ES test rejects (Z2 ") and "model understates tail losses" in items[0]
          and items[1] == "hedged 95%: Kupiec rejects (too many exceptions: 2 vs 1.0 expected: model understates risk)"
          and items[2] == "margin-call test rejects (too many calls: 3 vs 0.6 expected, p 0.02: the collateral the "
                          "model sized was too thin)",
          f"backtest-rejections: headline {items}")
    check_headline_zones(raw)
    check(len(expected_zone_flags(BACKTEST)) == 2, f"backtest-rejections: zone flags {expected_zone_flags(BACKTEST)}")

    # A run directory with a backtest beside it: everything as before, and the backtest section
    # after the replays.
    out = os.path.join(work, "run-with-backtest")
    shutil.copytree(os.path.join(report_dir, "fixture"), out)
    for f in ("backtest.json", "backtest.csv"):
        shutil.copyfile(os.path.join(report_dir, "fixture_backtest", f), os.path.join(out, f))
    # A calm history's margin calls: 0.0012 expected is shown as such, not as 0.00.
    with open(os.path.join(out, "backtest.json")) as f:
        bt = json.load(f)
    bt["margin_call_test"]["expected"] = 0.0012
    with open(os.path.join(out, "backtest.json"), "w") as f:
        json.dump(bt, f)
    r = run_render(script, out)
    check(r.returncode == 0, f"report.py on a run with a backtest exited {r.returncode}: {r.stderr.strip()}")
    check('data-key="backtest.margin_call_test.expected">1.2e-03<' in open(os.path.join(out, "report.html")).read(),
          "a small expected count is not shown to two significant digits")
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        raw = f.read()
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    load_model(out)
    rows = load_backtest_files(out)
    check_report(parse(raw), raw, summary, read_bands(os.path.join(out, "bands.csv")), expect_regimes=True,
                 backtest=rows)
    check('href="#backtest"' in raw, "the run report's navigation does not link the backtest")
    # Page one carries the backtest's warnings with its verdict.
    box = re.search(r'<div class="warnings" id="summary-backtest-warnings"[^>]*>(.*?)</div>', raw, re.S)
    check(box is not None and BACKTEST["warnings"], "page one: no backtest warnings box (the fixture has warnings)")
    if box:
        items = [html.unescape(" ".join(i.split())) for i in re.findall(r"<li>(.*?)</li>", box.group(1), re.S)]
        check(items == BACKTEST["warnings"], f"page one's backtest warnings {items}, backtest.json {BACKTEST['warnings']}")
        check(raw.index('id="summary-backtest-warnings"') < raw.index('<section id="backtest"'),
              "page one's backtest warnings are not before the backtest section")

    # Error paths: exit 2 and one line naming the file and the field.
    def json_case(label, edit, must_name, base="fixture_backtest"):
        broken = os.path.join(work, f"bt-{label}")
        shutil.copytree(os.path.join(report_dir, base), broken)
        if base == "fixture":
            for f in ("backtest.json", "backtest.csv"):
                shutil.copyfile(os.path.join(report_dir, "fixture_backtest", f), os.path.join(broken, f))
        path = os.path.join(broken, "backtest.json")
        with open(path) as f:
            bt = json.load(f)
        edit(bt)
        with open(path, "w") as f:
            json.dump(bt, f)
        check_error(script, broken, must_name, None, code=2)

    def set_in(path, value):
        def edit(bt):
            obj = bt
            for part in path[:-1]:
                obj = obj[part]
            if value is KeyError:
                del obj[path[-1]]
            else:
                obj[path[-1]] = value
        return edit

    json_case("p-string", set_in(["levels", "0.99", "hedged", "kupiec_p"], "0.2"),
              "backtest.json: levels.0.99.hedged.kupiec_p: expected a number")
    json_case("no-light", set_in(["levels", "0.95", "unhedged", "traffic_light"], KeyError),
              "backtest.json: levels.0.95.unhedged: missing key 'traffic_light'")
    json_case("amber", set_in(["levels", "0.99", "hedged", "traffic_light"], "amber"),
              "backtest.json: levels.0.99.hedged.traffic_light: 'amber'")
    json_case("half-exception", set_in(["levels", "0.99", "hedged", "exceptions"], 1.5),
              "backtest.json: levels.0.99.hedged.exceptions: expected a whole number")
    json_case("es-zone", set_in(["levels", "0.95", "hedged", "es_test", "zone"], "maybe"),
              "backtest.json: levels.0.95.hedged.es_test.zone: 'maybe'")
    json_case("fit-converged", set_in(["fits", 1, "converged"], "yes"),
              "backtest.json: fits.1.converged: expected true or false")
    json_case("format", set_in(["format"], "betahedge.backtest/2"), "backtest.json: format")
    json_case("in-run", set_in(["hedge_effectiveness", "realised"], None),
              "backtest.json: hedge_effectiveness.realised: is null", base="fixture")

    def csv_case(label, edit, must_name):
        broken = os.path.join(work, f"bt-csv-{label}")
        shutil.copytree(os.path.join(report_dir, "fixture_backtest"), broken)
        path = os.path.join(broken, "backtest.csv")
        with open(path, newline="") as f:
            table = list(csv.reader(f))
        edit(table)
        with open(path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(table)
        check_error(script, broken, must_name, None, code=2)

    def drop_column(name):
        def edit(table):
            i = table[0].index(name)
            for row in table:
                del row[i]
        return edit

    def set_cell(line, column, value):
        def edit(table):
            table[line - 1][table[0].index(column)] = value
        return edit

    csv_case("column", drop_column("es_hedged_0.99"), "backtest.csv: line 1: missing column 'es_hedged_0.99'")
    with open(os.path.join(report_dir, "fixture_backtest", "backtest.csv"), newline="") as f:
        table = list(csv.DictReader(f))
    flipped = next(i for i, r in enumerate(table) if r["exception_hedged_0.99"] == "0")
    hedged = sum(int(r["exception_hedged_0.99"]) for r in table)
    csv_case("flag", set_cell(flipped + 2, "exception_hedged_0.99", "1"),
             f"backtest.csv: column 'exception_hedged_0.99': {hedged + 1} exceptions on the sampled rows, but "
             f"backtest.json levels.0.99.hedged.exceptions is {hedged}")
    csv_case("nan", set_cell(5, "realised_hedged", "nan"), "backtest.csv: line 5: column 'realised_hedged': not a "
                                                            "finite number")
    csv_case("row", lambda table: table.pop(7), "backtest.csv: 59 data rows, but backtest.json test_dates is 60")
    csv_case("two", set_cell(3, "sampled", "2"), "backtest.csv: line 3: column 'sampled': expected 0 or 1")
    broken = os.path.join(work, "bt-no-csv")
    shutil.copytree(os.path.join(report_dir, "fixture_backtest"), broken)
    os.remove(os.path.join(broken, "backtest.csv"))
    check_error(script, broken, "backtest.csv: file not found", None, code=2)


def check_run(run_dir, source_dir):
    """The report of a real `betahedge run` output directory: every number equals summary.json's."""
    binary = shutil.which("chromium")
    check(binary is not None, "chromium is not installed; it renders the report in this test")
    report = os.path.join(run_dir, "report.html")
    check(os.path.isfile(report), f"no report.html in {run_dir}")
    with open(report, encoding="utf-8") as f:
        raw = f.read()
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    load_model(run_dir)
    bands = read_bands(os.path.join(run_dir, "bands.csv"))
    backtest = load_backtest_files(run_dir)  # run.yaml's backtest: block, when it has one
    with tempfile.TemporaryDirectory(prefix="betahedge-report-run-") as work:
        page = parse(chromium(binary, ["--dump-dom", "file://" + os.path.abspath(report)], work))
    if backtest is not None:
        check_backtest_files(backtest, load_renderer(renderer_path(source_dir)), "run")
    check_report(page, raw, summary, bands, expect_regimes=os.path.isfile(os.path.join(run_dir, "regimes.csv")),
                 backtest=backtest)
    print("report.run_output_numbers_match_summary: OK")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--check-run"):
        print("usage: test_report.py SOURCE_DIR [--check-run OUT_DIR]", file=sys.stderr)
        sys.exit(2)
    try:
        if len(sys.argv) == 4:
            check_run(os.path.abspath(sys.argv[3]), os.path.abspath(sys.argv[1]))
        else:
            main(os.path.abspath(sys.argv[1]))
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: timed out: {' '.join(map(str, e.cmd))[:200]}", file=sys.stderr)
        sys.exit(1)
