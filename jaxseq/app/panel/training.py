"""Many series, one global model: every series of a :class:`jaxseq.app.panel.table.Panel`
trains one network, seeds at once by ``vmap``.

Each series ``i`` keeps the single-series protocol of :mod:`jaxseq.app.workflow`:

* its own :class:`jaxseq.data.Protocol` (``workflow.protocol_for`` of its own length: training
  targets in ``[0, train_end_i)``, validation and test targets in its last steps), so series
  of different lengths and start dates each contribute the windows they hold;
* its own :class:`jaxseq.data.Scaler`, fitted on its own training part only:
  ``z_i = (y_i - mu_i) / sigma_i``;
* window normalisation inside the model (``workflow.normalization``), as for one series.

The windows of every series are cut from that series alone (``data.windows_for``), then
concatenated series-major into one :class:`jaxseq.data.Dataset`; ``PanelData.offsets`` says
which rows belong to which series, so no window mixes two series and results split back.

This module configures and trains (:func:`panel_config`, :func:`panel_data`,
:func:`fit_panel`, :func:`fit_local`); the forecasts of the validation and test windows are
returned to each series' units and scored per series and over the panel by
:mod:`jaxseq.app.panel.scores` (``score_panel``, ``markdown``, ...), and the steps after the
end of every series are forecast by :mod:`jaxseq.app.panel.forecast` (``forecast_panel``,
``forecast_records``); the types they share are in :mod:`jaxseq.app.panel.types`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import data, distributed
from jaxseq.app import workflow
from jaxseq.app.panel.scores import (
    SCORED,
    predict_panel,
    predict_panel_quantiles,
    score_panel,
    score_panel_quantiles,
)
from jaxseq.app.panel.table import Panel
from jaxseq.app.panel.types import SPLITS, PanelData, PanelResult
from jaxseq.app.runs import RunConfig
from jaxseq.errors import InputError, check_positive_int
from jaxseq.train import replica_keys

# --------------------------------------------------------------------------- configuration


def panel_config(
    panel: Panel,
    model: str,
    *,
    window: int,
    horizon: int,
    seeds: int = 1,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float | None = None,
    clip_norm: float | None = None,
    normalize: str = "window",
    valid_size: int | float = 0.2,
    test_size: int | float = 0.1,
    stride: int = 1,
    season: int | None = None,
    targets: Sequence[str] | None = None,
    head=None,
) -> RunConfig:
    """The run configuration of a global model: every panel column is an input, ``targets``
    (default the first column) are forecast, ``head`` makes it probabilistic (quantile levels,
    ``"normal"``, ``"student_t"``); ``normalize="auto"`` is ``"window"`` for a panel (its
    series differ in level). Refuses an unknown model, target or option."""
    if not isinstance(panel, Panel):
        raise InputError(
            f"panel must be a jaxseq.app.panel.table.Panel, got {type(panel).__name__}"
        )
    if normalize == "auto":  # series of different levels: each window in its own frame
        normalize = "window"
    return workflow.checked_config(
        model=model,
        data="<panel>",
        columns=list(panel.columns),
        targets=targets,
        window=window,
        horizon=horizon,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        clip_norm=clip_norm,
        normalize=normalize,
        valid_size=valid_size,
        test_size=test_size,
        stride=stride,
        season=season,
        head=head,
    )


# --------------------------------------------------------------------------- windows


def _protocol(config: RunConfig, key: str, length: int) -> data.Protocol:
    try:
        return workflow.protocol_for(config, length)
    except InputError as error:
        message = str(error)
        if message.startswith("series has"):
            message = message[len("series has ") :]
        else:
            message = f"{length} steps: {message}"
        raise InputError(
            f"series {key!r} has {message}; or leave such series out (skip_short=True, "
            "--skip-short)"
        ) from None


def panel_data(panel: Panel, config: RunConfig, *, skip_short: bool = False) -> PanelData:
    """Cut every series into its own windows (its own protocol and scaler) and concatenate
    them. A series too short for window + horizon + validation + test raises
    :class:`InputError` naming its id and length, or is left out (and listed in ``skipped``)
    with ``skip_short``."""
    parts: dict[str, list] = {name: [] for name in SPLITS}
    ids, values, protocols, scalers, skipped = [], [], [], [], {}
    for key, series in zip(panel.ids, panel.series, strict=True):
        try:
            protocol = _protocol(config, key, len(series.values))
        except InputError:
            if not skip_short:
                raise
            skipped[key] = len(series.values)
            continue
        scaler = workflow.fit_scaler(config, series.values, protocol.train_end)
        ds = data.windows_for(
            scaler.transform(series.values), protocol, config.task, config.target_indices
        )
        for name in SPLITS:
            parts[name].append(ds.split(name))
        ids.append(key)
        values.append(series.values)
        protocols.append(protocol)
        scalers.append(scaler)
    if not ids:
        raise InputError(
            f"every series of the panel is too short for window {config.window} + horizon "
            f"{config.horizon} with the validation and test parts (longest: "
            f"{int(panel.lengths().max())} steps); use a smaller window or smaller parts"
        )
    splits = {
        name: data.Split(
            np.concatenate([s.X for s in parts[name]]), np.concatenate([s.Y for s in parts[name]])
        )
        for name in SPLITS
    }
    offsets = {
        name: np.concatenate([[0], np.cumsum([len(s) for s in parts[name]])]) for name in SPLITS
    }
    dataset = data.Dataset(
        train=splits["train"],
        valid=splits["valid"],
        test=splits["test"],
        task=config.task,
        window=config.window,
        horizon=config.horizon,
        target_columns=tuple(config.target_indices),
    )
    return PanelData(
        dataset, tuple(ids), tuple(values), tuple(protocols), tuple(scalers), offsets, skipped
    )


# --------------------------------------------------------------------------- training


def fit_panel(
    panel: Panel,
    *,
    model: str,
    window: int,
    horizon: int,
    seeds: int = 1,
    epochs: int = 10,
    skip_short: bool = False,
    keep_best: bool = False,
    season: int | None = None,
    progress: Callable | None = None,
    sharded: str | None = None,
    **options,
) -> PanelResult:
    """Train one global ``model`` (a zoo name) on every series of ``panel``, ``seeds``
    replicas at once (``vmap``, through :func:`jaxseq.app.workflow.fit_state`), and score it.

    Args:
        panel: the series (:mod:`jaxseq.app.panel`), each ``[time_i, features]``.
        model, window, horizon, seeds, epochs: as for ``jaxseq train``.
        skip_short: leave out series too short for the protocol (listed in
            ``result.data.skipped``) instead of refusing the panel.
        keep_best: each replica keeps its parameters of its best validation epoch.
        season: for MASE and the seasonal naive baseline (default the panel's frequency's,
            else 1).
        progress: ``progress(model, epoch, metrics)`` after every epoch.
        sharded: train across the devices with :func:`jaxseq.distributed.fit_sharded` in this
            mode (``"data"``: each minibatch split over the devices, for panels that outgrow
            one; ``"replica"``; ``"hybrid"``); the same result as on one device up to float
            rounding. ``None``: one device. Not with ``keep_best``.
        **options: ``batch_size``, ``learning_rate``, ``clip_norm``, ``normalize``,
            ``valid_size``, ``test_size``, ``stride``, ``targets`` (:func:`panel_config`).

    Returns:
        A :class:`PanelResult`; forecasts ``[seeds, windows, horizon, targets]`` per split.
    """
    import time

    config = panel_config(
        panel,
        model,
        window=window,
        horizon=horizon,
        seeds=seeds,
        epochs=epochs,
        season=season,
        **options,
    )
    pdata = panel_data(panel, config, skip_short=skip_short)
    season = config.season or panel.season or 1
    t = time.perf_counter()
    if sharded is None:
        net, state, history = workflow.fit_state(
            config, pdata.dataset, progress=progress, keep_best=keep_best
        )
    else:
        net, state, history = _fit_sharded(config, pdata.dataset, sharded, keep_best, progress)
    seconds = time.perf_counter() - t
    forecasts = {s: predict_panel(net, state.variables, config, pdata, s) for s in SCORED}
    scores = score_panel(config, pdata, forecasts, season)
    if net.head is not None:
        quantiles = {
            s: predict_panel_quantiles(net, state.variables, config, pdata, s) for s in SCORED
        }
        scores["quantiles"] = score_panel_quantiles(config, pdata, quantiles, net.levels, season)
    return PanelResult(config, pdata, net, state, history, season, forecasts, scores, seconds)


def _replicas_of(history: dict, mine: slice) -> dict:
    """A chunk's training history (:meth:`jaxseq.history.History.to_json`) cut to the
    replicas ``mine`` (one series' seeds)."""
    out = dict(history)
    out["metrics"] = {k: [row[mine] for row in v] for k, v in history["metrics"].items()}
    for name in ("best_epoch", "stop_epoch", "stopped_early", "diverged"):
        if name in history:
            out[name] = history[name][mine]
    return out


def _fit_sharded(config: RunConfig, dataset, mode: str, keep_best: bool, progress):
    """:func:`jaxseq.distributed.fit_sharded` of the run's model: ``(model, state, history)``
    with the state brought back to the host."""
    from jaxseq import distributed

    if keep_best:
        raise InputError("sharded training keeps the last epoch: drop keep_best (--keep-best)")
    net = workflow.build_model(config)

    result = distributed.fit_sharded(
        workflow.make_trainer(config, net, len(dataset.train)),
        dataset,
        seeds=replica_keys(config.seeds),
        epochs=config.epochs or 1,
        mode=mode,
        callback=workflow.epoch_callback(progress, config.model),
    )
    return net, jax.device_get(result.state), result.history.to_json()


def _series_splits(pdata) -> list[dict[str, data.Split]]:
    """Each series' own windows of every split of a panel data set, in the panel's order."""
    return [
        {
            s: data.Split(
                *(a[pdata.rows(s, i)] for a in (pdata.dataset.split(s).X, pdata.dataset.split(s).Y))
            )
            for s in SPLITS
        }
        for i in range(len(pdata.ids))
    ]


def _same_shape(per_series: list[dict[str, data.Split]]) -> list[list[int]]:
    """The series grouped by their windows per split (those that can share a program)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, splits in enumerate(per_series):
        groups.setdefault(tuple(len(splits[s]) for s in SPLITS), []).append(i)
    return list(groups.values())


def _stacked(dataset: data.Dataset, part: list[dict[str, data.Split]], seeds: int):
    """A data set with one stack of windows per replica: replica ``j * seeds + k`` reads
    series ``part[j]`` (:meth:`jaxseq.train.Trainer.fit` with ``per_replica_data``)."""

    def stacked(s):
        return data.Split(
            *(np.repeat(np.stack([getattr(p[s], a) for p in part]), seeds, 0) for a in ("X", "Y"))
        )

    return dataclasses.replace(
        dataset, train=stacked("train"), valid=stacked("valid"), test=stacked("test")
    )


def check_local_budget(max_steps: int | None, patience: int | None) -> bool:
    """Whether :func:`fit_local` is given an early-stopping budget; a step budget without a
    patience is an :class:`InputError` (nothing would stop the replicas early)."""
    if max_steps is not None and patience is None:
        raise InputError(
            "max_steps of one model per series needs a patience (early stopping): give "
            "patience (--local-patience)"
        )
    return patience is not None


def fit_local(
    result: PanelResult,
    *,
    progress: Callable | None = None,
    chunk: int = 64,
    sharded: bool | None = None,
    max_steps: int | None = None,
    patience: int | None = None,
) -> PanelResult:
    """One model per series with the global model's settings and seeds, on the same windows
    (the classical alternative to a global model), scored the same way.

    By default each trains the global model's epochs. With ``patience`` each replica instead
    trains up to ``max_steps`` optimizer steps on its own series (default
    :data:`jaxseq.stopping.MAX_STEPS`, as ``compare`` trains one series' networks), stops
    early once its own validation loss has not improved for ``patience`` steps and keeps its
    best epoch; the chunk's compiled program shrinks to the replicas still training as the
    others stop (``Trainer.fit``'s ``compact``) and ends when all have stopped. Early
    stopping runs on one device (a trainer with a monitor is not sharded).

    The series are a ``vmap``'d axis beside the seeds: series with as many windows train
    together, ``chunk`` series (times the seeds) per compiled program, each replica on its own
    series' windows (:meth:`jaxseq.train.Trainer.fit` with ``per_replica_data``), ending where
    a loop over the series ends. ``progress(id, i, {})`` after each series' chunk. (Chunks
    of 128 and 256 series of ``gru_seq2seq`` with 3 seeds once stalled here: the batched
    orthogonal initialiser deadlocked XLA's CPU thread pool; :class:`jaxseq.train.Trainer`
    now initialises replicas one at a time, ``benchmarks/local_chunk_stall.py``.)

    ``sharded`` (default: when JAX sees several devices) splits each chunk's replicas, and
    their series' windows, over the devices (:func:`jaxseq.distributed.fit_sharded` with
    ``per_replica_data``); a chunk is padded with copies of its last series to a multiple of
    the device count, the copies dropped after. The same result as on one device up to float
    rounding."""
    import time

    config, pdata = result.config, result.data
    chunk = check_positive_int("chunk", chunk)
    if check_local_budget(max_steps, patience):
        config = dataclasses.replace(
            config, **workflow.budget_options(None, max_steps, patience, config.schedule)
        )
    trainer = workflow.make_trainer(config, result.model, len(pdata.dataset.train))
    keys = replica_keys(config.seeds)
    seeds = keys.shape[0]
    per_series = _series_splits(pdata)
    states: list = [None] * len(per_series)
    histories: list = [None] * len(per_series)
    devices = jax.device_count()
    tracked = trainer.monitor is not None
    sharded = devices > 1 and not tracked if sharded is None else sharded
    if sharded and tracked:
        raise InputError("early stopping of one model per series runs on one device: sharded=False")
    epochs = 0 if tracked else check_positive_int("epochs", config.epochs)
    t = time.perf_counter()
    for members in _same_shape(per_series):
        for start in range(0, len(members), chunk):
            part = members[start : start + chunk]
            kept = len(part)
            while sharded and (len(part) * seeds) % devices:
                part = [*part, part[-1]]
            together = _stacked(pdata.dataset, [per_series[i] for i in part], seeds)
            tiled = jnp.tile(keys, (len(part), 1))
            fit = (
                distributed.fit_sharded(
                    trainer,
                    together,
                    seeds=tiled,
                    epochs=epochs,
                    mode="replica",
                    per_replica_data=True,
                )
                if sharded
                else trainer.fit(
                    together,
                    seeds=tiled,
                    epochs=None if tracked else epochs,
                    budget=workflow.budget_for(config, len(per_series[part[0]]["train"]))
                    if tracked
                    else None,
                    per_replica_data=True,
                    compact=True,
                )
            )
            history = fit.history.to_json()
            for j, i in enumerate(part[:kept]):
                mine = slice(j * seeds, (j + 1) * seeds)
                states[i] = jax.tree_util.tree_map(lambda v, mine=mine: v[mine], fit.state)
                histories[i] = _replicas_of(history, mine)
                if progress is not None:
                    progress(pdata.ids[i], i, {})
    forecasts: dict[str, list] = {
        s: [
            workflow.predict_units(
                result.model, states[i].variables, pdata.scalers[i], config, per_series[i][s].X
            )
            for i in range(len(per_series))
        ]
        for s in SCORED
    }
    seconds = time.perf_counter() - t
    joined = {s: np.concatenate(f, axis=1) for s, f in forecasts.items()}
    scores = score_panel(config, pdata, joined, result.season)
    return dataclasses.replace(
        result,
        state=tuple(states),
        history=histories,
        forecasts=joined,
        scores=scores,
        seconds=seconds,
    )


def pick_per_series(results: dict[str, PanelResult]) -> tuple[dict[str, str], PanelResult]:
    """Per series, the result (``{label: PanelResult}`` on the same panel, windows and seeds:
    the global model, one model per series, ...) whose forecast issued (the seeds' average)
    has the lowest validation MASE, as ``compare`` ranks; the test part chooses nothing.

    Returns ``({id: label}, picked)``: ``picked`` holds, for each series, the forecasts of its
    chosen result, scored like any result (:func:`score_panel`); its ``state`` is that of the
    first result (forecast with :func:`jaxseq.app.panel.forecast.forecast_picked`) and its
    ``seconds`` the sum of the results'.
    """
    if not results:
        raise InputError("pick_per_series needs at least one result")
    first = next(iter(results.values()))
    pdata = first.data
    for label, r in results.items():
        if r.data.ids != pdata.ids or any(
            r.forecasts[s].shape != first.forecasts[s].shape for s in SCORED
        ):
            raise InputError(
                f"result {label!r} was not trained on the same panel, windows and seeds"
            )

    def valid_mase(label: str, key: str) -> float:
        return results[label].scores["per_series"][key]["valid"]["model"]["issued"]["mase"]

    choice = {key: min(results, key=functools.partial(valid_mase, key=key)) for key in pdata.ids}
    forecasts = {}
    for s in SCORED:
        joined = np.array(first.forecasts[s])
        for i, key in enumerate(pdata.ids):
            rows = pdata.rows(s, i)
            joined[:, rows] = results[choice[key]].forecasts[s][:, rows]
        forecasts[s] = joined
    picked = dataclasses.replace(
        first,
        forecasts=forecasts,
        scores=score_panel(first.config, pdata, forecasts, first.season),
        seconds=sum(r.seconds for r in results.values()),
    )
    return choice, picked
