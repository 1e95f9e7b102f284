"""The zoo's register: each model's builder and the chapter's setup for it, by name.

A builder is a function ``(dims) -> flax module``; :func:`register` files it with its task,
mode, learning rate and the chapter's figures. ``jaxseq.models.get`` builds a model from its
entry; :func:`names`, :func:`check_name` and :func:`describe` list the entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn

from jaxseq.errors import InputError

MODES = ("feedforward", "seq2vec", "seq2seq", "vec2seq", "encoder_decoder", "convolutional")


class Dims(NamedTuple):
    """What a builder needs to know: input steps and features, horizon, forecast columns, and
    the known-future covariates at the end of each input step (``future`` per horizon step;
    see :func:`jaxseq.data.windows_at`).

    With a probabilistic head a builder sees ``n_targets`` multiplied by the head's size: every
    forecast value becomes ``size`` outputs (``index = (k * targets + j) * size + p``)."""

    window: int
    features: int
    horizon: int
    n_targets: int
    future: int = 0

    @property
    def outputs(self) -> int:
        """Values forecast per example (or per step, for seq2seq): ``horizon * n_targets``."""
        return self.horizon * self.n_targets


class Entry(NamedTuple):
    """A registered model: its builder and the chapter's setup (see :func:`register`)."""

    builder: Callable[[Dims], nn.Module]
    task: str
    mode: str
    learning_rate: float
    reference: int | None
    notebook: float | None
    notebook_spread: tuple[str, str] | None
    fixed_window: bool
    target_steps: Callable[[Dims], tuple[int, int] | None] | None
    description: str


_ZOO: dict[str, Entry] = {}


def register(
    name: str,
    *,
    task: str,
    mode: str,
    description: str,
    learning_rate: float = 1e-3,
    reference: int | None = None,
    notebook: float | None = None,
    notebook_spread: tuple[str, str] | None = None,
    fixed_window: bool = False,
    target_steps: Callable[[Dims], tuple[int, int] | None] | None = None,
):
    """Add a builder ``(dims) -> flax module`` to the zoo under ``name``."""

    def decorate(builder):
        if name in _ZOO:
            raise ValueError(f"model {name!r} is registered twice")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        _ZOO[name] = Entry(
            builder,
            task,
            mode,
            learning_rate,
            reference,
            notebook,
            notebook_spread,
            fixed_window,
            target_steps,
            description,
        )
        return builder

    return decorate


def names() -> list[str]:
    """Every model in the zoo, in the chapter's order."""
    return list(_ZOO)


def check_name(name: str) -> str:
    """``name`` if the zoo has it; else an :class:`InputError` that lists the zoo."""
    if name not in _ZOO:
        raise InputError(f"unknown model {name!r}; known models: {', '.join(_ZOO)}")
    return name


def entry(name: str) -> Entry:
    """The registered entry of ``name`` (an :class:`InputError` if there is none)."""
    return _ZOO[check_name(name)]


def describe() -> list[tuple[str, str, str, str]]:
    """``(name, task, mode, description)`` for every model, for listings."""
    return [(n, e.task, e.mode, e.description) for n, e in _ZOO.items()]
