"""Figures, drawn as the notebook draws them (matplotlib, written as PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FIGURE_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def check_figure_path(path) -> Path:
    """Refuse a figure path matplotlib cannot write, before any work is done."""
    from jaxseq.app.io import check_output_file
    from jaxseq.errors import InputError

    path = check_output_file(path, "figure")
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise InputError(
            f"figure {path}: unknown format {path.suffix!r}; use one of {', '.join(FIGURE_FORMATS)}"
        )
    return path


def plot_series(ax, series, target=None, prediction=None, *, horizon_start=None, label_x=True):
    """A series as a line; its target(s) as blue x and prediction(s) as red o after the window."""
    series = np.ravel(series)
    n = len(series)
    ax.plot(np.arange(n), series, ".-", color="C0", label="history")
    start = n if horizon_start is None else horizon_start
    if target is not None:
        t = np.ravel(target)
        ax.plot(np.arange(start, start + len(t)), t, "bx", markersize=8, label="actual")
    if prediction is not None:
        p = np.ravel(prediction)
        ax.plot(np.arange(start, start + len(p)), p, "ro", markersize=5, label="forecast")
    ax.grid(True)
    if label_x:
        ax.set_xlabel("t")


def learning_curves(ax, metrics: dict, title: str):
    """Training loss (plotted half an epoch early: it is averaged over the epoch) and validation
    loss on the same metric; seq2seq models add the validation last-step MSE (dashed). Lines are
    means over seeds, bands their min-max."""
    loss = np.asarray(metrics["loss"])  # [epochs, seeds]
    epochs = np.arange(1, len(loss) + 1)
    curves = [
        (loss, epochs - 0.5, "training loss", "C0", "-"),
        (np.asarray(metrics["val_mse"]), epochs, "validation loss", "C3", "-"),
    ]
    if "val_last_step_mse" in metrics:
        curves.append(
            (
                np.asarray(metrics["val_last_step_mse"]),
                epochs,
                "validation last-step MSE",
                "C2",
                "--",
            )
        )
    for values, x, label, color, style in curves:
        ax.plot(x, values.mean(1), style, color=color, label=label)
        ax.fill_between(x, values.min(1), values.max(1), color=color, alpha=0.2)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.grid(True)
    ax.legend(fontsize=7)


def error_bars(ax, rows: list[dict]):
    """Every model's validation error: the mean, a bar from min to max over seeds, the notebook's
    recorded figure as a black diamond."""
    rows = list(rows)[::-1]
    y = np.arange(len(rows))
    means = np.array([r["mean"] for r in rows])
    lo = means - np.array([r["min"] for r in rows])
    hi = np.array([r["max"] for r in rows]) - means
    ax.barh(y, means, color="C0", alpha=0.6)
    ax.errorbar(means, y, xerr=[lo, hi], fmt="none", ecolor="k", capsize=3)
    labelled = False
    for i, r in enumerate(rows):
        if r.get("notebook") is not None:
            ax.plot(r["notebook"], i, "kD", markersize=5, label=None if labelled else "notebook")
            labelled = True
    labels = [f"#{r['reference']} {r['model']}" if r["reference"] else r["model"] for r in rows]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("validation MSE (seq2seq: last step), log scale")
    ax.grid(True, axis="x")


def experiment_figures(records: dict[str, dict], rows: list[dict], out: Path) -> list[Path]:
    """The figures of ``make experiments``; returns the files written."""
    from jaxseq import data

    out = Path(out)
    written = []

    def save(fig, name):
        path = out / name
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

    one_step = next((n for n in ("deep_rnn_dense", "linear", "deep_rnn") if n in records), None)
    if one_step:
        ds = data.chapter_data("one_step")
        pred = np.asarray(records[one_step]["figures"]["valid_pred"])
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
        for k, ax in enumerate(axes):
            plot_series(ax, ds.valid.X[k, :, 0], ds.valid.Y[k], pred[k])
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{one_step}: validation series, target and prediction at t = 50")
        save(fig, "series_prediction.png")

    shown: list[str] = [
        n
        for n in ("linear", "deep_rnn_dense", "rnn_multi", "lstm_seq2seq", "gru_seq2seq", "wavenet")
        if n in records
    ]
    if shown:
        cols = min(3, len(shown))
        fig, axes = plt.subplots(
            (len(shown) + cols - 1) // cols,
            cols,
            figsize=(4.2 * cols, 3.2 * ((len(shown) + cols - 1) // cols)),
            squeeze=False,
        )
        for ax, name in zip(axes.ravel(), shown, strict=False):
            learning_curves(ax, records[name]["history"]["metrics"], name)
        for ax in axes.ravel()[len(shown) :]:
            ax.axis("off")
        save(fig, "learning_curves.png")

    forecasts = {
        n: r["figures"]["forecast_43"] for n, r in records.items() if "forecast_43" in r["figures"]
    }
    if forecasts:
        new = data.generate_time_series(1, 60, seed=43)[0, :, 0]
        names = list(forecasts)
        cols = min(3, len(names))
        nrows = (len(names) + cols - 1) // cols
        fig, axes = plt.subplots(
            nrows, cols, figsize=(4.2 * cols, 3 * nrows), squeeze=False, sharey=True
        )
        for ax, name in zip(axes.ravel(), names, strict=False):
            plot_series(ax, new[:50], new[50:], forecasts[name])
            label = "deep_rnn_dense x10 (iterative)" if name == "deep_rnn_dense" else name
            ax.set_title(label, fontsize=9)
        for ax in axes.ravel()[len(names) :]:
            ax.axis("off")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle("ten-step forecasts of the seed-43 series")
        save(fig, "forecast_ten_steps.png")

    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    error_bars(ax, rows)
    ax.legend(fontsize=8)
    ax.set_title("every model's validation error: mean, min-max over seeds, notebook figure")
    save(fig, "model_errors.png")
    return written


def forecast_figure(
    history,
    forecast_mean,
    low,
    high,
    path,
    *,
    actual=None,
    title="",
    context=200,
    intervals=(),
):
    """History, optional actual future, the forecast (mean over seeds) and its min-max band;
    ``intervals`` ``[(nominal, low [steps], high [steps]), ...]`` (a probabilistic model's
    central prediction intervals) are drawn as bands instead of the seed range, the widest
    lightest."""
    history = np.ravel(history)[-context:]
    n = len(history)
    steps = np.arange(n, n + len(np.ravel(forecast_mean)))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(np.arange(n), history, color="C0", label="history")
    if actual is not None:
        ax.plot(steps, np.ravel(actual), "bx-", label="actual")
    bands = sorted(intervals, key=lambda band: -band[0])
    for i, (nominal, lo, hi) in enumerate(bands):
        alpha = 0.15 + 0.35 * (i + 1) / len(bands)
        label = f"{100 * nominal:g}% interval"
        ax.fill_between(steps, np.ravel(lo), np.ravel(hi), color="C3", alpha=alpha, label=label)
    if not bands:
        ax.fill_between(
            steps, np.ravel(low), np.ravel(high), color="C3", alpha=0.25, label="seed range"
        )
    ax.plot(steps, np.ravel(forecast_mean), "ro-", markersize=3, label="forecast (mean)")
    ax.set_title(title)
    ax.grid(True)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_learning_curves(metrics: dict, path, title: str = ""):
    """A run's learning curves (training and validation loss over epochs, band over seeds)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    learning_curves(ax, metrics, title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def compare_figure(result: dict, series, origins, forecasts, path, *, title: str = ""):
    """Left: every model's and baseline's validation and test MASE, models with their seed
    range. Right: the test part of ``series`` and the best model's forecasts
    (``[seeds, windows, horizon, 1]``) from every ``horizon``-th test origin, seed mean."""
    rows = result["rows"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, max(4, 0.32 * len(rows) + 1.5)))
    y = np.arange(len(rows))
    for offset, split, color in ((-0.18, "valid", "C0"), (0.18, "test", "C1")):
        m = [r[split]["mase"] for r in rows]
        mean = np.array([v["mean"] for v in m])
        err = np.array([[v["mean"] - v["min"] for v in m], [v["max"] - v["mean"] for v in m]])
        left.errorbar(mean, y + offset, xerr=err, fmt="o", color=color, label=split, ms=4)
    left.set_yticks(y, [r["model"] + (" *" if r["kind"] == "baseline" else "") for r in rows])
    left.invert_yaxis()
    left.axvline(1.0, color="grey", lw=0.5)
    left.set_xlabel("MASE (seed range; * baseline)")
    left.legend()
    origins = np.asarray(origins)
    start = max(0, int(origins[0]) - result["settings"]["window"])
    end = int(origins[-1]) + result["settings"]["horizon"]
    t = np.arange(start, end)
    right.plot(t, np.asarray(series)[start:end], "-", color="k", lw=1, label="actual")
    if forecasts is not None:
        h = result["settings"]["horizon"]
        mean = np.asarray(forecasts)[..., 0].mean(0)  # [windows, horizon]
        for i in range(0, len(origins), h):
            o = int(origins[i])
            right.plot(
                np.arange(o, o + h),
                mean[i],
                "-",
                color="C3",
                lw=1.5,
                label="forecast" if i == 0 else None,
            )
    right.axvline(int(origins[0]), color="grey", ls=":", lw=1)
    right.set_title(title)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
