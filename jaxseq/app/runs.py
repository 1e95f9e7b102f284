"""A training run on disk: configuration, scaler, learning curves and orbax checkpoints.

Layout of a run folder::

    RUN/config.json        what was trained on what (model, window, columns, seeds, ...)
    RUN/scaler.json        the standardisation fitted on the training split
    RUN/history.json       learning curves and timings
    RUN/checkpoints/<N>/   orbax checkpoint after epoch N: parameters, optimiser state, epoch

Every file is written atomically (a temporary file renamed over the old one; orbax commits a
checkpoint by renaming its temporary folder), so an interruption leaves the previous epoch's
checkpoint whole. Only the two newest checkpoints are kept. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxseq import distributions as dist
from jaxseq.data import Scaler
from jaxseq.errors import InputError


@dataclasses.dataclass
class RunConfig:
    """Everything needed to rebuild the model and the data windows of a run."""

    model: str
    data: str
    columns: list[str]
    targets: list[str]
    window: int
    horizon: int
    task: str
    seeds: int
    #: the training length in epochs when there is no ``max_steps`` (then ``None``)
    epochs: int | None
    batch_size: int = 32
    learning_rate: float | None = None
    clip_norm: float | None = None
    time_column: str | None = None
    fill: str | None = None
    normalize: str = "window"
    valid_size: int | float = 0.2
    test_size: int | float = 0.1
    stride: int = 1
    season: int | None = None
    #: the probabilistic head: ``None`` (point forecasts), ``"normal"``, ``"student_t"`` or a
    #: list of quantile levels (:func:`jaxseq.distributions.get`).
    head: str | list[float] | None = None
    #: past-observed covariates (input columns known up to the forecast origin)
    covariates: list[str] = dataclasses.field(default_factory=list)
    #: known-future covariates (input columns known for the horizon too: lead features)
    future_covariates: list[str] = dataclasses.field(default_factory=list)
    #: calendar features of the time column (:data:`jaxseq.app.calendar.FEATURES`); [] is none
    calendar: list[str] = dataclasses.field(default_factory=list)
    #: the training length in optimizer steps (whole epochs); ``None``: ``epochs`` epochs
    max_steps: int | None = None
    #: optimizer steps without a significant validation improvement before a replica stops
    #: (``None``: none; :mod:`jaxseq.stopping`)
    patience: int | None = None
    #: the relative improvement that counts as significant for the patience
    min_delta: float = 0.0
    #: the learning-rate schedule (:data:`jaxseq.stopping.SCHEDULES`)
    schedule: str = "constant"
    #: a point network's training loss and validation metric (:data:`jaxseq.models.POINT_LOSSES`)
    loss: str = "mse"
    #: what forecasts (:data:`KINDS`): a trained ``network`` (``model``
    #: a zoo name), a ``baseline`` or ``classical`` model (``model`` its name in
    #: :mod:`jaxseq.baselines`; no checkpoints), or an ``ensemble`` of ``members``
    kind: str = "network"
    #: an ensemble's members, best first: ``{"name", "kind", "weight"}`` each; its networks'
    #: run folders are ``members/NAME`` inside the ensemble's folder
    members: list[dict] = dataclasses.field(default_factory=list)
    #: a hybrid network's base model (:data:`jaxseq.hybrid.BASES`; ``"none"``: not a hybrid)
    base: str = "none"
    #: the windows early stopping reads: every ``"validation"`` window, or its
    #: ``"first_half"`` in time, the second half then ranking, combining and calibrating on
    #: windows that chose no epoch (:meth:`jaxseq.data.Protocol.halved`; ``compare``'s)
    stop_on: str = "validation"
    #: a network retrained on the training and validation parts together for each replica's
    #: kept epochs, its scaling and hybrid base fitted there too (``compare``'s chosen
    #: networks, :mod:`jaxseq.app.refit`): its validation windows are in its training data
    refit: bool = False

    @property
    def target_indices(self) -> list[int]:
        return [self.columns.index(t) for t in self.targets]

    @property
    def calendar_columns(self) -> int:
        """Calendar columns after the file's ``columns``: a sine and a cosine per feature."""
        return 2 * len(self.calendar)

    @property
    def future_indices(self) -> list[int]:
        """The known-future columns of the model's input rows (the file's ``columns``, then
        the calendar's): the future covariates, then every calendar column."""
        n = len(self.columns)
        known = [self.columns.index(c) for c in self.future_covariates]
        return known + list(range(n, n + self.calendar_columns))

    @property
    def base_columns(self) -> int:
        """A hybrid's base forecasts per horizon step: one per target (0: not a hybrid)."""
        return 0 if self.base == "none" else len(self.targets)

    @property
    def features(self) -> int:
        """Input features per step: ``columns + calendar columns + horizon * (future + base
        columns)`` (:func:`jaxseq.data.windows_at`)."""
        rows = len(self.columns) + self.calendar_columns
        return rows + self.horizon * (len(self.future_indices) + self.base_columns)


#: what a run folder forecasts with (:attr:`RunConfig.kind`)
KINDS = ("network", "baseline", "classical", "ensemble")
#: the windows early stopping reads (:attr:`RunConfig.stop_on`)
STOP_ON = ("validation", "first_half")

_saving = threading.Event()
_stop_requested = threading.Event()


def _on_stop_signal(signum, frame):
    """SIGINT/SIGTERM: stop now, unless a checkpoint is being written; then stop right after."""
    if _saving.is_set():
        _stop_requested.set()
        return
    raise KeyboardInterrupt


def install_stop_handlers() -> dict:
    """Route SIGINT and SIGTERM through :func:`_on_stop_signal` (main thread only); returns the
    previous handlers for :func:`restore_handlers`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _on_stop_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@contextlib.contextmanager
def _uninterruptible():
    """A stop signal that arrives while a checkpoint is written takes effect once it is whole."""
    _saving.set()
    try:
        yield
    finally:
        _saving.clear()
    if _stop_requested.is_set():
        _stop_requested.clear()
        raise KeyboardInterrupt


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)


def _read_json(path: Path, what: str):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path.parent} is not a jaxseq run folder (no {path.name})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is damaged ({what} unreadable: {error})") from None


def _parse_config(raw, path: Path) -> RunConfig:
    """A run configuration from JSON, checked field by field (a damaged file is an InputError)."""
    if not isinstance(raw, dict):
        raise InputError(f"{path} is damaged (expected a JSON object)")
    try:
        if "fractions" in raw:  # runs written before sizes: the same shares, series scaling
            _, valid, test = raw.pop("fractions")
            raw = {"valid_size": valid, "test_size": test, "normalize": "series", **raw}
        config = RunConfig(**raw)
    except TypeError as error:
        raise InputError(f"{path} is not a jaxseq run configuration ({error})") from None
    columns, targets = config.columns, config.targets
    if not (isinstance(columns, list) and columns and all(isinstance(c, str) for c in columns)):
        raise InputError(f"{path} is damaged (columns must be a list of names)")
    if not (isinstance(targets, list) and targets and all(t in columns for t in targets)):
        raise InputError(
            f"{path} is damaged (targets {targets!r} must be among the columns {columns})"
        )
    for name in ("covariates", "future_covariates"):
        names = getattr(config, name)
        if not (isinstance(names, list) and all(c in columns for c in names)):
            raise InputError(f"{path} is damaged ({name} {names!r} must be among the columns)")
    if not (isinstance(config.calendar, list) and all(isinstance(c, str) for c in config.calendar)):
        raise InputError(f"{path} is damaged (calendar must be a list of feature names)")
    for name in ("window", "horizon", "seeds", "epochs", "batch_size", "max_steps", "patience"):
        value = getattr(config, name)
        if value is None and name in ("max_steps", "patience", "epochs"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(
                f"{path} is damaged ({name} must be a positive integer, got {value!r})"
            )
    try:
        dist.get(config.head)
    except InputError as error:
        raise InputError(f"{path} is damaged (head: {error})") from None
    if config.epochs is None and config.max_steps is None:
        raise InputError(f"{path} is damaged (it has neither epochs nor max_steps)")
    if config.stop_on not in STOP_ON:
        raise InputError(f"{path} is damaged (stop_on {config.stop_on!r} is not one of {STOP_ON})")
    if config.kind not in KINDS:
        raise InputError(f"{path} is damaged (kind {config.kind!r} is not one of {KINDS})")
    if config.kind == "ensemble" and not (
        config.members
        and all(
            isinstance(m, dict) and {"name", "kind", "weight"} <= set(m) for m in config.members
        )
    ):
        raise InputError(f"{path} is damaged (an ensemble needs members with name, kind, weight)")
    return config


class Run:
    """A run folder. ``Run.create`` starts one; ``Run(path)`` opens an existing one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path} is a file, not a jaxseq run folder")
        raw = _read_json(self.path / "config.json", "configuration")
        self.config = _parse_config(raw, self.path / "config.json")
        scaler = _read_json(self.path / "scaler.json", "scaler")
        try:
            mean = np.asarray(scaler["mean"], np.float64)
            scale = np.asarray(scaler["scale"], np.float64)
        except (TypeError, KeyError, IndexError, ValueError):
            raise InputError(
                f"{self.path}/scaler.json is damaged (expected mean and scale lists)"
            ) from None
        n = len(self.config.columns)
        if (
            mean.shape != (n,)
            or scale.shape != (n,)
            or not np.isfinite(scale).all()
            or (scale <= 0).any()
        ):
            raise InputError(
                f"{self.path}/scaler.json is damaged (expected {n} means and positive scales)"
            )
        self.scaler = Scaler(mean, scale)

    @classmethod
    def create(
        cls, path: str | Path, config: RunConfig, scaler: Scaler, *, overwrite: bool = False
    ) -> Run:
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise InputError(f"--out {path} is a file; give a folder for the run")
        for parent in path.parents:
            if parent.exists() and not parent.is_dir():
                raise InputError(f"--out {path}: {parent} is a file, not a folder")
        if (path / "config.json").exists() and not overwrite:
            raise InputError(
                f"{path} already holds a run; use --resume {path} to continue it, or another --out"
            )
        path.mkdir(parents=True, exist_ok=True)
        write_json(
            path / "scaler.json", {"mean": scaler.mean.tolist(), "scale": scaler.scale.tolist()}
        )
        write_json(path / "config.json", dataclasses.asdict(config))
        return cls(path)

    # ------------------------------------------------------------------ checkpoints

    def _manager(self, *, write: bool = False):
        """An orbax manager; only the writer cleans up temporary folders (a reader must never
        touch a checkpoint another process is still writing)."""
        import orbax.checkpoint as ocp

        # orbax logs its notices and parse failures through absl; jaxseq reports problems itself
        logging.getLogger("absl").setLevel(logging.CRITICAL)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=2,
            enable_async_checkpointing=False,
            cleanup_tmp_directories=write,
            read_only=not write,
            create=write,
        )
        return ocp.CheckpointManager((self.path / "checkpoints").absolute(), options=options)

    def save(self, epoch: int, state, history: dict) -> None:
        """Checkpoint the state after ``epoch`` epochs (1-based count) and the history."""
        import orbax.checkpoint as ocp

        with _uninterruptible():
            with self._manager(write=True) as manager:
                manager.save(
                    epoch,
                    args=ocp.args.Composite(
                        state=ocp.args.StandardSave(state),
                        meta=ocp.args.JsonSave({"epoch": epoch}),
                    ),
                )
                manager.wait_until_finished()
            write_json(self.path / "history.json", history)

    def latest_epoch(self) -> int | None:
        """The newest checkpoint's epoch, ``None`` without one. A run still training in another
        process deletes its oldest checkpoint as it saves a new one (``max_to_keep``), so a
        step folder can vanish between orbax listing it and reading its time: list again."""
        for attempt in range(3):
            if not (self.path / "checkpoints").exists():
                return None
            try:
                with self._manager() as manager:
                    return manager.latest_step()
            except FileNotFoundError:
                if attempt == 2:
                    raise
        return None

    def restore(self, target) -> tuple[int, Any]:
        """The newest checkpoint's ``(epoch, state)``; ``target`` gives the tree structure
        (e.g. ``jax.eval_shape`` of a fresh state)."""
        import orbax.checkpoint as ocp

        if not (self.path / "checkpoints").exists():
            raise InputError(f"{self.path} has no checkpoint to resume from")
        with self._manager() as manager:
            epoch = manager.latest_step()
            if epoch is None:
                raise InputError(f"{self.path} has no checkpoint to resume from")
            abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
            self._check_matches(epoch, abstract)
            try:
                restored = manager.restore(
                    epoch,
                    args=ocp.args.Composite(
                        state=ocp.args.StandardRestore(abstract),
                        meta=ocp.args.JsonRestore(),
                    ),
                )
            except Exception as error:  # orbax raises many types for a damaged folder
                raise InputError(
                    f"checkpoint {self.path}/checkpoints/{epoch} is damaged or does not match the "
                    f"model ({type(error).__name__}: {str(error).splitlines()[0][:200]}); a run "
                    "written before the zoo's layers were named (jaxseq 0.1.0 pre-release) must "
                    "be trained again"
                ) from None
        return int(restored["meta"]["epoch"]), restored["state"]

    def _check_matches(self, epoch: int, abstract) -> None:
        """Compare the checkpoint's stored array shapes with the model's before restoring, so a
        run whose configuration no longer matches its checkpoint gets a clear error (and orbax
        never starts a restore that fails half-way)."""
        import orbax.checkpoint as ocp

        try:
            stored = ocp.StandardCheckpointer().metadata(
                self.path / "checkpoints" / str(epoch) / "state"
            )
            leaves = jax.tree_util.tree_leaves(getattr(stored, "item_metadata", stored))
            have = sorted(tuple(leaf.shape) for leaf in leaves)
        except Exception:  # unreadable metadata: the restore itself reports the damage
            return
        want = sorted(tuple(a.shape) for a in jax.tree_util.tree_leaves(abstract))
        if have and have != want:  # no leaves at all: unreadable, the restore reports it
            raise InputError(
                f"checkpoint {self.path}/checkpoints/{epoch} does not match the model of "
                f"{self.path}/config.json (stored shapes differ); was the configuration edited?"
            )

    def checkpoint_fields(self) -> list[str]:
        """The top-level fields of the newest checkpoint's state (``["variables",
        "opt_state"]`` for a :class:`jaxseq.train.TrainState`, ``["state", "tracker"]`` with
        early-stopping state); ``[]`` when it has none or they cannot be read."""
        import orbax.checkpoint as ocp

        epoch = self.latest_epoch()
        if epoch is None:
            return []
        try:
            stored = ocp.StandardCheckpointer().metadata(
                self.path / "checkpoints" / str(epoch) / "state"
            )
            return list(getattr(stored, "item_metadata", stored).keys())
        except Exception:  # unreadable metadata: the restore itself reports the damage
            return []

    def history(self) -> dict:
        path = self.path / "history.json"
        return _read_json(path, "history") if path.exists() else {}
