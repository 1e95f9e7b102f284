"""The comparison's rows, its pick and its tables: what ``compare`` reports of the candidates
it scored (:mod:`jaxseq.app.compare`)."""

from __future__ import annotations

from jaxseq import metrics
from jaxseq.app import candidates
from jaxseq.app.io import Series
from jaxseq.app.runs import RunConfig


def result(config: RunConfig, series: Series, protocol, season, records, scored, seconds) -> dict:
    """What ``compare.json`` holds: the settings and every candidate's row (validation and
    test scores, the training of a network, an ensemble's members), ranked, and the pick."""
    rows = []
    names = list(scored["valid"]["rows"])
    for name in names:
        record = records.get(name)
        kind = record["kind"] if record else candidates.kind_of(name)
        row = {"model": name, "kind": kind}
        for split in ("valid", "test"):
            row[split] = scored[split]["rows"][name]
        intervals = scored["test"].get("intervals", {}).get("rows", {})
        if name in intervals:
            row["intervals"] = intervals[name]
        if kind in ("zoo", "user"):
            row["train_seconds"] = record["train_seconds"]
            row["training"] = _training(record["history"])
            if "refit" in record:
                row["refit"] = record["refit"]
        if kind == "ensemble":
            choice = record["combination"]
            row["members"] = choice.as_dict()
            row["weighting"] = choice.weighting
            if choice.anchor is not None:
                row["anchor"] = choice.anchor
        rows.append(row)
    probabilistic = "quantiles" in scored["valid"]
    if probabilistic:
        for row in rows:
            row["quantiles"] = _quantile_scores(scored, row["model"])
    rows.sort(key=lambda r: _rank_key(r, probabilistic))
    pick = _pick(rows, probabilistic)
    best = pick["model"]
    settings = {
        "data": config.data,
        "column": config.targets[0],
        "frequency": getattr(series, "frequency", None),
        "length": int(protocol.length),
        "window": config.window,
        "horizon": config.horizon,
        "season": int(season),
        "seeds": config.seeds,
        "epochs": config.epochs,
        "max_steps": config.max_steps,
        "patience": config.patience,
        "schedule": config.schedule,
        "loss": config.loss,
        "clip_norm": config.clip_norm,
        "base": config.base,
        "normalize": config.normalize,
        "valid": {
            "steps": protocol.valid_end - protocol.train_end,
            "windows": scored["valid"]["windows"],
            # the earlier validation origins, where the networks stopped early (not ranked on)
            "stop_windows": int(len(protocol.origins("stop"))) if protocol.select_start else 0,
            # the last validation origins, where intervals are calibrated (not ranked on)
            "calibrate_windows": (
                int(len(protocol.origins("calibrate"))) if protocol.calibrate_start else 0
            ),
            "masked_targets": scored["valid"].get("masked_targets", 0),
        },
        "test": {
            "steps": protocol.length - protocol.valid_end,
            "windows": scored["test"]["windows"],
            # forecast values whose truth is missing (or was filled): left out of every score
            "masked_targets": scored["test"].get("masked_targets", 0),
        },
        "stride": protocol.stride,
        "head": config.head,
        "levels": scored["valid"]["quantiles"]["levels"] if probabilistic else None,
        "ranked_by": "valid scaled_pinball" if probabilistic else "valid mase (forecast issued)",
        "intervals": (
            {k: v for k, v in scored["test"]["intervals"].items() if k != "rows"}
            if "intervals" in scored["test"]
            else None
        ),
        "best": best,
        "best_kind": pick["kind"],
        "skipped": scored["test"]["skipped"],
        "seconds": round(seconds, 1),
    }
    return {"settings": settings, "rows": rows}


def add_trained_once(result: dict, scores: dict[str, dict]) -> None:
    """Beside the test scores of the ensemble and its refitted networks
    (:mod:`jaxseq.app.refit`), the ones they had before the refit (``test_trained_once``), and
    each refitted network's epochs (``refit``)."""
    for row in result["rows"]:
        if row["model"] in scores:
            row["test_trained_once"] = scores[row["model"]]
    result["settings"]["refit"] = sorted(n for n in scores if n != "ensemble")


def _pick(rows: list[dict], probabilistic: bool) -> dict:
    """The forecast ``compare`` hands the user: the ensemble when there is one (combining
    the top candidates beat picking the best one on held-out validation windows of the
    benchmark, :data:`jaxseq.ensemble.KS`), else the best-ranked row (in a probabilistic
    comparison, the best that issues quantiles: a network)."""
    ensembles = [r for r in rows if r["kind"] == "ensemble"]
    if ensembles:
        return ensembles[0]
    issuing = [r for r in rows if not probabilistic or r["kind"] in ("zoo", "user")]
    return (issuing or rows)[0]


def _training(history: dict) -> dict:
    """How long each replica trained: the optimizer step of its kept (best) epoch and of its
    last epoch, and whether it stopped before the budget ran out."""
    per_epoch = history.get("steps_per_epoch", 0)
    out = {"steps_per_epoch": per_epoch, "epochs_run": len(history.get("epoch_seconds", []))}
    for key, step in (("best_epoch", "best_step"), ("stop_epoch", "stop_step")):
        if key in history:
            out[step] = [int(e) * per_epoch for e in history[key]]
    if "stopped_early" in history:
        out["stopped_early"] = history["stopped_early"]
        out["diverged"] = history.get("diverged")
    return out


def _quantile_scores(scored: dict, name: str) -> dict | None:
    """A row's probabilistic scores: validation, test, test after static calibration on the
    validation windows, after rolling calibration on the latest errors, and after adaptive
    rolling calibration."""
    if name not in scored["valid"]["quantiles"]["rows"]:
        return None  # a point baseline
    return {
        "valid": scored["valid"]["quantiles"]["rows"][name],
        "test": scored["test"]["quantiles"]["rows"][name],
        "test_calibrated": scored["test"]["quantiles"]["calibrated"][name],
        "test_rolling": scored["test"]["quantiles"]["rolling"][name],
        "test_adaptive": scored["test"]["quantiles"]["adaptive"][name],
    }


def _rank_key(row: dict, probabilistic: bool) -> tuple:
    """Probabilistic comparisons rank by validation scaled pinball (point forecasts last, by
    MASE); point comparisons by the validation MASE of the forecast issued (the seeds'
    average). Ties: the name."""
    mase = row["valid"]["issued"]["mase"]
    if not probabilistic:
        return (0, mase, row["model"])
    if row["quantiles"] is None:
        return (1, mase, row["model"])
    return (0, row["quantiles"]["valid"]["scaled_pinball"], row["model"])


def markdown(result: dict) -> str:
    """The comparison as Markdown tables: point errors, and for a probabilistic comparison the
    quantile scores (:func:`quantile_markdown`)."""
    s = result["settings"]
    intervals = s.get("intervals")
    interval_head = ""
    if intervals:
        interval_head = f" test {100 * intervals['nominal']:g}% coverage | width |"

    def spread(m):
        if m["min"] == m["max"]:
            return "-"
        return f"{m['mean']:.3f} [{m['min']:.3f}-{m['max']:.3f}]"

    lines = [
        f"# {s['column']}: {s['horizon']} steps ahead from {s['window']}",
        "",
        f"{s['length']} steps ({s['frequency'] or 'no time column'}), season {s['season']}; "
        f"validation {s['valid']['steps']} steps ({_valid_text(s['valid'])}), test "
        f"{s['test']['steps']} steps ({s['test']['windows']} origins), stride {s['stride']}. "
        f"Networks: {s['seeds']} seeds, {_budget_text(s)}, normalize={s['normalize']}. "
        "Errors of the forecast issued (the seeds' average); the seeds' own test MASE as mean "
        f"[min-max]. Ranked by {s['ranked_by']}; the pick: **{s['best']}**. Whole comparison "
        f"{s['seconds'] / 60:.1f} min.",
        "",
        "| rank | forecast | kind | valid MASE | test MASE | test MAE | test RMSE | test sMAPE "
        "| seeds' test MASE |" + interval_head,
        "|---|---|---|---|---|---|---|---|---|" + "---|" * (2 if interval_head else 0),
    ]
    for i, r in enumerate(result["rows"], 1):
        v, t = r["valid"]["issued"], r["test"]["issued"]
        cells = ""
        if interval_head and "intervals" in r:
            i80 = r["intervals"][intervals["headline"]]
            cells = f" {100 * i80['coverage']:.1f}% | {i80['width']:.4g} |"
        elif interval_head:
            cells = " - | - |"
        lines.append(
            f"| {i} | {r['model']} | {r['kind']} | {v['mase']:.3f} | {t['mase']:.3f} | "
            f"{t['mae']:.4g} | {t['rmse']:.4g} | {t['smape']:.2f} | {spread(r['test']['mase'])} |"
            + cells
        )
    if interval_head:
        lines += [
            "",
            f"Intervals: {100 * intervals['nominal']:g}% around each forecast issued, from its "
            f"absolute errors on the last {intervals['windows']} validation origins (split "
            f"conformal per horizon step; those origins chose no epoch, model or weight), "
            f"{intervals['headline']} over the test part (`jaxseq.app.backtest.point_intervals`).",
        ]
    for r in result["rows"]:
        if r["kind"] == "ensemble":
            members = ", ".join(f"{m} {w:.2f}" for m, w in r["members"].items())
            anchored = f", {r['anchor']} anchored" if r.get("anchor") else ""
            lines += ["", f"Ensemble ({r['weighting']} weights{anchored}): {members}."]
            if "test_trained_once" in r and s.get("refit"):  # no network: nothing retrained
                once = r["test_trained_once"]["issued"]
                lines[-1] += (
                    f" Its networks ({', '.join(s['refit'])}) were retrained on the "
                    "training and validation parts for the epochs each replica kept before "
                    f"forecasting the test part (`jaxseq.app.refit`); trained once: test MASE "
                    f"{once['mase']:.3f}, MAE {once['mae']:.4g}."
                )
    masked = {part: s[part].get("masked_targets", 0) for part in ("valid", "test")}
    if any(masked.values()):
        lines += [
            "",
            f"Missing values: {masked['valid']} validation and {masked['test']} test forecast "
            "values have no observed truth (missing, or made up by the fill) and are left out "
            "of every score.",
        ]
    if s["skipped"]:
        lines += ["", "Skipped: " + "; ".join(f"{k} ({v})" for k, v in s["skipped"].items())]
    for note in s.get("notes", []):
        lines += ["", f"Note: {note}."]
    if s.get("stages"):
        lines += ["", *stage_markdown(s["stages"])]
    if s.get("levels"):
        lines += ["", *quantile_markdown(result)]
    return "\n".join(lines) + "\n"


def stage_markdown(stages: dict) -> list[str]:
    """Where the comparison's time went: one line per stage, the baselines and the networks
    (compilation and training, beside each other in worker processes) one by one."""
    training = stages.get("training", {})
    baselines = training.get("baselines", {})
    networks = training.get("networks", {})
    parts = [f"load {stages['load']:.1f}", f"hybrid base {stages['hybrid_base']:.1f}"]
    parts.append(f"networks and baselines {training.get('wall', 0):.1f} (in parallel)")
    parts.append(f"ensemble {stages['ensemble']:.1f}")
    if "refit" in stages:
        parts.append(f"refit {stages['refit']:.1f}")
    parts.append(f"scoring {stages['scoring']:.1f}")
    if "writing" in stages:
        parts.append(f"writing {stages['writing']:.1f}")
    each = [f"{n} {t:.1f}" for n, t in sorted(baselines.items(), key=lambda kv: -kv[1])]
    nets = [
        f"{n} {r['train']:.1f}" + (f" ({r['compile']:.1f} compiling)" if r.get("compile") else "")
        for n, r in sorted(networks.items(), key=lambda kv: -kv[1]["train"])
    ]
    return [
        "Seconds per stage: " + ", ".join(parts) + ".",
        "",
        "Baselines: " + ", ".join(each) + "." if each else "Baselines: none.",
        "",
        "Networks (training, first epoch's compilation): " + ", ".join(nets) + "."
        if nets
        else "Networks: none.",
    ]


def _valid_text(valid: dict) -> str:
    if not valid.get("stop_windows"):
        return f"{valid['windows']} origins"
    text = (
        f"the networks stop early on its first {valid['stop_windows']} origins, every forecast "
        f"is ranked on the next {valid['windows']}"
    )
    if valid.get("calibrate_windows"):
        text += f" and its intervals calibrated on the last {valid['calibrate_windows']}"
    return text


def _budget_text(s: dict) -> str:
    # compare.json files written before the loss and the clipping: MSE, unclipped
    options = "" if s.get("base", "none") == "none" else f", hybrids over {s['base']}"
    if s.get("loss", "mse") != "mse":
        options += f", trained on the {s['loss'].upper()}"
    if s.get("clip_norm") is not None:
        options += f", gradients clipped to a norm of {s['clip_norm']:g}"
    if s.get("max_steps") is None:
        return f"{s['epochs']} epochs (each replica's best kept){options}"
    return (
        f"up to {s['max_steps']} steps, each replica stopping after {s['patience']} steps "
        f"without improvement and keeping its best ({s['schedule']} learning rate)"
        f"{options}"
    )


def quantile_markdown(result: dict) -> list[str]:
    """The probabilistic table: scaled pinball loss, CRPS approximation and the 80% interval's
    coverage and width on the test part, raw and calibrated, for every model with quantiles."""
    s = result["settings"]
    pairs = metrics.intervals(s["levels"])
    nominal = next((p[0] for p in pairs if abs(p[0] - 0.8) < 1e-9), pairs[0][0] if pairs else None)
    key = f"{100 * nominal:g}" if nominal else "no"
    lines = [
        f"Quantiles at levels {', '.join(f'{t:g}' for t in s['levels'])} (head {s['head']!r}; "
        "seasonal naive: its forecast plus the empirical quantiles of its in-sample errors). "
        "Scores of the seed-averaged quantiles; *static*: conformalized on the calibration "
        "windows; *rolling*: each test window conformalized on the latest errors known at its "
        "origin; *adaptive*: rolling, its level moved by the misses seen so far "
        "(`jaxseq.calibration.rolling`). Ranked by validation scaled pinball.",
        "",
        f"| forecast | valid scaled pinball | test scaled pinball | test CRPS (approx.) | "
        f"test {key}% coverage | width | static scaled pinball | static {key}% coverage | "
        f"width | rolling scaled pinball | rolling {key}% coverage | width | adaptive scaled "
        f"pinball | adaptive {key}% coverage | width |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        q = r.get("quantiles")
        if q is None:
            continue
        cells = [
            f"| {r['model']} | {q['valid']['scaled_pinball']:.3f} | "
            f"{q['test']['scaled_pinball']:.3f} | {q['test']['crps_approx']:.4g} | "
        ]
        for part in ("test", "test_calibrated", "test_rolling", "test_adaptive"):
            i = _interval(q[part], nominal)
            pinball = "" if part == "test" else f"{q[part]['scaled_pinball']:.3f} | "
            cells.append(f"{pinball}{100 * i['coverage']:.1f}% | {i['width']:.4g} | ")
        lines.append("".join(cells).rstrip())
    return lines


def _interval(scores: dict, nominal: float | None) -> dict:
    if nominal is None:  # no pair of levels makes a central interval
        return {"coverage": float("nan"), "width": float("nan")}
    return next(i for i in scores["intervals"] if abs(i["nominal"] - nominal) < 1e-9)
