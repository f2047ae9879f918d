"""betahedge: Monte Carlo risk engine for beta-hedged portfolios (the engine is betahedge._core)."""
from . import _core

__version__ = _core.version()
