"""Data: the chapter's synthetic series, forecasting windows, chronological splits, scaling.

Three target layouts (``task``), each a flat last axis of ``horizon * n_targets`` values
ordered step-major (``index = k * n_targets + j`` for step ``k + 1`` ahead of target ``j``):

- ``"one_step"``: the next value, ``Y`` is ``[n, n_targets]``;
- ``"multi_step"``: the next ``horizon`` values as one vector, ``Y`` is ``[n, horizon * n_targets]``;
- ``"seq2seq"``: the next ``horizon`` values at *every* input step,
  ``Y`` is ``[n, window, horizon * n_targets]`` with ``Y[i, t, k] = series[i + t + 1 + k]``.

Inputs ``X`` are always ``[n, window, features]`` float32.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import numpy as np

from jaxseq.errors import InputError, check_finite, check_positive_int

TASKS = ("one_step", "multi_step", "seq2seq")

#: Rows of the chapter's 10,000 series used for each split (every recorded figure is on VALID).
CHAPTER_SPLITS = {"train": slice(0, 7000), "valid": slice(7000, 9000), "test": slice(9000, 10000)}


def generate_time_series(batch_size: int, n_steps: int, *, seed: int | None = None) -> np.ndarray:
    """The chapter's synthetic series, bit for bit: two sines of random frequency and phase plus noise.

    Args:
        batch_size: number of series.
        n_steps: length of each series; the time grid is ``linspace(0, 1, n_steps)``.
        seed: seeds a private ``RandomState`` (the same stream as the notebook's
            ``np.random.seed(seed)``); ``None`` draws from NumPy's global legacy RNG, as the notebook does.

    Returns:
        ``[batch_size, n_steps, 1]`` float32.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    n_steps = check_positive_int("n_steps", n_steps)
    rng = np.random if seed is None else np.random.RandomState(seed)
    freq1, freq2, offsets1, offsets2 = rng.rand(4, batch_size, 1)
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.rand(batch_size, n_steps) - 0.5)
    return series[..., np.newaxis].astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Split:
    """One split: inputs ``X`` ``[n, window, features]`` and targets ``Y`` (layout set by the task).

    NumPy arrays on the host, or JAX arrays once placed on devices (a split is a pytree)."""

    X: np.ndarray | jax.Array
    Y: np.ndarray | jax.Array

    def __len__(self) -> int:
        return len(self.X)


jax.tree_util.register_dataclass(Split, data_fields=["X", "Y"], meta_fields=[])


@dataclasses.dataclass(frozen=True)
class Scaler:
    """Per-column standardisation, fitted on the training split only.

    ``mean`` and ``scale`` are ``[features]``; ``inverse_targets`` undoes the scaling of a
    target array whose last axis is laid out step-major over ``target_columns``.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, series: np.ndarray) -> Scaler:
        """Fit on a ``[time, features]`` array (in float64: squares of large values stay finite)."""
        series = np.asarray(series, np.float64)
        mean = series.mean(axis=0)
        scale = series.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return cls(mean.astype(np.float64), scale.astype(np.float64))

    @classmethod
    def identity(cls, features: int) -> Scaler:
        """No scaling (``normalize="none"``): mean 0, scale 1."""
        return cls(np.zeros(features), np.ones(features))

    def transform(self, series: np.ndarray) -> np.ndarray:
        return ((np.asarray(series, np.float64) - self.mean) / self.scale).astype(np.float32)

    def inverse(self, series: np.ndarray) -> np.ndarray:
        return (series * self.scale + self.mean).astype(np.float32)

    def inverse_targets(self, Y: np.ndarray, target_columns: Sequence[int]) -> np.ndarray:
        cols = np.asarray(target_columns)
        reps = Y.shape[-1] // len(cols)
        mean = np.tile(self.mean[cols], reps)
        scale = np.tile(self.scale[cols], reps)
        return (np.asarray(Y) * scale + mean).astype(np.float32)

    def scale_error(self, mse: float, target_columns: Sequence[int]) -> float:
        """Convert an MSE on scaled targets back to the data's units (exact for one target)."""
        return float(mse * np.mean(self.scale[np.asarray(target_columns)] ** 2))


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Train, validation and test splits for one task.

    ``target_columns`` index the input features that are forecast; ``scaler`` is set when the
    series was standardised (fitted on the training part only).
    """

    train: Split
    valid: Split
    test: Split
    task: str
    window: int
    horizon: int
    target_columns: tuple[int, ...] = (0,)
    scaler: Scaler | None = None
    protocol: Protocol | None = None
    #: the windows early stopping reads when they are not the validation windows (a protocol
    #: with a selection half, :meth:`Protocol.halved`)
    stop: Split | None = None
    #: the windows intervals are calibrated on when they are not the validation windows (a
    #: protocol with a calibration part, :meth:`Protocol.halved`)
    calibrate: Split | None = None

    @property
    def monitored(self) -> Split:
        """The windows a trainer's early stopping reads: :attr:`stop`, else the validation
        windows."""
        return self.stop if self.stop is not None else self.valid

    def origins(self, name: str) -> np.ndarray:
        """Forecast origins of a split's windows (series index of the first forecast step)."""
        if self.protocol is None:
            raise InputError("this data set was not cut from one series: it has no origins")
        self.split(name)  # the name is checked there
        return self.protocol.origins(name)

    @property
    def features(self) -> int:
        return self.train.X.shape[-1]

    @property
    def n_targets(self) -> int:
        return len(self.target_columns)

    def split(self, name: str) -> Split:
        if name not in ("train", "valid", "test", "stop", "calibrate"):
            raise InputError(
                f"split must be 'train', 'valid', 'test', 'stop' or 'calibrate', got {name!r}"
            )
        if name == "stop":
            return self.monitored
        if name == "calibrate":
            return self.calibrate if self.calibrate is not None else self.valid
        return getattr(self, name)


def check_task(task: str) -> str:
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    return task


def seq2seq_targets(series: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """Targets for every step of a batch of series: ``Y[:, t, k] = series[:, t + 1 + k, j]``.

    Args:
        series: ``[n, window + horizon, n_targets]``.

    Returns:
        ``[n, window, horizon * n_targets]`` (step-major over targets).
    """
    n, _, n_targets = series.shape
    Y = np.empty((n, window, horizon, n_targets), dtype=np.float32)
    for k in range(horizon):
        Y[:, :, k] = series[:, 1 + k : 1 + k + window]
    return Y.reshape(n, window, horizon * n_targets)


def chapter_data(
    task: str = "seq2seq",
    *,
    n_series: int = 10_000,
    window: int = 50,
    horizon: int = 10,
    seed: int = 42,
) -> Dataset:
    """The chapter's data set for one task, with its 70/20/10 split of the series.

    ``one_step`` draws ``window + 1`` steps; ``multi_step`` and ``seq2seq`` draw a new
    ``window + horizon`` step series (a finer time grid, as the notebook does), both seeded with
    ``seed`` right before the draw. With the defaults the naive one-step MSE on ``valid`` is
    0.020211367 and the naive ten-step MSE is 0.25697.
    """
    check_task(task)
    n_series = check_positive_int("n_series", n_series, minimum=10)
    window = check_positive_int("window", window)
    horizon = check_positive_int("horizon", horizon)
    if task == "one_step":
        series = generate_time_series(n_series, window + 1, seed=seed)
        X, Y = series[:, :window], series[:, -1]
        horizon = 1
    else:
        series = generate_time_series(n_series, window + horizon, seed=seed)
        X = series[:, :window]
        if task == "multi_step":
            Y = series[:, -horizon:, 0]
        else:
            Y = seq2seq_targets(series, window, horizon)
    bounds = _chapter_bounds(n_series)
    splits = {name: Split(X[s], Y[s]) for name, s in bounds.items()}
    return Dataset(
        splits["train"], splits["valid"], splits["test"], task=task, window=window, horizon=horizon
    )


def _chapter_bounds(n_series: int) -> dict[str, slice]:
    if n_series == 10_000:
        return CHAPTER_SPLITS
    a, b = int(n_series * 0.7), int(n_series * 0.9)
    return {"train": slice(0, a), "valid": slice(a, b), "test": slice(b, n_series)}


def as_series(series, name: str = "series") -> np.ndarray:
    """Check a user series and return it as ``[time, features]`` float32.

    Accepts 1-D ``[time]`` (univariate) or 2-D ``[time, features]`` (multivariate) numbers.
    """
    try:
        array = np.asarray(series)
    except ValueError:
        raise InputError(
            f"{name} must be a rectangular array of numbers (rows of equal length)"
        ) from None
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name} must hold numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim not in (1, 2):
        raise InputError(
            f"{name} must be 1-D [time] or 2-D [time, features], got shape {array.shape}"
        )
    if array.ndim == 1:
        array = array[:, None]
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {array.shape})")
    check_finite(name, array)
    return array.astype(np.float32)


def _check_targets(targets, features: int) -> tuple[int, ...]:
    if targets is None:
        return tuple(range(features)) if features == 1 else (0,)
    targets = (targets,) if isinstance(targets, int | np.integer) else tuple(targets)
    if not targets:
        raise InputError("targets must name at least one column")
    for j in targets:
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 0 <= j < features:
            raise InputError(f"targets must be column indices in [0, {features}), got {j!r}")
    return tuple(int(j) for j in targets)


def windows_at(
    data: np.ndarray,
    origins,
    window: int,
    horizon: int,
    task: str,
    cols: Sequence[int],
    future: Sequence[int] = (),
    base: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The windows of ``data`` ``[time, features]`` at forecast ``origins``: the single place
    that cuts inputs and targets.

    An origin ``o`` is the index of the first forecast step: inputs ``data[o - window : o]``,
    targets ``data[o : o + horizon, cols]`` (seq2seq: the next ``horizon`` values at every input
    step, the last of which is the forecast made at ``o``). No ordinary input lies at or after
    ``o``, so a past covariate (any column not in ``future``) is never read from ``o`` on.

    ``future`` names known-future columns (a price plan, calendar features). Input step ``t``
    (series index ``i = o - window + t``) then carries, after the ``features`` values of row
    ``i``, the lead features of the ``horizon`` rows after it, step-major
    (``lead index = k * len(future) + j``)::

        X[n, t, features + k * len(future) + j] = data[i + 1 + k, future[j]],   k < horizon

    so the last input step holds exactly the horizon's values ``data[o : o + horizon, future]``
    (what :class:`jaxseq.models.EncoderDecoder` hands its decoder, and seq2seq models read at
    every step beside that step's targets), and nothing past ``o + horizon - 1`` is read:
    the origins that have targets (``o + horizon <= len(data)``) have their lead features too.

    ``base`` ``[time + 1, horizon, b]`` holds a base model's forecasts from every origin
    (:mod:`jaxseq.hybrid`: ``base[o, k]`` forecasts step ``o + k`` from ``data[:o]``); each
    is one more known-future column after ``future``'s, read at the origin after the step::

        X[n, t, features + k * (len(future) + b) + len(future) + c] = base[i + 1, k, c]

    Args:
        data: ``[time, features]``.
        origins: ``[n]`` integer origins with ``window <= o <= time - horizon``.
        window, horizon: input steps and steps forecast.
        task: the target layout (module docstring).
        cols: the target columns.
        future: the known-future columns (default none: ``X`` is ``data``'s rows only).
        base: a base model's forecasts (default none).

    Returns:
        ``X`` ``[n, window, features + horizon * (len(future) + b)]`` and ``Y`` in the task's
        layout, float32.
    """
    origins = np.asarray(origins, np.int64)
    index = (origins - window)[:, None] + np.arange(window + horizon)[None, :]
    chunks = data[index]  # [n, window + horizon, features]
    X = chunks[:, :window]
    targets = chunks[:, :, list(cols)]
    if task == "seq2seq":
        Y = seq2seq_targets(targets, window, horizon)
    else:
        Y = targets[:, window:].reshape(len(origins), horizon * len(cols))
    future = _check_future(future, data.shape[1])
    parts = []
    if future:
        lead = index[:, :window, None] + 1 + np.arange(horizon)[None, None, :]  # [n, window, h]
        parts.append(data[lead][..., future])  # [n, window, horizon, len(future)]
    if base is not None:
        if base.shape[:2] != (len(data) + 1, horizon):
            raise InputError(
                f"base must be [time + 1, horizon, b] = [{len(data) + 1}, {horizon}, b], "
                f"got shape {base.shape}"
            )
        parts.append(base[index[:, :window] + 1])  # [n, window, horizon, b]
    if parts:
        leads = np.concatenate(parts, axis=-1)
        leads = leads.reshape(len(origins), window, horizon * leads.shape[-1])
        X = np.concatenate([X, leads], axis=-1)
    return X.astype(np.float32), Y.astype(np.float32)


def _check_future(future, features: int) -> list[int]:
    future = list(future)
    for j in future:
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 0 <= j < features:
            raise InputError(f"future must be column indices in [0, {features}), got {j!r}")
    if len(set(future)) != len(future):
        raise InputError(f"future names a column twice ({future}); name each column once")
    return [int(j) for j in future]


def make_windows(
    series,
    window: int,
    horizon: int = 1,
    task: str = "one_step",
    *,
    targets: int | Sequence[int] | None = None,
    stride: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into forecasting windows.

    Args:
        series: ``[time]`` or ``[time, features]``.
        window: input steps per example.
        horizon: steps ahead to forecast (``one_step`` always forecasts 1).
        task: ``one_step``, ``multi_step`` or ``seq2seq`` (see the module docstring).
        targets: column(s) to forecast; default column 0.
        stride: steps between consecutive windows.

    Returns:
        ``X`` ``[n, window, features]`` and ``Y`` in the task's layout.
    """
    data = as_series(series)
    check_task(task)
    window = check_positive_int("window", window)
    horizon = 1 if task == "one_step" else check_positive_int("horizon", horizon)
    stride = check_positive_int("stride", stride)
    cols = _check_targets(targets, data.shape[1])
    span = window + horizon
    if len(data) < span:
        raise InputError(
            f"series has {len(data)} steps, too short for window {window} + horizon {horizon} "
            f"= {span}; use a longer series or a smaller window"
        )
    origins = np.arange(window, len(data) - horizon + 1, stride)
    return windows_at(data, origins, window, horizon, task, cols)


def resolve_size(size, length: int, name: str) -> int:
    """A part's size in steps: an integer >= 1 is steps, a number in (0, 1) a share of
    ``length`` (rounded, at least 1)."""
    flag = "--" + name.replace("_", "-")
    if isinstance(size, bool) or not isinstance(size, int | float | np.integer | np.floating):
        raise InputError(f"{flag} must be a number of steps or a fraction below 1, got {size!r}")
    if isinstance(size, int | np.integer):
        if size < 1:
            raise InputError(f"{flag} must be at least 1 step, got {size}")
        return int(size)
    if not (np.isfinite(size) and 0 < size < 1):
        raise InputError(
            f"{flag} must be a whole number of steps or a fraction in (0, 1), got {size!r}"
        )
    return max(1, int(round(length * float(size))))


@dataclasses.dataclass(frozen=True)
class Protocol:
    """Where the parts of a series lie, in steps: training targets in ``[0, train_end)``,
    validation targets in ``[train_end, valid_end)``, test targets in ``[valid_end, length)``.

    Inputs reach back across the boundaries (never past a forecast origin), so a part only has
    to hold its own targets. ``origins(name)`` are the forecast origins whose whole horizon lies
    in that part: every step for training, every ``stride``-th for validation and test.

    With ``select_start`` and ``calibrate_start`` (:meth:`halved`) the validation origins are
    split in time into three runs, each chosen by nothing the others chose: those before
    ``select_start``, ``origins("stop")``, are the ones early stopping reads;
    ``origins("valid")``, up to ``calibrate_start``, rank and combine forecasts; the last,
    ``origins("calibrate")``, calibrate intervals. Without them ``stop`` and ``valid`` are every
    validation origin and ``calibrate`` is ``valid``.
    """

    length: int
    window: int
    horizon: int
    train_end: int
    valid_end: int
    stride: int = 1
    select_start: int | None = None
    calibrate_start: int | None = None

    def origins(self, name: str) -> np.ndarray:
        lo, hi, stride = {
            "train": (self.window, self.train_end, 1),
            "valid": (self.train_end, self.valid_end, self.stride),
            "stop": (self.train_end, self.valid_end, self.stride),
            "calibrate": (self.train_end, self.valid_end, self.stride),
            "test": (self.valid_end, self.length, self.stride),
        }[name]
        origins = np.arange(max(lo, self.window), hi - self.horizon + 1, stride)
        first = self.select_start if name != "stop" else None
        last = self.calibrate_start if name != "calibrate" else None
        if name == "stop":
            last = self.select_start
        elif name == "calibrate":
            first = self.calibrate_start or self.select_start
        elif name != "valid":
            return origins
        keep = np.ones(len(origins), bool)
        if first is not None:
            keep &= origins >= first
        if last is not None:
            keep &= origins < last
        return origins[keep]

    def stopping_end(self) -> int:
        """The step after the last target the early-stopping windows read: the end of the
        validation part, or with a stop part (:meth:`halved`) the end of its last window.
        What training chooses from the data (its epoch, the normalisation) reads no later
        value."""
        if not self.select_start:
            return self.valid_end
        stop = self.origins("stop")
        return int(stop[-1]) + self.horizon if len(stop) else self.train_end

    def split_names(self) -> tuple[str, ...]:
        """The parts with windows of their own: train, valid, test, and stop and calibrate
        when the validation origins are split (:meth:`halved`)."""
        names = ("train", "valid", "test") + (("stop",) if self.select_start else ())
        return names + (("calibrate",) if self.calibrate_start else ())

    def halved(self) -> Protocol:
        """This protocol with its validation origins split in time: the first half to stop
        early on, then half of the rest (rounded up) to select on and the last to calibrate
        intervals on. With fewer than two origins unchanged; with two or three, no
        calibration part (``calibrate`` is then ``valid``)."""
        every = dataclasses.replace(self, select_start=None, calibrate_start=None).origins("valid")
        if len(every) < 2:
            return self
        half = len(every) // 2
        rest = len(every) - half
        calibrate = half + (rest + 1) // 2
        return dataclasses.replace(
            self,
            select_start=int(every[half]),
            calibrate_start=int(every[calibrate]) if calibrate < len(every) and rest >= 2 else None,
        )

    def refit_blocks(self, every: int) -> list[tuple[np.ndarray, Protocol]]:
        """The test origins in blocks of ``every`` and, for each, the protocol a refit before
        it uses: the same validation length ending at the block's first origin, training
        before that (``[(block origins, protocol)]``). Whatever is refitted, network or
        baseline, sees only targets before the block's first origin."""
        origins = self.origins("test")
        valid = self.valid_end - self.train_end
        return [
            (
                block,
                dataclasses.replace(
                    self,
                    train_end=int(block[0]) - valid,
                    valid_end=int(block[0]),
                    select_start=None,
                    calibrate_start=None,
                ),
            )
            for block in (origins[i : i + every] for i in range(0, len(origins), every))
        ]


def make_protocol(
    length: int,
    *,
    window: int,
    horizon: int,
    valid_size: int | float = 0.2,
    test_size: int | float = 0.1,
    stride: int = 1,
) -> Protocol:
    """Lay out the parts of a ``length``-step series (see :class:`Protocol`), or say what is
    missing: a part shorter than the horizon, or too little training data for the window."""
    stride = check_positive_int("stride", stride)
    valid = resolve_size(valid_size, length, "valid_size")
    test = resolve_size(test_size, length, "test_size")
    for name, size, flag in (("validation", valid, "valid"), ("test", test, "test")):
        if size < horizon:
            raise InputError(
                f"the {name} part has {size} steps, shorter than the horizon {horizon}: "
                f"use --{flag}-size {horizon} or more (or a shorter horizon)"
            )
    train_end = length - valid - test
    need = window + horizon + valid + test
    if train_end < window + horizon:
        raise InputError(
            f"series has {length} steps, too short for window {window} + horizon {horizon} "
            f"with {valid} validation and {test} test steps: need at least {need} steps; "
            "use a smaller --window or smaller --valid-size/--test-size"
        )
    return Protocol(length, window, horizon, train_end, length - test, stride)


def split_series(
    series,
    *,
    window: int,
    horizon: int = 1,
    task: str = "one_step",
    targets: int | Sequence[int] | None = None,
    valid_size: int | float = 0.2,
    test_size: int | float = 0.1,
    fractions: tuple[float, float, float] | None = None,
    scale: bool = False,
    stride: int = 1,
) -> Dataset:
    """Train/valid/test windows of one user series by forecast origin (:class:`Protocol`).

    Targets of each part lie in that part; inputs may reach back into earlier data, never past
    the forecast origin. ``valid_size`` and ``test_size`` are steps (integers) or shares of the
    series (below 1); ``fractions`` ``(train, valid, test)`` is the older spelling of the same
    shares. ``stride`` spaces the validation and test origins (rolling-origin evaluation: 1 is
    every origin). With ``scale=True`` a :class:`Scaler` is fitted on the data before the first
    validation origin and applied to the whole series.
    """
    data = as_series(series)
    check_task(task)
    window = check_positive_int("window", window)
    horizon = 1 if task == "one_step" else check_positive_int("horizon", horizon)
    cols = _check_targets(targets, data.shape[1])
    if fractions is not None:
        if len(fractions) != 3 or not all(np.isfinite(f) and f > 0 for f in fractions):
            raise InputError(f"fractions must be three positive finite numbers, got {fractions!r}")
        total = float(sum(fractions))
        valid_size = max(1, int(round(len(data) * fractions[1] / total)))
        test_size = max(1, int(round(len(data) * fractions[2] / total)))
    protocol = make_protocol(
        len(data),
        window=window,
        horizon=horizon,
        valid_size=valid_size,
        test_size=test_size,
        stride=stride,
    )
    scaler = Scaler.fit(data[: protocol.train_end]) if scale else None
    if scaler is not None:
        data = scaler.transform(data)
    return dataclasses.replace(windows_for(data, protocol, task, cols), scaler=scaler)


def windows_for(
    data: np.ndarray,
    protocol: Protocol,
    task: str,
    cols: Sequence[int],
    future: Sequence[int] = (),
    base: np.ndarray | None = None,
) -> Dataset:
    """The three splits of a checked ``[time, features]`` array laid out by ``protocol``, with
    the lead features of the known-future columns ``future`` and of a ``base`` model's
    forecasts (:func:`windows_at`): ``X`` is ``[n, window, features + horizon * (len(future) +
    b)]``. Every origin of :meth:`Protocol.origins` has its horizon inside the series, so its
    lead features (up to ``o + horizon - 1``) too."""
    splits = {
        name: Split(
            *windows_at(
                data,
                protocol.origins(name),
                protocol.window,
                protocol.horizon,
                task,
                cols,
                future,
                base,
            )
        )
        for name in protocol.split_names()
    }
    return Dataset(
        splits["train"],
        splits["valid"],
        splits["test"],
        task=task,
        window=protocol.window,
        horizon=protocol.horizon,
        target_columns=tuple(cols),
        protocol=protocol,
        stop=splits.get("stop"),
        calibrate=splits.get("calibrate"),
    )
