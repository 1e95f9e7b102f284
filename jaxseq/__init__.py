"""jaxseq: sequence models for time series in JAX/Flax.

Pure-function recurrent cells run under ``jax.lax.scan``, convolutional stacks, the model zoo
of chapter 15 of Geron's *Hands-On Machine Learning* (2nd ed.), and many seeds trained and
evaluated in one compiled program with ``vmap``.

The front door for forecasting: ``jaxseq.Forecaster(models=..., horizon=..., window=...)``
with ``fit(df)``, ``predict()``, ``cross_validation()``, ``leaderboard()``, ``save(path)``
and ``jaxseq.load(path)`` (:mod:`jaxseq.app.forecaster`).
"""

from jaxseq import cells, data, models
from jaxseq.cells import Cell, LSTMState
from jaxseq.errors import InputError
from jaxseq.recurrent import RNN, Bidirectional, scan_cell

__all__ = [
    "RNN",
    "Bidirectional",
    "Cell",
    "Forecaster",
    "InputError",
    "LSTMState",
    "cells",
    "data",
    "load",
    "models",
    "scan_cell",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # the front door lives in the application layer, imported on first use so that the
    # library (cells, models, training) loads without pandas and the application
    if name in ("Forecaster", "load"):
        from jaxseq.app import forecaster

        return getattr(forecaster, name)
    raise AttributeError(f"module 'jaxseq' has no attribute {name!r}")
