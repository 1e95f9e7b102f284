"""The README's Python examples run as written (the chapter's quick start with one epoch)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_three_examples():
    blocks = python_blocks()
    assert len(blocks) == 3
    assert "Trainer(model).fit" in blocks[0] and "Cell(init=init, step=step)" in blocks[1]
    assert "jaxseq.Forecaster(" in blocks[2]


@pytest.mark.slow
def test_quick_start_trains_five_seeds_and_summarises_them(capsys):
    code = python_blocks()[0].replace("epochs=20", "epochs=1")
    namespace: dict = {}
    exec(compile(code, "README quick start", "exec"), namespace)
    summary = namespace["evaluate"].summarize(namespace["scores"]["last_step_mse"])
    assert set(summary) >= {"mean", "std", "min", "max"}
    assert 0 < summary["min"] <= summary["mean"] <= summary["max"] < 1
    assert np.asarray(namespace["scores"]["last_step_mse"]).shape == (5,)
    assert "mean" in capsys.readouterr().out


def test_a_cell_of_your_own_runs_in_the_rnn_layer():
    import jax

    namespace: dict = {}
    exec(compile(python_blocks()[1], "README cell", "exec"), namespace)
    layer = namespace["layer"]
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 7, 2))
    variables = layer.init(jax.random.PRNGKey(1), x)
    y = layer.apply(variables, x)
    assert y.shape == (3, 7, 20)
    # the layer runs the step written in the README: a NumPy loop of it gives the same outputs
    w = np.asarray(variables["params"]["cell"]["w"])
    h = np.zeros((3, 20), np.float32)
    for t in range(7):
        h = np.tanh(np.concatenate([np.asarray(x[:, t]), h], -1) @ w)
        np.testing.assert_allclose(np.asarray(y[:, t]), h, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_the_forecaster_example_runs_on_a_panel_and_on_one_series(tmp_path, monkeypatch, capsys):
    import pandas as pd

    import jaxseq

    quick = "seeds=2, max_steps=30, classical=False, jobs=1"
    code = (
        python_blocks()[2]
        .replace("horizon=12, window=24)", f"horizon=12, window=24, {quick})")
        .replace("jaxseq.Forecaster(horizon=12", 'jaxseq.Forecaster(["linear_multi"], horizon=12')
    )
    assert code.count(quick) == 2
    code = code.replace("epochs=20)", "epochs=2, seeds=2)")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(code, "README Forecaster", "exec"), namespace)
    forecaster = namespace["forecaster"]
    forecast = forecaster.predict()
    assert forecast.groupby("unique_id").size().to_dict() == {"north": 12, "south": 12, "west": 12}
    assert forecast.ds.min() == pd.Timestamp("2022-01-01")
    assert set(namespace["backtest"].columns) >= {"unique_id", "ds", "cutoff", "y", "gru_seq2seq"}
    pd.testing.assert_frame_equal(jaxseq.load(tmp_path / "stores").predict(), forecast)
    pooled = namespace["pooled"].leaderboard()
    assert pooled.groupby("unique_id").size().to_dict() == {"north": 4, "south": 4, "west": 4}
    assert pooled.picked.sum() == 3
    printed = capsys.readouterr().out
    assert printed.count("unique_id") == 4  # two forecasts and two leaderboards


def test_the_readme_commands_parse():
    """Every ``jaxseq`` command of the README's shell blocks is one the parser takes."""
    import shlex

    from jaxseq.app.cli.parser import build_parser

    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in text.splitlines() if "jaxseq " in line]
    commands = [c[c.index("jaxseq") + 1 :] for c in commands if "jaxseq" in c]
    assert len(commands) >= 8
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        assert args.command == argv[0]
