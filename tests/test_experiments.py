"""`make experiments` end to end on a tiny budget."""

import json

import pytest

from jaxseq.app import experiments
from jaxseq.app.cli import main

FIELDS = {
    "model",
    "metric",
    "mean",
    "std",
    "min",
    "max",
    "seeds",
    "epochs",
    "notebook",
    "train_seconds",
    "backend",
    "device",
}


@pytest.mark.slow
def test_experiments_pipeline_end_to_end(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        [
            "experiments",
            "--models",
            "deep_rnn_dense",
            "--epochs",
            "2",
            "--seeds",
            "2",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    payload = json.loads((out / "results.json").read_text())
    rows = {r["model"]: r for r in payload["results"]}
    assert {"naive", "deep_rnn_dense", "deep_rnn_dense_iterative", "naive_multi"} <= set(rows)
    for row in rows.values():
        assert FIELDS <= set(row)
    trained = rows["deep_rnn_dense"]
    assert trained["seeds"] == 2 and trained["epochs"] == 2 and trained["metric"] == "mse"
    assert len(trained["values"]) == 2 and trained["min"] <= trained["mean"] <= trained["max"]
    assert trained["notebook"] == 0.0026
    assert rows["naive"]["mean"] == pytest.approx(0.020211367, rel=1e-7)
    assert rows["naive_multi"]["mean"] == pytest.approx(0.25697, abs=5e-6)
    assert trained["mean"] < rows["naive"]["mean"]  # two epochs already beat the naive forecast
    for name in (
        "results.md",
        "series_prediction.png",
        "learning_curves.png",
        "forecast_ten_steps.png",
        "model_errors.png",
    ):
        assert (out / name).stat().st_size > 0
    assert "| 5 | deep_rnn_dense |" in (out / "results.md").read_text()
    curves = payload["learning_curves"]["deep_rnn_dense"]
    assert len(curves["loss"]) == 2 and len(curves["loss"][0]) == 2


def test_verdict_against_the_notebooks_spread():
    row = {"notebook": 0.0086, "notebook_spread": ["0.0085", "0.0086"]}
    assert experiments.verdict({**row, "mean": 0.0080}) == "better"
    assert experiments.verdict({**row, "mean": 0.00862}) == "within"
    assert experiments.verdict({**row, "mean": 0.0095}) == "worse"
    assert experiments.verdict({"notebook": None, "notebook_spread": None, "mean": 1}) == "-"


@pytest.mark.parametrize(
    "recorded, mean, verdict",
    [
        ("0.010", 0.01049, "within"),  # 0.010 is recorded to 3 decimals: +-0.0005
        ("0.010", 0.01051, "worse"),
        ("0.0030", 0.003049, "within"),
        ("0.0030", 0.003051, "worse"),
        ("0.2570", 0.25704, "within"),
        ("0.2570", 0.25706, "worse"),
    ],
)
def test_verdict_keeps_the_recorded_precision(recorded, mean, verdict):
    row = {"notebook": float(recorded), "notebook_spread": [recorded, recorded]}
    assert experiments.verdict({**row, "mean": mean}) == verdict


def test_every_recorded_spread_is_text():
    from jaxseq import models

    for name in models.names():
        spread = models.get(name).notebook_spread
        assert spread is None or all(isinstance(x, str) for x in spread), name


def test_unknown_model_is_one_readable_line(capsys):
    assert main(["experiments", "--models", "nope", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("jaxseq experiments: error: unknown model 'nope'") and err.count("\n") == 1
    )
