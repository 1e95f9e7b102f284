"""Training throughput against the number of devices (``jaxseq bench --devices``).

:func:`throughput_by_devices` trains the same total work on 1, 2, 4, ... devices with
:func:`jaxseq.distributed.fit_sharded` and reports sequences per second. On a CPU each count
runs in a fresh process of its own (``python -m jaxseq.bench.scaling CONFIG``, with
:func:`jaxseq.distributed.forced_cpu_env`): XLA fixes the number of host devices when it
starts.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import warnings
from collections.abc import Sequence

import jax

from jaxseq import distributed
from jaxseq.errors import InputError, check_positive_int
from jaxseq.train import Trainer

_RESULT = "JAXSEQ_RESULT "


def throughput_by_devices(
    model_name: str = "lstm_seq2seq",
    device_counts: Sequence[int] = (1, 2, 4),
    *,
    mode: str = "replica",
    seeds: int | None = None,
    n_series: int = 1000,
    batch_size: int = 32,
    timed_epochs: int = 2,
    platform: str | None = None,
    timeout: float = 600.0,
    details: bool = False,
) -> dict[int, float] | dict[int, dict]:
    """Training throughput (sequences per second) against the number of devices.

    Each count trains ``seeds`` replicas of ``model_name`` on ``chapter_data`` with
    ``n_series`` series (70% for training) for one warm-up epoch (compilation, not timed) and
    ``timed_epochs`` timed ones; throughput is ``seeds * train sequences / median epoch time``.
    The total work is the same for every count (strong scaling).

    On the CPU each count runs in a fresh subprocess with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``: the N "devices" share the machine's
    cores, so the figures show the sharding's overhead and the cores' parallelism, not real
    scaling. On GPU/TPU the first N real devices are used in this process; counts above the
    device count are skipped with a warning.

    Args:
        model_name: a zoo model (:func:`jaxseq.models.names`).
        device_counts: device counts to time.
        mode: ``"replica"`` or ``"data"`` (see :func:`jaxseq.distributed.fit_sharded`).
        seeds: replicas K; default the least common multiple of ``device_counts`` in replica
            mode (K must split evenly), 1 in data mode.
        n_series, batch_size, timed_epochs: the cost of each measurement.
        platform: ``"cpu"`` forces the subprocess path; default ``jax.default_backend()``.
        timeout: seconds allowed per subprocess.
        details: return per count a dict (``sequences_per_second``, ``epoch_seconds``,
            ``compile_seconds``, ``devices``, ``seeds``, ``mode``) instead of the number.

    Returns:
        ``{device_count: sequences_per_second}`` (or the detail dicts).
    """
    from jaxseq import models

    models.check_name(model_name)
    if mode not in ("replica", "data"):
        raise InputError(f"mode must be 'replica' or 'data', got {mode!r}")
    counts = [check_positive_int("device_counts", c) for c in device_counts]
    if not counts:
        raise InputError("device_counts must name at least one device count")
    if seeds is None:
        seeds = math.lcm(*counts) if mode == "replica" else 1
    seeds = check_positive_int("seeds", seeds)
    if mode == "replica":
        bad = [c for c in counts if seeds % c]
        if bad:
            raise InputError(
                f"seeds={seeds} cannot be split evenly over {bad} devices; use a multiple of "
                f"{math.lcm(*counts)} or leave seeds unset"
            )
    check_positive_int("n_series", n_series, minimum=10)
    check_positive_int("batch_size", batch_size)
    check_positive_int("timed_epochs", timed_epochs)
    platform = platform or jax.default_backend()
    results = {}
    for count in counts:
        config = {
            "model": model_name,
            "devices": count,
            "mode": mode,
            "seeds": seeds,
            "n_series": n_series,
            "batch_size": batch_size,
            "timed_epochs": timed_epochs,
        }
        if platform == "cpu":
            out = _measure_in_subprocess(config, timeout)
        else:
            available = jax.devices()
            if count > len(available):
                warnings.warn(
                    f"skipping {count} devices: only {len(available)} {platform} devices",
                    stacklevel=2,
                )
                continue
            out = measure_throughput(config, devices=available[:count])
        results[count] = out if details else out["sequences_per_second"]
    return results


def measure_throughput(config: dict, devices: Sequence | None = None) -> dict:
    """One throughput measurement: ``config`` as :func:`throughput_by_devices` builds it
    (``model``, ``devices``, ``mode``, ``seeds``, ``n_series``, ``batch_size``,
    ``timed_epochs``), on ``devices`` (default the first ``config["devices"]`` of this
    process). On a CPU it runs in a subprocess of its own (``python -m jaxseq.bench.scaling``)."""
    from jaxseq import data, models

    model = models.get(config["model"])
    dataset = data.chapter_data(model.task, n_series=config["n_series"])
    devices = list(jax.devices()[: config["devices"]] if devices is None else devices)
    if len(devices) != config["devices"]:
        raise RuntimeError(f"asked for {config['devices']} devices, found {len(devices)}")
    m = distributed.mesh(config["mode"], devices)
    trainer = Trainer(model, batch_size=config["batch_size"])
    result = distributed.fit_sharded(
        trainer,
        dataset,
        seeds=config["seeds"],
        epochs=1 + config["timed_epochs"],
        mesh=m,
        mode=config["mode"],
    )
    timed = result.history.epoch_seconds[1:]
    seconds = statistics.median(timed)
    return {
        "devices": len(devices),
        "mode": config["mode"],
        "seeds": config["seeds"],
        "sequences_per_second": config["seeds"] * len(dataset.train) / seconds,
        "epoch_seconds": timed,
        "compile_seconds": result.history.compile_seconds,
        "platform": devices[0].platform,
    }


def _measure_in_subprocess(config: dict, timeout: float) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "jaxseq.bench.scaling", json.dumps(config)],
        env=distributed.forced_cpu_env(config["devices"]),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_RESULT):
            return json.loads(line[len(_RESULT) :])
    tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
    raise RuntimeError(
        f"throughput run on {config['devices']} CPU devices failed (exit {proc.returncode}):\n{tail}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jaxseq.bench.scaling CONFIG_JSON``: one measurement, printed as one line."""
    (config,) = sys.argv[1:] if argv is None else argv
    print(_RESULT + json.dumps(measure_throughput(json.loads(config))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
