"""A panel's forecasts in each series' units, and their scores per series and over the panel.

The windows of a :class:`jaxseq.app.panel.types.PanelData` belong to their series:
:func:`predict_panel` returns a model's forecasts to each series' units,
``yhat_i = zhat * sigma_i + mu_i``, and :func:`score_panel` scores them per series (MAE, RMSE,
MASE with the series' own seasonal naive scale ``s_i``, sMAPE; the seasonal naive baseline on
the same origins) and over the panel:

* ``mase``: the mean over series of the per-series MASE, ``(1/N) sum_i MASE_i``;
* ``pooled_mae``: ``mean |y - yhat|`` over every window, step and target of every series (a
  series with more windows counts more), and ``pooled_rmse`` likewise;
* ``smape``: the mean over series of the per-series sMAPE;
* ``beats_seasonal_naive``: the share of series whose MASE (mean over seeds) is below the
  seasonal naive's.

Each aggregate is computed per seed, then summarised over seeds (mean, min, max, std).
:func:`score_panel_quantiles` does the same for quantile forecasts, raw and conformally
calibrated on the validation windows of every series at once (:func:`panel_offsets`), and
:func:`markdown` summarises one or more results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxseq import baselines, data, metrics, models
from jaxseq.app import backtest
from jaxseq.app.panel.types import PanelData, PanelResult
from jaxseq.app.runs import RunConfig
from jaxseq.errors import InputError
from jaxseq.evaluate import summarize

SCORED = ("valid", "test")


def predict_panel(
    model: models.Model, variables, config: RunConfig, pdata: PanelData, split: str
) -> np.ndarray:
    """Every replica's forecasts for a split's windows in each series' own units:
    ``[seeds, windows, horizon, targets]`` float64, ``yhat = zhat * sigma_i + mu_i``."""
    identity = data.Scaler.identity(len(config.columns))
    scaled = backtest.predict_units(
        model, variables, identity, config, pdata.dataset.split(split).X
    )
    mean, scale = _series_scaling(config, pdata, split)
    return backtest.to_units(scaled, mean, scale)


def predict_panel_quantiles(
    model: models.Model, variables, config: RunConfig, pdata: PanelData, split: str
) -> np.ndarray:
    """Every replica's forecast quantiles (the model's levels) for a split's windows in each
    series' own units: ``[seeds, windows, horizon, targets, L]``, ``q = qhat * sigma_i + mu_i``
    (``sigma_i > 0``: the order of the levels is kept)."""
    identity = data.Scaler.identity(len(config.columns))
    scaled = backtest.predict_quantile_units(
        model, variables, identity, config, pdata.dataset.split(split).X
    )
    mean, scale = _series_scaling(config, pdata, split)
    return backtest.to_units(scaled, mean[..., None], scale[..., None])


def score_panel_quantiles(
    config: RunConfig,
    pdata: PanelData,
    quantiles: dict[str, np.ndarray],
    levels: tuple[float, ...],
    season: int,
) -> dict:
    """Probabilistic scores per series (:func:`jaxseq.metrics.score_quantiles_seeds`, each
    series' own MASE scale) and over the panel: the mean over series of the scaled pinball
    loss, and each central interval's coverage and width pooled over every window.

    The test part is also scored after calibration (``"test_calibrated"``): the seeds'
    average (and, for the spread, each seed) moved by :func:`panel_offsets` of the validation
    windows, ``q_lo - Q s_i`` and ``q_hi + Q s_i`` for series ``i`` of scale ``s_i``.

    Returns ``{"levels", "offsets": [horizon, targets, intervals] (the seeds' average, in
    scaled units), "per_series": {id: {split: scores}}, "aggregate": {split: {"scaled_pinball",
    "intervals": [{"nominal", "coverage", "width"}]}}}``, splits ``valid``, ``test`` and
    ``test_calibrated``."""
    scales = mase_scales(config, pdata, season)
    truth = {split: truth_and_baseline(config, pdata, split, season)[0] for split in SCORED}
    offsets = panel_offsets(config, pdata, quantiles["valid"].mean(0), truth["valid"], levels)
    per_seed = panel_offsets(config, pdata, quantiles["valid"], truth["valid"], levels)
    out: dict[str, Any] = {
        "levels": list(levels),
        "offsets": offsets.tolist(),
        "per_series": {key: {} for key in pdata.ids},
        "aggregate": {},
    }
    parts = {split: (quantiles[split], quantiles[split].mean(0)) for split in SCORED}
    parts["test_calibrated"] = (
        apply_panel_offsets(config, pdata, "test", quantiles["test"], per_seed, levels),
        apply_panel_offsets(config, pdata, "test", quantiles["test"].mean(0), offsets, levels),
    )
    for part, (q, issued) in parts.items():
        split = "valid" if part == "valid" else "test"
        y = truth[split]
        pinball = []
        for i, key in enumerate(pdata.ids):
            rows = pdata.rows(split, i)
            scores = metrics.score_quantiles_seeds(
                q[:, rows], y[rows], levels, scales[i], ensemble=issued[rows]
            )
            out["per_series"][key][part] = scores
            pinball.append(scores["scaled_pinball"])
        pooled = metrics.score_quantiles(issued, y, levels, np.ones(y.shape[-1]))
        out["aggregate"][part] = {
            "scaled_pinball": float(np.mean(pinball)),
            "intervals": [
                {k: i[k] for k in ("nominal", "coverage", "width")} for i in pooled["intervals"]
            ],
        }
    return out


def panel_offsets(config: RunConfig, pdata: PanelData, qpred, truth, levels) -> np.ndarray:
    """Conformal offsets of a panel's validation quantiles ``[..., windows, horizon, targets,
    L]`` (every series' windows), in each series' scaled units: the windows of all series
    pooled, each window's score divided by its series' scale ``s_i``
    (:func:`jaxseq.calibration.offsets` of ``(q - mu_i) / s_i`` against ``(y - mu_i) / s_i``):
    ``[..., horizon, targets, intervals]``. Scale-free scores let one global model's
    series share a calibration, as they share the model."""
    from jaxseq import calibration

    mean, scale = _series_scaling(config, pdata, "valid")
    z = backtest.from_units(qpred, mean[..., None], scale[..., None])
    return calibration.offsets(z, backtest.from_units(truth, mean, scale), levels)


def apply_panel_offsets(
    config: RunConfig, pdata: PanelData, split: str, qpred, offsets, levels
) -> np.ndarray:
    """A split's quantiles ``[..., windows, horizon, targets, L]`` with each interval moved
    out by ``offsets`` (:func:`panel_offsets`) times its series' scale, sorted along ``L``."""
    from jaxseq import calibration

    mean, scale = _series_scaling(config, pdata, split)
    z = backtest.from_units(qpred, mean[..., None], scale[..., None])
    return backtest.to_units(
        calibration.apply(z, offsets, levels), mean[..., None], scale[..., None]
    )


def _series_scaling(config: RunConfig, pdata: PanelData, split: str):
    """Each window's series mean and scale of the targets, ``[windows, 1, targets]`` (a
    horizon axis to broadcast against values ``[windows, horizon, targets]``)."""
    mean, scale = pdata.frame(split, config.target_indices)
    return mean[:, None, :], scale[:, None, :]


def truth_and_baseline(
    config: RunConfig, pdata: PanelData, split: str, season: int
) -> tuple[np.ndarray, np.ndarray]:
    """The values that came and the seasonal naive forecasts from the same origins, each
    ``[windows, horizon, targets]`` float64, series by series."""
    cols = config.target_indices
    truth, naive = [], []
    for values, protocol in zip(pdata.values, pdata.protocols, strict=True):
        origins = protocol.origins(split)
        y = np.asarray(values, np.float64)[:, cols]
        truth.append(backtest.truth_at(y, origins, config.horizon, range(len(cols))))
        naive.append(baselines.seasonal_naive(y, origins, config.horizon, season=season))
    return np.concatenate(truth), np.concatenate(naive)


def mase_scales(config: RunConfig, pdata: PanelData, season: int) -> np.ndarray:
    """``[series, targets]``: each series' in-sample seasonal naive MAE of its training part."""
    out = []
    cols = config.target_indices
    for key, values, protocol in zip(pdata.ids, pdata.values, pdata.protocols, strict=True):
        try:
            out.append(metrics.mase_scale(values[: protocol.train_end, cols], season))
        except InputError as error:
            raise InputError(f"series {key!r}: {error}") from None
    return np.stack(out)


def aggregate(pred, truth, scales, pdata: PanelData, split: str) -> dict:
    """Panel-wide scores of ``pred`` ``[seeds, windows, horizon, targets]`` (see the module
    docstring), each summarised over seeds, plus ``per_seed_mase`` ``[seeds, series]``."""
    p = np.asarray(pred, np.float64)
    p = p[None] if p.ndim == 3 else p
    err = truth[None] - p
    starts = pdata.offsets[split][:-1]
    counts = np.diff(pdata.offsets[split])[None, :, None]
    # [seeds, series, targets]: mean over the series' windows and steps
    mae_series = np.add.reduceat(np.abs(err).mean(axis=2), starts, axis=1) / counts
    mase = (mae_series / scales[None]).mean(axis=2)  # [seeds, series]
    den = np.abs(truth[None]) + np.abs(p)
    terms = np.divide(200 * np.abs(err), den, out=np.zeros_like(den), where=den > 0).mean(
        axis=(2, 3)
    )
    smape = np.add.reduceat(terms, starts, axis=1) / counts[..., 0]
    return {
        "mase": summarize(mase.mean(axis=1)),
        "pooled_mae": summarize(np.abs(err).mean(axis=(1, 2, 3))),
        "pooled_rmse": summarize(np.sqrt((err**2).mean(axis=(1, 2, 3)))),
        "smape": summarize(smape.mean(axis=1)),
        "per_seed_mase": mase,
    }


def score_panel(
    config: RunConfig, pdata: PanelData, forecasts: dict[str, np.ndarray], season: int
) -> dict:
    """Scores of model forecasts (``{split: [seeds, windows, horizon, targets]}``) per series
    and over the panel, beside the seasonal naive baseline on the same origins.

    Returns ``{"per_series": {id: {split: {"windows", "model", "seasonal_naive"}}},
    "aggregate": {split: {"windows", "model", "seasonal_naive", "beats_seasonal_naive"}}}``;
    per-series rows are :func:`jaxseq.metrics.score_seeds` (MAE, RMSE, MASE, sMAPE over
    seeds, per horizon step)."""
    scales = mase_scales(config, pdata, season)
    per_series: dict = {key: {} for key in pdata.ids}
    out: dict = {}
    for split in SCORED:
        truth, naive = truth_and_baseline(config, pdata, split, season)
        pred = forecasts[split]
        for i, key in enumerate(pdata.ids):
            rows = pdata.rows(split, i)
            per_series[key][split] = {
                "windows": rows.stop - rows.start,
                "model": metrics.score_seeds(pred[:, rows], truth[rows], scales[i]),
                "seasonal_naive": metrics.score_seeds(naive[rows], truth[rows], scales[i]),
            }
        model_agg = aggregate(pred, truth, scales, pdata, split)
        naive_agg = aggregate(naive, truth, scales, pdata, split)
        beats = model_agg.pop("per_seed_mase").mean(0) < naive_agg.pop("per_seed_mase")[0]
        out[split] = {
            "windows": int(len(truth)),
            "model": model_agg,
            "seasonal_naive": naive_agg,
            "beats_seasonal_naive": float(beats.mean()),
        }
    return {"per_series": per_series, "aggregate": out}


def _row(scores: dict) -> str:
    return " | ".join(
        f"{scores[m]['mean']:.4g}" for m in ("mase", "pooled_mae", "pooled_rmse", "smape")
    )


def markdown(results: dict[str, PanelResult], *, title: str, note: str = "") -> str:
    """A Markdown summary of one or more results on the same panel (``{label: result}``, e.g.
    the global model and one model per series): aggregate scores of each split beside the
    seasonal naive, then the per-series test MASE of the first (at most 30 series)."""
    first = next(iter(results.values()))
    c = first.config
    lines = [
        f"# {title}",
        "",
        f"{len(first.data.ids)} series, model `{c.model}`, window {c.window}, horizon "
        f"{c.horizon}, {c.seeds} seed(s), {c.epochs} epoch(s), batch {c.batch_size}, season "
        f"{first.season}, normalize {c.normalize}; {len(first.data.dataset.train):,} training "
        "windows. Means over seeds; MASE is the mean over series of each series' MASE (scaled "
        "by its own training part's seasonal naive MAE), MAE and RMSE are pooled over every "
        "window of every series, sMAPE the mean over series." + (f" {note}" if note else ""),
    ]
    if first.data.skipped:
        lines.append(f"\nSkipped as too short: {first.data.skipped}.")
    lines += [
        "",
        "| split | forecast | MASE | pooled MAE | pooled RMSE | sMAPE | series beating "
        "seasonal naive | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split in SCORED:
        agg = first.scores["aggregate"][split]
        lines.append(f"| {split} | seasonal naive | {_row(agg['seasonal_naive'])} | - | 0 |")
        for label, r in results.items():
            a = r.scores["aggregate"][split]
            lines.append(
                f"| {split} | {label} | {_row(a['model'])} | "
                f"{a['beats_seasonal_naive']:.0%} | {r.seconds:.0f} |"
            )
    for label, r in results.items():
        if "quantiles" not in r.scores:
            continue
        q = r.scores["quantiles"]
        lines += ["", f"{label}: quantiles at levels {', '.join(f'{t:g}' for t in q['levels'])}"]
        for split in (*SCORED, "test_calibrated"):
            if split not in q["aggregate"]:
                continue
            a = q["aggregate"][split]
            spans = ", ".join(
                f"{100 * i['nominal']:g}% interval covers {100 * i['coverage']:.1f}% "
                f"(width {i['width']:.4g})"
                for i in a["intervals"]
            )
            lines.append(f"- {split}: scaled pinball {a['scaled_pinball']:.4g}; {spans}")
    lines += [
        "",
        "Test MASE per series (mean over seeds):",
        "",
        "| series | windows | seasonal naive | " + " | ".join(results) + " |",
        "|---|---|---|" + "---|" * len(results),
    ]
    for key in first.data.ids[:30]:
        block = first.scores["per_series"][key]["test"]
        cells = " | ".join(
            f"{r.scores['per_series'][key]['test']['model']['mase']['mean']:.3f}"
            for r in results.values()
        )
        lines.append(
            f"| {key} | {block['windows']} | {block['seasonal_naive']['mase']['mean']:.3f} | "
            f"{cells} |"
        )
    if len(first.data.ids) > 30:
        lines.append(f"\n({len(first.data.ids) - 30} more series in the JSON.)")
    return "\n".join(lines) + "\n"
