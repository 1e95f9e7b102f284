"""Training beyond one device with ``jax.sharding``: replicas, batches, or both, across devices.

Nothing here writes communication by hand: arrays are placed with ``NamedSharding`` on a
``Mesh`` and XLA's SPMD partitioner splits the compiled programs (and inserts the all-reduce of
the gradients when the batch is split). The same code runs on one device, where every sharding
is trivial.

Three modes (``fit_sharded(..., mode=...)``):

- ``"replica"``: the K replicas (the vmapped seed axis of :class:`jaxseq.train.Trainer`) split
  over a 1-D mesh with axis ``"replica"``; each device trains ``K / devices`` replicas
  independently, the data is copied to every device. Runs the trainer's own compiled epoch
  (``Trainer.epoch_fn()``): ``jit`` follows the shardings of its committed inputs. No
  communication at all during an epoch. K must be a multiple of the number of devices.
- ``"data"``: every replica's minibatch split over a 1-D mesh with axis ``"data"``; parameters
  and optimiser state are copied to every device, the gradient is summed across devices by
  XLA. Uses :func:`data_parallel_epoch`: :func:`jaxseq.train.run_epoch` with a sharding
  constraint on each minibatch.
- ``"hybrid"``: both, on a 2-D mesh ``("replica", "data")``.

Multi-host: call :func:`initialize` first in every process (one process per host), then build
the mesh over ``jax.devices()`` (all hosts' devices) as usual; see ``docs/multi_host.md``.

Example (one host, 4 devices)::

    from jaxseq import data, models, distributed
    from jaxseq.train import Trainer

    ds = data.chapter_data("seq2seq")
    trainer = Trainer(models.get("lstm_seq2seq"))
    result = distributed.fit_sharded(trainer, ds, seeds=8, epochs=20)   # 2 replicas per device
    result.state.variables["params"]  # leaves [8, ...], sharded P("replica") over 4 devices
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxseq.data import Dataset, Split
from jaxseq.errors import InputError, check_positive_int
from jaxseq.history import FitResult
from jaxseq.models import Model
from jaxseq.train import (
    Trainer,
    TrainState,
    replica_keys,
    run_epoch,
)

Array = jax.Array

MODES = ("replica", "data", "hybrid")
REPLICA = "replica"
DATA = "data"

__all__ = [
    "MODES",
    "data_parallel_epoch",
    "data_parallel_epoch_fn",
    "fit_sharded",
    "forced_cpu_env",
    "initialize",
    "mesh",
]


# --------------------------------------------------------------------------- multi-host set-up


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    local_device_ids: int | Sequence[int] | None = None,
    auto: bool = False,
) -> bool:
    """Start JAX's multi-process runtime (``jax.distributed.initialize``) when asked; else nothing.

    Call it at the top of the program in *every* process (one process per host), before any
    other JAX call. Afterwards ``jax.devices()`` lists the devices of all hosts and a mesh built
    by :func:`mesh` spans them.

    Asked means: any argument given, ``auto=True``, or the environment variables
    ``JAX_COORDINATOR_ADDRESS`` / ``JAX_NUM_PROCESSES`` / ``JAX_PROCESS_ID`` set (arguments win).
    With none of these, or with ``num_processes == 1``, it is a no-op and the program runs on
    the local devices, so the same script serves one machine and a cluster.
    ``auto=True`` lets JAX detect everything on Cloud TPU pod slices, SLURM and Open MPI.

    Args:
        coordinator_address: ``"host:port"`` of process 0 (reachable from every host).
        num_processes: number of processes (hosts), >= 1.
        process_id: this process' rank, ``0 <= process_id < num_processes``.
        local_device_ids: restrict this process to these local accelerators (e.g. one process
            per GPU).
        auto: ask JAX to fill in whatever is not given from the cluster environment.

    Returns:
        ``True`` if the multi-process runtime is running (started now or earlier), ``False``
        for the no-op.

    Raises:
        InputError: inconsistent arguments, or JAX refused (e.g. called after JAX already ran
        a computation in this process).
    """
    env = os.environ
    if coordinator_address is None:
        coordinator_address = env.get("JAX_COORDINATOR_ADDRESS") or None
    if num_processes is None and env.get("JAX_NUM_PROCESSES"):
        num_processes = _env_int("JAX_NUM_PROCESSES")
    if process_id is None and env.get("JAX_PROCESS_ID"):
        process_id = _env_int("JAX_PROCESS_ID")
    asked = auto or any(
        v is not None for v in (coordinator_address, num_processes, process_id, local_device_ids)
    )
    if jax.distributed.is_initialized():
        return True
    if not asked:
        return False
    if num_processes is not None:
        num_processes = check_positive_int("num_processes", num_processes)
        if num_processes == 1 and not auto:
            return False
    if process_id is not None:
        process_id = check_positive_int("process_id", process_id, minimum=0)
        if num_processes is not None and process_id >= num_processes:
            raise InputError(
                f"process_id must be in [0, num_processes) = [0, {num_processes}), got {process_id}"
            )
    if coordinator_address is not None:
        host, sep, port = str(coordinator_address).rpartition(":")
        if not (sep and host and port.isdigit()):
            raise InputError(
                f"coordinator_address must be 'host:port' (process 0's address and a free port), "
                f"got {coordinator_address!r}"
            )
    if not auto and None in (coordinator_address, num_processes, process_id):
        missing = [
            name
            for name, v in (
                ("coordinator_address", coordinator_address),
                ("num_processes", num_processes),
                ("process_id", process_id),
            )
            if v is None
        ]
        raise InputError(
            f"initialize needs coordinator_address, num_processes and process_id; missing "
            f"{', '.join(missing)}. Give them (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
            "JAX_PROCESS_ID), or pass auto=True on Cloud TPU, SLURM or Open MPI"
        )
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=num_processes,
            process_id=process_id,
            local_device_ids=local_device_ids,
        )
    except RuntimeError as error:
        raise InputError(
            f"jax.distributed.initialize failed: {error}. Call jaxseq.distributed.initialize() "
            "first thing in every process, before any JAX computation or jax.devices()"
        ) from error
    except (ValueError, TypeError) as error:
        raise InputError(
            f"jax.distributed.initialize could not set up the cluster: {error}. Pass "
            "coordinator_address, num_processes and process_id explicitly"
        ) from error
    return True


def _env_int(name: str) -> int:
    text = os.environ[name]
    try:
        return int(text)
    except ValueError:
        raise InputError(f"environment variable {name} must be an integer, got {text!r}") from None


# --------------------------------------------------------------------------- meshes


def mesh(
    axis: str | Sequence[str] = REPLICA,
    devices: Sequence | None = None,
    *,
    shape: Sequence[int] | None = None,
) -> Mesh:
    """A device mesh for :func:`fit_sharded`.

    Args:
        axis: ``"replica"`` or ``"data"`` for a 1-D mesh over all ``devices``; or
            ``("replica", "data")`` for the hybrid 2-D mesh, whose ``shape`` must then be given
            (e.g. ``(2, 4)``: replicas split in 2 groups, each group's batch over 4 devices).
        devices: the devices to use, default ``jax.devices()`` (every host's devices after
            :func:`initialize`). Devices are used in the order given; for the 2-D mesh the
            ``"data"`` axis is the fast one (neighbouring devices share a replica group).
        shape: the mesh shape, one size per axis; defaults to ``(len(devices),)`` for 1-D.

    Returns:
        A ``jax.sharding.Mesh`` with ``Auto`` axes (the SPMD partitioner decides the layout of
        intermediates).
    """
    names = (axis,) if isinstance(axis, str) else tuple(axis)
    for name in names:
        if name not in (REPLICA, DATA):
            raise InputError(f"axis must be 'replica', 'data' or ('replica', 'data'), got {axis!r}")
    if len(set(names)) != len(names) or not names:
        raise InputError(f"axis names must be distinct and not empty, got {axis!r}")
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise InputError("devices must hold at least one device")
    if shape is None:
        if len(names) > 1:
            raise InputError(
                f"a mesh over {names} needs shape=(replica groups, data devices) with product "
                f"{len(devices)} (the device count), e.g. shape=(1, {len(devices)})"
            )
        shape = (len(devices),)
    shape = tuple(check_positive_int("shape", s) for s in shape)
    if len(shape) != len(names):
        raise InputError(f"shape {shape} must have one size per axis {names}")
    if math.prod(shape) != len(devices):
        raise InputError(
            f"mesh shape {shape} holds {math.prod(shape)} devices, but {len(devices)} were given"
        )
    return Mesh(np.asarray(devices, dtype=object).reshape(shape), names)


_mesh = mesh  # fit_sharded's argument ``mesh`` shadows the function


def _check_mesh(m: Mesh, mode: str) -> None:
    if not isinstance(m, Mesh):
        raise InputError(f"mesh must be a jax.sharding.Mesh, got {type(m).__name__}")
    needed = {"replica": (REPLICA,), "data": (DATA,), "hybrid": (REPLICA, DATA)}[mode]
    for name in needed:
        if name not in m.axis_names:
            raise InputError(
                f"mode={mode!r} needs a mesh with a {name!r} axis, got axes {m.axis_names}; "
                f"build one with jaxseq.distributed.mesh({needed[0] if len(needed) == 1 else needed!r})"
            )
    types = getattr(m, "axis_types", None)
    if types is not None and any("Auto" not in str(t) for t in types):
        raise InputError(
            f"mesh axes must be of type Auto (the compiler places intermediates), got {types}; "
            "use jaxseq.distributed.mesh() or jax.make_mesh(..., axis_types=(AxisType.Auto, ...))"
        )


# --------------------------------------------------------------------------- data parallel epoch


def data_parallel_epoch(
    model: Model,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    state: TrainState,
    key: Array,
    train: Split,
    valid: Split | None,
    *,
    batch_sharding: NamedSharding,
):
    """:func:`jaxseq.train.run_epoch` with every minibatch split over devices. Pure.

    The same arithmetic as ``run_epoch`` (same permutation, keys, short last batch, non-finite
    guard): only each minibatch ``x`` ``[batch, time, features]`` and ``y`` ``[batch, ...]`` is
    constrained to ``batch_sharding`` (``P("data")`` on its first axis), the stacked minibatches
    ``[steps, batch, ...]`` to the same split on their second axis, and the validation inputs
    to it too. Parameters are not constrained: replicated in, they stay replicated; the mean
    over the batch in the loss becomes per-device partial sums plus an all-reduce, inserted by
    XLA. Run it under ``jax.vmap`` (with ``spmd_axis_name="replica"`` for the hybrid mode).

    A batch size that is not a multiple of the ``data`` axis size still works (XLA pads the
    uneven shards), only less efficiently; so does the short last batch.
    """
    stacked_sharding = NamedSharding(batch_sharding.mesh, P(None, *batch_sharding.spec))

    def constrain(tree, stacked=False):
        sharding = stacked_sharding if stacked else batch_sharding
        return jax.tree_util.tree_map(lambda v: jax.lax.with_sharding_constraint(v, sharding), tree)

    return run_epoch(model, optimizer, batch_size, state, key, train, valid, constrain=constrain)


def data_parallel_epoch_fn(trainer: Trainer, mesh: Mesh, *, hybrid: bool = False) -> Callable:
    """The compiled data-parallel epoch over replicas, built once per ``(trainer, mesh, hybrid)``.

    ``(state[K], keys[K], train, valid) -> (state[K], metrics[K])``, like
    ``Trainer.epoch_fn()``, with the state donated. With ``hybrid`` the replica axis is split
    over the mesh's ``"replica"`` axis (``vmap(..., spmd_axis_name="replica")``) and the state
    kept at ``P("replica")``; otherwise the state is kept replicated (``P()``).
    """
    _check_mesh(mesh, "hybrid" if hybrid else "data")
    return _data_parallel_epoch_fn(trainer, mesh, bool(hybrid))


# The library's one way to keep compiled functions: a jit-wrapped function built once per
# hashable key (models and trainers hash by identity) by functools.lru_cache, as
# jaxseq.evaluate does; jit's own cache then holds one executable per input shape.
@functools.lru_cache(maxsize=16)
def _data_parallel_epoch_fn(trainer: Trainer, mesh: Mesh, hybrid: bool) -> Callable:
    optimizer = trainer.optimizer()
    batch_sharding = NamedSharding(mesh, P(DATA))
    state_sharding = NamedSharding(mesh, P(REPLICA) if hybrid else P())

    def epoch(state, key, train, valid):
        return data_parallel_epoch(
            trainer.model,
            optimizer,
            trainer.batch_size,
            state,
            key,
            train,
            valid,
            batch_sharding=batch_sharding,
        )

    vmapped = jax.vmap(
        epoch, in_axes=(0, 0, None, None), spmd_axis_name=REPLICA if hybrid else None
    )

    def run(state, keys, train, valid):
        state, metrics = vmapped(state, keys, train, valid)
        return jax.lax.with_sharding_constraint(state, state_sharding), metrics

    return jax.jit(run, donate_argnums=(0,))


# --------------------------------------------------------------------------- fit


def fit_sharded(
    trainer: Trainer,
    dataset: Dataset,
    *,
    seeds: int | Sequence[int] | Array = 1,
    epochs: int = 20,
    mesh: Mesh | None = None,
    mode: str = "replica",
    callback: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    state: TrainState | None = None,
    start_epoch: int = 0,
    per_replica_data: bool = False,
) -> FitResult:
    """:meth:`Trainer.fit <jaxseq.train.Trainer.fit>` across the devices of ``mesh``.

    Same keys, same epochs, same result as ``trainer.fit(dataset, seeds=..., epochs=...)`` on
    one device up to float rounding (the order of some sums changes).

    Args:
        trainer: the :class:`~jaxseq.train.Trainer` (model, batch size, optimiser).
        dataset: the data; its ``train`` / ``valid`` splits are copied to every device.
        seeds: K replicas as in ``Trainer.fit`` (an int, a list of seeds, or keys ``[K, 2]``).
        epochs: epochs to run.
        mesh: default :func:`mesh` over ``jax.devices()`` with the mode's axis (for
            ``"hybrid"``: ``("replica", "data")`` of shape ``(gcd(K, devices), devices / that)``).
        mode: ``"replica"`` (replicas split over devices, K must be a multiple of the mesh's
            ``replica`` size), ``"data"`` (each minibatch split over devices, parameters
            replicated, any K), or ``"hybrid"`` (both, on a 2-D mesh).
        callback: ``callback(epoch, metrics)`` after each epoch, metrics as NumPy ``[K]``.
        state, start_epoch: resume, as in ``Trainer.fit``; ``state`` leaves are ``[K, ...]``
            (the given state's buffers are donated to the first epoch, as in ``Trainer.fit``).
        per_replica_data: each replica trains on its own data set, the splits stacked on a
            first axis of length K (``Trainer.fit``'s ``per_replica_data``: one small model per
            series); mode ``"replica"`` only, the data sets split over the devices with the
            replicas, so a device holds only its replicas' series.

    Returns:
        ``FitResult(state, history, keys)``: ``state`` leaves ``[K, ...]`` as global arrays
        sharded ``P("replica")`` (replica, hybrid) or replicated (data); on several hosts fetch
        them with ``jax.experimental.multihost_utils.process_allgather``. ``history`` holds
        NumPy ``[epochs, K]`` curves (gathered from all hosts).

    Raises:
        InputError: an unknown mode, a mesh without the mode's axis, or K not a multiple of
        the number of devices on the ``replica`` axis.
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if per_replica_data and mode != "replica":
        raise InputError(
            f"per_replica_data splits the replicas' data sets over the devices: mode='replica', "
            f"got {mode!r}"
        )
    epochs = check_positive_int("epochs", epochs)
    start_epoch = check_positive_int("start_epoch", start_epoch, minimum=0)
    keys = replica_keys(seeds)
    K = int(keys.shape[0])
    if mesh is None:
        n = jax.device_count()
        if mode == "hybrid":
            groups = math.gcd(K, n)
            mesh = _mesh((REPLICA, DATA), shape=(groups, n // groups))
        else:
            mesh = _mesh(mode)
    _check_mesh(mesh, mode)
    split_replicas = mode in ("replica", "hybrid")
    if split_replicas:
        groups = mesh.shape[REPLICA]
        if K % groups:
            lower, upper = (K // groups) * groups, (K // groups + 1) * groups
            options = f"{lower} or {upper}" if lower else f"{upper}"
            raise InputError(
                f"seeds: {K} replicas cannot be split evenly over the {groups} devices of the "
                f"mesh's 'replica' axis; use a multiple of {groups} ({options}), a mesh over "
                f"fewer devices (jaxseq.distributed.mesh(devices=jax.devices()[:d])), or "
                "mode='data'"
            )
    if mode != "replica" and trainer.batch_size % mesh.shape[DATA]:
        warnings.warn(
            f"batch_size {trainer.batch_size} is not a multiple of the {mesh.shape[DATA]} devices "
            "of the mesh's 'data' axis: XLA pads the uneven shards (correct, but slower)",
            stacklevel=2,
        )
    data_axis = 0 if per_replica_data else None
    trainer._check_data(dataset, data_axis)

    replica_spec = P(REPLICA) if split_replicas else P()
    data_spec = replica_spec if per_replica_data else P()
    placed = Dataset(
        _put(Split(np.asarray(dataset.train.X), np.asarray(dataset.train.Y)), mesh, data_spec),
        _put(Split(np.asarray(dataset.valid.X), np.asarray(dataset.valid.Y)), mesh, data_spec),
        dataset.test,
        task=dataset.task,
        window=dataset.window,
        horizon=dataset.horizon,
        target_columns=dataset.target_columns,
        scaler=dataset.scaler,
    )
    if state is not None:
        _check_state(state, K)
    epoch_fn = (
        trainer.epoch_fn(data_axis)
        if mode == "replica"
        else data_parallel_epoch_fn(trainer, mesh, hybrid=mode == "hybrid")
    )
    result = trainer.fit(
        placed,
        seeds=keys,
        epochs=epochs,
        state=state,
        start_epoch=start_epoch,
        callback=None if callback is None else lambda e, m: callback(e, _to_host(m)),
        epoch_fn=lambda st, k, tr, va: _gathered(epoch_fn(st, k, tr, va)),
        place=lambda tree: _put(tree, mesh, replica_spec),
        per_replica_data=per_replica_data,
    )
    return result


def _gathered(out):
    state, metrics = out
    return state, _to_host(metrics)


def _check_state(state, K: int) -> None:
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        if np.ndim(leaf) < 1 or np.shape(leaf)[0] != K:
            raise InputError(
                f"state leaf {jax.tree_util.keystr(path)} must have a leading replica axis of "
                f"size {K} (one per seed), got shape {np.shape(leaf)}"
            )


def _put(tree, m: Mesh, spec: P):
    """Place every leaf of ``tree`` on ``m`` with ``spec`` (``P()`` for rank-0 leaves).

    ``jax.device_put`` when this process sees all the mesh's devices; otherwise (several hosts)
    each process builds its own shards of the global array from its full copy of the value.
    """

    def place(leaf):
        sharding = NamedSharding(m, spec if np.ndim(leaf) >= 1 else P())
        if sharding.is_fully_addressable:
            return jax.device_put(leaf, sharding)
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return jax.device_put(leaf, sharding)
        host = np.asarray(leaf)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree_util.tree_map(place, tree)


def _to_host(tree):
    """NumPy copies of (possibly multi-host, sharded) arrays; every process gets the whole."""

    def get(leaf):
        if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
            return np.asarray(jax.device_get(leaf))
        if leaf.is_fully_replicated:
            return np.asarray(leaf.addressable_data(0))
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))

    return jax.tree_util.tree_map(get, tree)


# --------------------------------------------------------------------------- subprocesses


def forced_cpu_env(devices: int, base: dict | None = None) -> dict[str, str]:
    """An environment for a subprocess with ``devices`` CPU devices
    (``XLA_FLAGS=--xla_force_host_platform_device_count=N``, ``JAX_PLATFORMS=cpu``), keeping the
    other XLA flags and making this copy of jaxseq importable."""
    env = dict(os.environ if base is None else base)
    flags = [
        f
        for f in env.get("XLA_FLAGS", "").split()
        if not f.startswith("--xla_force_host_platform_device_count")
    ]
    env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"])
    env["JAX_PLATFORMS"] = "cpu"
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env
