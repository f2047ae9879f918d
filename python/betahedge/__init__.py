"""betahedge: Monte Carlo risk for beta-hedged portfolios, from Python.

The calls mirror the CLI (SPEC 3) and return its files as Python objects::

    import betahedge
    model = betahedge.calibrate("data/demo_prices.csv", "BTC", regimes=2)
    result = betahedge.simulate("configs/demo/book.yaml", model=model, paths=100_000)
    result.summary["scenarios"][0]["hedged"]["es"]["0.99"]
    result.outcomes["pnl_hedged"]        # numpy view, one value per path

The compiled engine (``betahedge._core``) is imported on the first call, so that
``betahedge.report`` and the pure-Python parts import without it.
"""
from .api import backtest, bands, calibrate, optimize, run, simulate, stress
from .book import Book
from .errors import DeviceError, Error, InputError, NumericalError
from .model import Model
from .results import BacktestResult, Outcomes, Result, RiskResult, RunResult

__all__ = [
    "calibrate", "simulate", "stress", "optimize", "bands", "run", "backtest",
    "Model", "Book",
    "Result", "RiskResult", "RunResult", "BacktestResult", "Outcomes",
    "Error", "InputError", "NumericalError", "DeviceError",
    "version", "backends",
]


def version() -> str:
    """The engine's version (``betahedge --version``)."""
    from . import _core

    return _core.version()


def backends() -> list[str]:
    """The backends compiled in: ``"cpu"``, and ``"cuda"`` in a build with CUDA."""
    from . import _core

    return list(_core.backends())


def __getattr__(name):
    if name == "__version__":
        return version()
    raise AttributeError(f"module 'betahedge' has no attribute {name!r}")
