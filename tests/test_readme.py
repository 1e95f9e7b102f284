"""The README's Python examples run as written (the chapter's quick start with one epoch)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_two_examples():
    blocks = python_blocks()
    assert len(blocks) == 2
    assert "Trainer(model).fit" in blocks[0] and "Cell(init=init, step=step)" in blocks[1]


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
