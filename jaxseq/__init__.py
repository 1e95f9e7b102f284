"""jaxseq: sequence models for time series in JAX/Flax.

Pure-function recurrent cells run under ``jax.lax.scan``, convolutional stacks, the model zoo
of chapter 15 of Geron's *Hands-On Machine Learning* (2nd ed.), and many seeds trained and
evaluated in one compiled program with ``vmap``.
"""

from jaxseq import cells, data, models
from jaxseq.cells import Cell, LSTMState
from jaxseq.errors import InputError
from jaxseq.recurrent import RNN, Bidirectional, scan_cell

__all__ = [
    "RNN",
    "Bidirectional",
    "Cell",
    "InputError",
    "LSTMState",
    "cells",
    "data",
    "models",
    "scan_cell",
]
__version__ = "0.1.0"
