"""The calls: calibrate, simulate, stress, optimize, bands, run and backtest. Each reads its
inputs as text (files, DataFrames, dicts), checks its keywords, and hands the same text the
CLI would read to the compiled engine, so the numbers and the validation are the CLI's."""
from __future__ import annotations

import os

from . import _inputs
from .book import Book, dict_source, yaml_text
from .errors import InputError, call_core
from .model import Model
from .results import BacktestResult, Outcomes, RiskResult, RunResult

__all__ = ["calibrate", "simulate", "stress", "optimize", "bands", "run", "backtest"]


def _core():
    from . import _core as core

    return core


def _book(config) -> Book:
    return config if isinstance(config, Book) else Book(config)


def _model_inputs(model) -> tuple[str | None, str, object]:
    """(model_json or None for the book's model:, its name in messages, the Model or None)."""
    if model is None:
        return None, "", None
    if isinstance(model, Model):
        return model.to_json(), model.source, model
    if _inputs.is_path(model):
        loaded = Model.from_json(os.fspath(model))
        return loaded.to_json(), loaded.source, loaded
    raise InputError(f"model: must be a Model, a model.json path or None, got {type(model).__name__}", "model")


def calibrate(prices, benchmark, *, regimes=2, dist="gaussian", assets=None, start=None, end=None, fill=None,
              seed=42, starts=10, name="DataFrame", progress=None) -> Model:
    """Fits betas and the regime model to a price history (``betahedge calibrate``).

    ``prices``: a prices CSV path, or a DataFrame indexed by date (DatetimeIndex or ISO
    strings) with one column per symbol and NaN for a missing close; both give the same model
    bit for bit, but for model.json's ``calibration.source``: a file's path, or ``name`` for a
    DataFrame (the name its messages give too; a path's own name is used for a path).
    ``regimes``: 1..8 or ``"auto"`` (BIC). ``dist``: ``"gaussian"`` or
    ``"student-t"``. ``assets``: the symbols to model (benchmark added), default every column.
    ``start``/``end``: the window (YYYY-MM-DD or dates). ``fill="forward"`` repeats the previous
    close in empty cells. ``seed`` and ``starts``: the EM starts.
    """
    if not isinstance(benchmark, str) or not benchmark:
        raise InputError("benchmark: must be a symbol (a non-empty str)", "benchmark")
    num_regimes = _inputs.regime_count("regimes", regimes)
    _inputs.choice("dist", dist, _inputs.DISTRIBUTIONS)
    if assets is None:
        assets = []
    elif isinstance(assets, str) or not all(isinstance(a, str) for a in assets):
        raise InputError("assets: must be a list of symbols (str)", "assets")
    start = _inputs.iso_date("start", start)
    end = _inputs.iso_date("end", end)
    if fill is not None and fill != "forward":
        raise InputError(f"fill: only 'forward' is supported, got {fill!r}", "fill")
    seed = _inputs.whole_number("seed", seed, 0, _inputs.MAX_SEED)
    starts = _inputs.whole_number("starts", starts, 1, 1000)
    _inputs.callback("progress", progress)
    text, source = _inputs.prices_text(prices, frame_name=_inputs.source_name("name", name))
    core = _core()
    out = call_core(core.calibrate, text, source, benchmark, list(assets), num_regimes, dist, seed, starts, start, end,
                    fill == "forward", progress, sources={source: "prices"})
    return Model(out["model_json"], source="<calibrated model>", regimes_csv=out["regimes_csv"], notes=out["notes"],
                 warnings=out["warnings"])


def _risk_call(command: str, config, model, prices, progress, overrides: dict) -> RiskResult:
    book = _book(config)
    _inputs.callback("progress", progress)
    model_json, model_source, model_object = _model_inputs(model)
    if prices is not None and command in ("simulate", "bands"):
        raise InputError(f"prices: {command} runs no replay stress; prices= is for stress and optimize", "prices")
    prices_csv, prices_source = _inputs.prices_text(prices) if prices is not None else (None, "")
    sources = {book.source: "config", model_source: "model", prices_source: "prices"}
    # With model= the engine reads the book without model: and names the model passed.
    book_yaml = book.to_yaml()
    core = _core()
    out = call_core(core.risk_job, command, book_yaml, book.source, model_json, model_source, prices_csv, prices_source,
                    overrides, progress, sources=sources)

    def outcomes() -> Outcomes:
        o = call_core(core.outcomes, book_yaml, book.source, model_json, model_source, overrides, progress,
                      sources=sources)
        return Outcomes(o["columns"], o["values"], o["collateral"])

    def used_model() -> Model:  # the book's model: is read only when asked for
        return model_object if model_object is not None else Model.from_json(book.model_path)

    return RiskResult(command, out["files"], out["warnings"], used_model, outcomes)


def _risk_doc(command: str, what: str):
    def decorate(function):
        function.__doc__ = f"""{what} (``betahedge {command}``).

    ``config``: a :class:`Book`, a book.yaml path or a dict. ``model``: a :class:`Model`, a
    model.json path, or None for the book's ``model:``. The keywords override the book's
    ``simulation:`` block as the CLI's options do: ``paths`` (2..2^40), ``seed``,
    ``horizon_days``, ``backend`` (``"auto"``, ``"cuda"``, ``"cpu"``), ``threads`` (0 = all
    cores), ``batch_size`` (0 = automatic). ``progress``: a callable receiving each progress
    line. Returns a :class:`RiskResult` whose ``summary`` is the CLI's summary.json.
    """
        return function
    return decorate


@_risk_doc("simulate", "The base scenario: hedged and unhedged risk")
def simulate(config, *, model=None, prices=None, paths=None, seed=None, backend=None, threads=None, batch_size=None,
             horizon_days=None, progress=None) -> RiskResult:
    o = _inputs.overrides(paths=paths, horizon_days=horizon_days, seed=seed, backend=backend, threads=threads,
                          batch_size=batch_size)
    return _risk_call("simulate", config, model, prices, progress, o)


@_risk_doc("stress", "The base scenario and every stress of the book's stress: list (stress.csv); ``prices`` (a "
           "CSV path or DataFrame) is the history its replay stresses replay")
def stress(config, *, model=None, prices=None, paths=None, seed=None, backend=None, threads=None, batch_size=None,
           horizon_days=None, progress=None) -> RiskResult:
    o = _inputs.overrides(paths=paths, horizon_days=horizon_days, seed=seed, backend=backend, threads=threads,
                          batch_size=batch_size)
    return _risk_call("stress", config, model, prices, progress, o)


@_risk_doc("optimize", "The optimal hedge ratio (min variance, min ES, margin-constrained) per scenario "
           "(hedge_ratio_curve.csv); ``prices`` as for stress")
def optimize(config, *, model=None, prices=None, paths=None, seed=None, backend=None, threads=None, batch_size=None,
             horizon_days=None, progress=None) -> RiskResult:
    o = _inputs.overrides(paths=paths, horizon_days=horizon_days, seed=seed, backend=backend, threads=threads,
                          batch_size=batch_size)
    return _risk_call("optimize", config, model, prices, progress, o)


@_risk_doc("bands", "The target-beta band table and recommendation (bands.csv)")
def bands(config, *, model=None, prices=None, paths=None, seed=None, backend=None, threads=None, batch_size=None,
          horizon_days=None, progress=None) -> RiskResult:
    o = _inputs.overrides(paths=paths, horizon_days=horizon_days, seed=seed, backend=backend, threads=threads,
                          batch_size=batch_size)
    return _risk_call("bands", config, model, prices, progress, o)


def run(config, *, paths=None, seed=None, backend=None, threads=None, batch_size=None, horizon_days=None,
        progress=None) -> RunResult:
    """The overnight job (``betahedge run``): calibrate (or load the book's model), the base
    scenario and every stress, the optimiser, the bands, and the backtest when run.yaml has a
    ``backtest:`` block.

    ``config``: a run.yaml path, or the same document as a dict (its relative ``book:`` and
    ``calibrate.prices`` resolve against the current directory; ``book:`` may be a path, a
    :class:`Book` or a dict). The keywords are the CLI's run options. Returns a
    :class:`RunResult`; its ``write(out_dir)`` renders report.html as the CLI does when run.yaml's
    ``report:`` is true (the default).
    """
    o = _inputs.overrides(paths=paths, horizon_days=horizon_days, seed=seed, backend=backend, threads=threads,
                          batch_size=batch_size)
    _inputs.callback("progress", progress)
    if isinstance(config, dict):
        document = dict(config)
        book = document.get("book")
        if isinstance(book, dict) or (isinstance(book, Book) and book.path is None):
            return _run_with_book_in_memory(document, _book(book), o, progress)
        if isinstance(book, Book):
            document["book"] = book.source
        run_yaml, run_source = yaml_text(document), dict_source()
    elif _inputs.is_path(config):
        run_yaml, run_source = _inputs.read_input_file(config, "config file", _inputs.MAX_CONFIG_BYTES, "config")
        run_source = os.path.abspath(run_source)
    else:
        raise InputError(f"config: must be a run.yaml path or a dict, got {type(config).__name__}", "config")
    out = call_core(_core().run, run_yaml, run_source, o, progress, sources={run_source: "config"})
    return RunResult(out["files"], out["warnings"], out["report"])


def _run_with_book_in_memory(document: dict, book: Book, overrides: dict, progress) -> RunResult:
    """run() of a run.yaml dict whose ``book:`` is a dict or a Book made from one. The engine
    reads a run's book from its file, so the book's YAML (Book.to_yaml(), its ``model:`` made
    absolute against the directory the Book resolves it in) goes into a temporary file for the
    call; messages name the book as ``<dict>`` again, with the lines of Book.to_yaml()."""
    import tempfile

    book_document = book.to_dict()
    if isinstance(book_document.get("model"), str):
        book_document["model"] = os.path.abspath(book.model_path)
    run_source = dict_source()
    with tempfile.TemporaryDirectory(prefix="betahedge-run-") as folder:
        book_file = os.path.join(folder, "book.yaml")
        with open(book_file, "w", encoding="utf-8") as f:
            f.write(yaml_text(book_document, "book"))
        document = dict(document, book=book_file)
        try:
            out = call_core(_core().run, yaml_text(document), run_source, overrides, progress,
                            sources={run_source: "config", book_file: "book"})
        except InputError as e:
            raise InputError(str(e).replace(book_file, book.source), e.field) from None
    return RunResult(out["files"], out["warnings"], out["report"])


def backtest(prices, config, *, benchmark=None, regimes=2, dist="gaussian", window_days=730, refit_every=20,
             horizon_days=1, from_=None, to=None, paths=100000, seed=None, backend=None, threads=None,
             batch_size=None, fill=None, progress=None) -> BacktestResult:
    """Walk-forward test of the book's VaR/ES forecasts (``betahedge backtest``).

    At each test date from ``from_`` to ``to`` the model is refitted every ``refit_every``
    dates on the ``window_days`` returns before it (``regimes``, ``dist``, ``benchmark``
    default: the book's hedge.benchmark), ``paths`` paths simulate the book over
    ``horizon_days``, and the realised P&L is tested against the forecasts. ``prices``: a CSV
    path or DataFrame; ``config``: a Book, a path or a dict (its ``model:`` is not read).
    ``fill="forward"`` repeats the previous close in empty cells, as for calibrate.
    ``seed``, ``backend``, ``threads``, ``batch_size`` as for simulate. Returns a
    :class:`BacktestResult` whose ``summary`` is backtest.json.
    """
    options = {
        "regimes": _inputs.regime_count("regimes", regimes),
        "distribution": _inputs.choice("dist", dist, _inputs.DISTRIBUTIONS),
        "window_days": _inputs.whole_number("window_days", window_days, 1, 100000),
        "refit_every": _inputs.whole_number("refit_every", refit_every, 1, 1000000),
        "horizon_days": _inputs.whole_number("horizon_days", horizon_days, 1, _inputs.MAX_HORIZON_DAYS),
        "paths": _inputs.whole_number("paths", paths, _inputs.MIN_PATHS, _inputs.MAX_PATHS),
    }
    if fill is not None:
        if fill != "forward":
            raise InputError(f"fill: only 'forward' is supported, got {fill!r}", "fill")
        options["fill_forward"] = True
    if benchmark is not None:
        if not isinstance(benchmark, str) or not benchmark:
            raise InputError("benchmark: must be a symbol (a non-empty str)", "benchmark")
        options["benchmark"] = benchmark
    if (first := _inputs.iso_date("from_", from_)) is not None:
        options["from"] = first
    if (last := _inputs.iso_date("to", to)) is not None:
        options["to"] = last
    o = _inputs.overrides(seed=seed, backend=backend, threads=threads, batch_size=batch_size)
    _inputs.callback("progress", progress)
    book = _book(config)
    text, source = _inputs.prices_text(prices)
    # A backtest fits its own model at each refit: the engine reads a book without model: too.
    out = call_core(_core().backtest, text, source, book.to_yaml(), book.source, options, o, progress,
                    sources={source: "prices", book.source: "config"})
    return BacktestResult(out["files"], out["warnings"], out["lines"])
