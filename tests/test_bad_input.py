"""Bad input through the Python API and the command line: one table, one sentence per case.

Every row is a bad input and the error it must give: ``InputError`` from the API, exit status
2 with one line ``jaxseq <cmd>: error: ...`` on stderr from the command line (argparse's usage
errors raise ``SystemExit(2)`` with one line too). Each ``match`` is a regex on the message that
names the argument, what was expected and what came.

The rows include the cases fuzzing and review found escaping as raw exceptions (a ragged list,
complex numbers, a zero-sized convolution, a mismatched initial state, damaged run files, an
output path that is a folder...): each is now refused where it enters.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import cells, data, layers, models, train
from jaxseq.app import io
from jaxseq.app.cli import main
from jaxseq.errors import InputError
from jaxseq.recurrent import RNN, scan_cell

T = np.arange(120)

# ------------------------------------------------------------------------------ files


def _write_files(d: Path) -> dict[str, str]:
    """Tiny good and bad inputs in ``d``; returns ``{name: path}`` for the argv templates."""
    files = {
        "ok_csv": "time,value,other\n"
        + "".join(f"t{i},{np.sin(i / 5):.5f},{np.cos(i / 7):.5f}\n" for i in T),
        "nan_csv": "value\n" + "1\n" * 30 + "nan\n" + "2\n" * 30,
        "inf_csv": "value\n" + "1\n" * 30 + "-inf\n" + "2\n" * 30,
        "empty_csv": "",
        "blank_csv": "\n  \n\n",
        "header_csv": "value,other\n",
        "text_csv": "value,other\n1,x\n2,y\n",
        "short_csv": "value\n" + "".join(f"{i}\n" for i in range(20)),
        "tiny_csv": "time,value,other\nt0,1,2\nt1,3,4\nt2,5,6\n",
        "timeonly_csv": "time\nt0\nt1\nt2\n",
        "afile": "not a folder\n",
    }
    paths = {}
    for name, text in files.items():
        stem, _, ext = name.rpartition("_")
        path = d / (f"{stem}.{ext}" if stem else name)
        path.write_text(text)
        paths[name] = str(path)
    arrays = {
        "strings_npy": np.array(["a", "b", "c"]),
        "cube_npy": np.zeros((10, 2, 2)),
        "zerocol_npy": np.zeros((10, 0)),
        "complex_npy": np.arange(30) + 1j,
        "good_npy": np.sin(np.arange(30.0)),
    }
    for name, array in arrays.items():
        path = d / (name.rpartition("_")[0] + ".npy")
        np.save(path, array)
        paths[name] = str(path)
    (d / "adir").mkdir()
    paths["adir"] = str(d / "adir")
    paths["dir"] = str(d)
    return paths


@dataclasses.dataclass
class Env:
    """The files of one case; ``run`` is a private copy of the trained run when the case needs it."""

    dir: Path
    paths: dict[str, str]

    def __getattr__(self, name):
        try:
            return Path(self.__dict__["paths"][name])
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A one-column run (linear_multi, window 5, horizon 2, 1 epoch, 1 seed) on ok.csv."""
    d = tmp_path_factory.mktemp("bad_input_run")
    paths = _write_files(d)
    run = d / "run"
    options = "--column value --time-column time --window 5 --horizon 2 --epochs 1 --seeds 1"
    argv = ["train", "--model", "linear_multi", "--data", paths["ok_csv"], *options.split()]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    return run


# ------------------------------------------------------------------------------ the table


@dataclasses.dataclass(frozen=True)
class Case:
    match: str
    call: Callable[[Env], object] | None = None  # API: must raise InputError
    argv: tuple[str, ...] | None = None  # CLI: exit status 2, one line
    setup: Callable[[Env], None] | None = None
    needs_run: bool = False


def api(call, match):
    return Case(match, call=call)


def cli(argv, match, *, setup=None, needs_run=False):
    needs_run = needs_run or setup is not None or any("{run}" in a for a in argv)
    return Case(match, argv=tuple(argv), setup=setup, needs_run=needs_run)


@functools.cache
def _model(name, **kw):
    model = models.get(name, **kw)
    return model, model.init(jax.random.PRNGKey(0))


@functools.cache
def _rnn_layer():
    layer = RNN(cells.gru(), 3)
    return layer, layer.init(jax.random.PRNGKey(0), jnp.zeros((4, 6, 2)))


def _cell(name, input_size=2, hidden=3):
    cell = cells.get(name)
    return cell, cell.init(jax.random.PRNGKey(0), input_size, hidden)


def _one_step_data(features=1):
    rng = np.random.default_rng(0)
    series = rng.normal(size=(300, features)) if features > 1 else np.sin(np.arange(300.0))
    return data.split_series(series, window=10, task="one_step")


def _fit(seeds, **kw):
    model, _ = _model("linear", window=10)
    return train.Trainer(model, **kw).fit(_one_step_data(), seeds=seeds, epochs=1)


def _set_json(name, **changes):
    def setup(env):
        path = env.run / name
        payload = json.loads(path.read_text())
        payload.update(changes)
        path.write_text(json.dumps(payload))

    return setup


def _two_column_run(env):
    """A run whose configuration and scaler say two input columns (impute needs one)."""
    _set_json("config.json", columns=["value", "other"])(env)
    _set_json("scaler.json", mean=[0.0, 0.0], scale=[1.0, 1.0])(env)


def _write(name, text):
    return lambda env: (env.run / name).write_text(text)


XS = jnp.zeros((4, 6, 2))
TRAIN = tuple(
    "train --model linear_multi --window 5 --horizon 2 --epochs 1 --seeds 1 --quiet --out".split()
) + ("{dir}/out",)


def train_into(out: str) -> list[str]:
    """A valid one-column ``train`` of ok.csv, writing to ``out``."""
    return [*TRAIN[:-1], out, *"--data {ok_csv} --column value --time-column time".split()]


NOT_NUMERIC = r"column 'other' is not numeric \(data row 1 holds 'x'\)"

CASES = [
    # ---------------------------------------------------------------- API: shapes and ranks
    pytest.param(
        api(
            lambda e: _model("simple_rnn")[0].apply(_model("simple_rnn")[1], jnp.zeros((4, 50))),
            r"model 'simple_rnn' takes inputs \[batch, time, features\], got shape \(4, 50\)",
        ),
        id="api-model-rank-2",
    ),
    pytest.param(
        api(
            lambda e: _model("simple_rnn")[0].apply(_model("simple_rnn")[1], jnp.zeros((4, 50, 3))),
            r"model 'simple_rnn' was built for 1 feature\(s\), inputs have 3 \(shape \(4, 50, 3\)\)",
        ),
        id="api-model-1-feature-given-3",
    ),
    pytest.param(
        api(
            lambda e: _model("linear", window=10)[0].apply(
                _model("linear", window=10)[1], jnp.zeros((2, 12, 1))
            ),
            r"model 'linear' takes exactly 10 steps, inputs have 12",
        ),
        id="api-model-fixed-window",
    ),
    pytest.param(
        api(
            lambda e: _model("wavenet")[0].apply(
                _model("wavenet")[1], jnp.zeros((2, 50, 1)), lengths=jnp.array([3, 4])
            ),
            r"model 'wavenet' cannot take padded inputs \(lengths\)",
        ),
        id="api-model-lengths-on-convolutional",
    ),
    pytest.param(
        api(
            lambda e: RNN(cells.gru(), 4).init(jax.random.PRNGKey(0), jnp.zeros((4, 5))),
            r"inputs must be \[batch, time, features\], got shape \(4, 5\)",
        ),
        id="api-rnn-rank-2",
    ),
    pytest.param(
        api(
            lambda e: _rnn_layer()[0].apply(_rnn_layer()[1], jnp.zeros((4, 6, 3))),
            r"inputs have 3 features but its parameters expect 2 \(input shape \(4, 6, 3\)\)",
        ),
        id="api-rnn-features-mismatch",
    ),
    pytest.param(
        api(
            lambda e: scan_cell(*_cell("gru"), jnp.zeros((4, 2)), hidden_size=3),
            r"inputs must be \[batch, time, features\], got shape \(4, 2\)",
        ),
        id="api-scan-cell-rank-2",
    ),
    pytest.param(
        api(
            lambda e: scan_cell(*_cell("gru"), XS, hidden_size=3, lengths=jnp.array([1, 2, 3])),
            r"lengths must be \[batch\] = \(4,\), got shape \(3,\)",
        ),
        id="api-lengths-wrong-shape",
    ),
    pytest.param(
        api(
            lambda e: scan_cell(
                *_cell("gru"), XS, hidden_size=3, lengths=jnp.array([1.0, 2.0, 3.0, 4.0])
            ),
            r"lengths must be integers, got dtype float32",
        ),
        id="api-lengths-float",
    ),
    pytest.param(
        api(
            lambda e: layers.Conv1D(3, 2).init(jax.random.PRNGKey(0), jnp.zeros((2, 5))),
            r"Conv1D inputs must be \[batch, time, channels\], got shape \(2, 5\)",
        ),
        id="api-conv1d-rank-2",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.zeros((3, 20, 1)), 5),
            r"series must be 1-D \[time\] or 2-D \[time, features\], got shape \(3, 20, 1\)",
        ),
        id="api-series-3d",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.array(["a"] * 20), 5),
            r"series must hold numbers, got dtype <U1",
        ),
        id="api-series-strings",
    ),
    # ---------------------------------------------------------------- API: values
    pytest.param(
        api(
            lambda e: data.make_windows(np.array([1.0, np.nan, 3, 4, 5, 6]), 2),
            r"series contains 1 non-finite value\(s\) \(NaN first at index \(1, 0\)\)",
        ),
        id="api-series-nan",
    ),
    pytest.param(
        api(
            lambda e: data.split_series(np.r_[np.ones(50), np.inf, np.ones(50)], window=3),
            r"series contains 1 non-finite value\(s\) \(inf first at index \(50, 0\)\)",
        ),
        id="api-series-inf",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.arange(10.0), 8, 5, "multi_step"),
            r"series has 10 steps, too short for window 8 \+ horizon 5 = 13",
        ),
        id="api-series-shorter-than-window-plus-horizon",
    ),
    pytest.param(
        api(
            lambda e: data.split_series(np.arange(30.0), window=10, horizon=5, task="multi_step"),
            r"the test part has 3 steps, shorter than the horizon 5: use --test-size 5 or more",
        ),
        id="api-split-part-too-short",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.arange(30.0), 5, 0, "multi_step"),
            r"horizon must be an integer >= 1, got 0",
        ),
        id="api-horizon-0",
    ),
    pytest.param(
        api(
            lambda e: data.split_series(np.arange(300.0), window=5, horizon=-1, task="seq2seq"),
            r"horizon must be an integer >= 1, got -1",
        ),
        id="api-horizon-negative",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.arange(30.0), 0),
            r"window must be an integer >= 1, got 0",
        ),
        id="api-window-0",
    ),
    pytest.param(
        api(
            lambda e: data.split_series(np.arange(300.0), window=-2),
            r"window must be an integer >= 1, got -2",
        ),
        id="api-window-negative",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.zeros((20, 2)), 3, targets=5),
            r"targets must be column indices in \[0, 2\), got 5",
        ),
        id="api-target-column-out-of-range",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows(np.arange(20.0), 3, task="forecast"),
            r"task must be one of one_step, multi_step, seq2seq; got 'forecast'",
        ),
        id="api-unknown-task",
    ),
    # ---------------------------------------------------------------- API: names and settings
    pytest.param(
        api(
            lambda e: models.get("transformer"),
            r"unknown model 'transformer'; known models: linear, ",
        ),
        id="api-unknown-model",
    ),
    pytest.param(
        api(lambda e: cells.get("qrnn"), r"unknown cell 'qrnn'; known cells: simple_rnn, lstm, "),
        id="api-unknown-cell",
    ),
    pytest.param(
        api(
            lambda e: train.make_optimizer(-1),
            r"learning_rate must be a positive number or an optax schedule, got -1",
        ),
        id="api-negative-learning-rate",
    ),
    pytest.param(
        api(
            lambda e: train.make_optimizer(1e-3, clip_norm=0),
            r"clip_norm must be > 0 or None \(off\), got 0",
        ),
        id="api-clip-norm-0",
    ),
    pytest.param(api(lambda e: _fit(0), r"seeds must be an integer >= 1, got 0"), id="api-seeds-0"),
    pytest.param(
        api(lambda e: _fit(-2), r"seeds must be an integer >= 1, got -2"), id="api-seeds-negative"
    ),
    pytest.param(
        api(lambda e: _fit([]), r"seeds must name at least one seed"), id="api-seeds-empty"
    ),
    pytest.param(
        api(
            lambda e: _fit(2, learning_rate=[0.1, 0.2, 0.3]),
            r"learning_rate must be a number or one per replica \(2\), got shape \(3,\)",
        ),
        id="api-learning-rates-per-replica-wrong-length",
    ),
    pytest.param(
        api(
            lambda e: train.Trainer(_model("linear", window=10)[0]).fit(
                _one_step_data(3), epochs=1
            ),
            r"model 'linear' was built for 1 feature\(s\), inputs have 3 \(shape \(\d+, 10, 3\)\)",
        ),
        id="api-fit-1-feature-model-on-3-feature-data",
    ),
    # ---------------------------------------------------------------- API: files
    pytest.param(
        api(lambda e: io.load_series(e.empty_csv), r"empty\.csv is empty"), id="api-empty-file"
    ),
    pytest.param(
        api(lambda e: io.load_series(e.blank_csv), r"blank\.csv is empty"),
        id="api-blank-lines-file",
    ),
    pytest.param(
        api(lambda e: io.load_series(e.header_csv), r"header\.csv has a header but no data rows"),
        id="api-header-only",
    ),
    pytest.param(
        api(lambda e: io.load_series(e.text_csv), r"text\.csv: " + NOT_NUMERIC),
        id="api-non-numeric",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.nan_csv),
            r"nan\.csv: 1 missing value\(s\) \(first in column 'value', data row 31\); pass --fill",
        ),
        id="api-csv-nan",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.inf_csv),
            r"inf\.csv: infinite value in column 'value', data row 31",
        ),
        id="api-csv-inf",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.ok_csv, ["value", "zz"]),
            r"ok\.csv: no column 'zz'; columns are: time, value, other",
        ),
        id="api-unknown-column",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.ok_csv, time_column="when"),
            r"ok\.csv: no time column 'when'; columns are: time, value, other",
        ),
        id="api-missing-time-column",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.ok_csv, time_column="time", fill="mean"),
            r"fill must be one of interpolate, ffill, zero; got 'mean'",
        ),
        id="api-unknown-fill",
    ),
    pytest.param(
        api(lambda e: io.load_series(e.dir / "nothing.csv"), r"no such file: .*nothing\.csv"),
        id="api-no-such-file",
    ),
    pytest.param(
        api(lambda e: io.load_series(e.adir), r"adir is a folder, expected a \.csv or \.npy file"),
        id="api-folder-instead-of-file",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.strings_npy),
            r"strings\.npy holds <U1 values, expected real numbers",
        ),
        id="api-npy-of-strings",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.cube_npy),
            r"cube\.npy must be 1-D \[time\] or 2-D \[time, features\], got shape \(10, 2, 2\)",
        ),
        id="api-npy-3d",
    ),
    pytest.param(
        api(
            lambda e: data.make_windows([[1.0, 2.0], [3.0]], 1),
            r"series must be a rectangular array of numbers \(rows of equal length\)",
        ),
        id="api-ragged-nested-list",
    ),
    pytest.param(
        api(lambda e: data.make_windows(np.arange(20) + 1j, 3), r"series.*complex128"),
        id="api-complex-series",
    ),
    pytest.param(
        api(
            lambda e: data.split_series(
                np.arange(200.0), window=3, fractions=(0.5, float("nan"), 0.2)
            ),
            r"fractions must be three positive finite numbers, got \(0\.5, nan, 0\.2\)",
        ),
        id="api-fractions-nan",
    ),
    pytest.param(
        api(
            lambda e: layers.Conv1D(3, 0).init(jax.random.PRNGKey(0), jnp.zeros((2, 5, 1))),
            r"kernel_size.*got 0",
        ),
        id="api-conv1d-kernel-size-0",
    ),
    pytest.param(
        api(
            lambda e: layers.Conv1D(0, 2).init(jax.random.PRNGKey(0), jnp.zeros((2, 5, 1))),
            r"filters.*got 0",
        ),
        id="api-conv1d-filters-0",
    ),
    pytest.param(
        api(
            lambda e: layers.Conv1D(3, 2).apply(
                layers.Conv1D(3, 2).init(jax.random.PRNGKey(0), jnp.zeros((2, 5, 1))),
                jnp.zeros((2, 5, 3)),
            ),
            r"have 3 (features|channels).*expect\w* 1",
        ),
        id="api-conv1d-channels-mismatch",
    ),
    pytest.param(
        api(
            lambda e: scan_cell(*_cell("gru"), jnp.zeros((4, 6, 5)), hidden_size=3),
            r"have 5 features.*expect\w* 2",
        ),
        id="api-scan-cell-features-mismatch",
    ),
    pytest.param(
        api(lambda e: scan_cell(*_cell("gru"), XS, hidden_size=7), r"hidden_size.*7"),
        id="api-scan-cell-hidden-size-mismatch",
    ),
    pytest.param(
        api(
            lambda e: scan_cell(*_cell("gru"), XS, hidden_size=3, initial_state=jnp.zeros((4, 5))),
            r"initial_state.*\(4, 5\)",
        ),
        id="api-scan-cell-initial-state-shape",
    ),
    pytest.param(
        api(
            lambda e: scan_cell(*_cell("lstm"), XS, hidden_size=3, initial_state=jnp.zeros((4, 3))),
            r"initial_state.*LSTMState",
        ),
        id="api-scan-cell-lstm-initial-state-not-a-pair",
    ),
    pytest.param(
        api(
            lambda e: _rnn_layer()[0].apply(_rnn_layer()[1], XS, initial_state=jnp.zeros((2, 3))),
            r"initial_state.*\(2, 3\)",
        ),
        id="api-rnn-initial-state-batch",
    ),
    pytest.param(
        api(lambda e: _fit(1.5), r"seeds.*1\.5"),
        id="api-seeds-float",
    ),
    pytest.param(
        api(lambda e: _fit("3"), r"seeds.*'3'"),
        id="api-seeds-string",
    ),
    pytest.param(
        api(lambda e: _fit(True), r"seeds.*True"),
        id="api-seeds-bool",
    ),
    pytest.param(
        api(lambda e: train.make_optimizer(True), r"learning_rate.*True"),
        id="api-learning-rate-bool",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.zerocol_npy),
            r"zerocol\.npy holds no data columns; it needs at least one value column",
        ),
        id="api-npy-without-columns",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.timeonly_csv, time_column="time"),
            r"timeonly\.csv holds only the time column 'time'; it needs at least one value column",
        ),
        id="api-csv-only-a-time-column",
    ),
    pytest.param(
        api(
            lambda e: io.load_series(e.good_npy, time_column="time"),
            r"good\.npy: a \.npy array has no named columns; time_column applies to CSV files",
        ),
        id="api-npy-missing-time-column",
    ),
    pytest.param(
        api(lambda e: io.load_series(e.complex_npy), r"complex\.npy.*complex128"),
        id="api-npy-complex",
    ),
    # ---------------------------------------------------------------- CLI: data files
    pytest.param(
        cli(
            [*TRAIN, "--data", "{nan_csv}"],
            r"nan\.csv: 1 missing value\(s\) \(first in column 'value', data row 31\); "
            r"pass --fill interpolate\|ffill\|zero",
        ),
        id="cli-csv-nan",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{inf_csv}"],
            r"inf\.csv: infinite value in column 'value', data row 31",
        ),
        id="cli-csv-inf",
    ),
    pytest.param(
        cli([*TRAIN, "--data", "{empty_csv}"], r"empty\.csv is empty"), id="cli-empty-file"
    ),
    pytest.param(
        cli([*TRAIN, "--data", "{header_csv}"], r"header\.csv has a header but no data rows"),
        id="cli-header-only",
    ),
    pytest.param(
        cli([*TRAIN, "--data", "{text_csv}"], r"text\.csv: " + NOT_NUMERIC), id="cli-non-numeric"
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}"],
            r"ok\.csv: column 'time' is not numeric \(data row 1 holds 't0'\)",
        ),
        id="cli-time-labels-without-time-column",
    ),
    pytest.param(
        cli(
            [
                "train",
                "--model",
                "linear_multi",
                "--window",
                "10",
                "--horizon",
                "5",
                "--data",
                "{short_csv}",
                "--out",
                "{dir}/out",
                "--quiet",
            ],
            r"the validation part has 4 steps, shorter than the horizon 5: use --valid-size 5 "
            r"or more",
        ),
        id="cli-series-shorter-than-window-plus-horizon",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{strings_npy}"],
            r"strings\.npy holds <U1 values, expected real numbers",
        ),
        id="cli-npy-of-strings",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{cube_npy}"],
            r"cube\.npy must be 1-D \[time\] or 2-D \[time, features\], got shape \(10, 2, 2\)",
        ),
        id="cli-npy-3d",
    ),
    pytest.param(
        cli([*TRAIN, "--data", "{dir}/nothing.csv"], r"no such file: .*nothing\.csv"),
        id="cli-no-such-file",
    ),
    pytest.param(
        cli([*TRAIN, "--data", "{adir}"], r"adir is a folder, expected a \.csv or \.npy file"),
        id="cli-data-is-a-folder",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--column", "value,zz"],
            r"ok\.csv: no column 'zz'; columns are: time, value, other",
        ),
        id="cli-unknown-column",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--column", "value", "--target", "other"],
            r"target column 'other' is not among the input columns \['value'\]",
        ),
        id="cli-target-not-an-input",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--time-column", "when"],
            r"ok\.csv: no time column 'when'; columns are: time, value, other",
        ),
        id="cli-missing-time-column",
    ),
    # ---------------------------------------------------------------- CLI: options
    pytest.param(
        cli(
            ["train", "--model", "transformer", "--data", "{ok_csv}", "--out", "{dir}/out"],
            r"unknown model 'transformer'; known models: linear, ",
        ),
        id="cli-unknown-model",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--learning-rate", "-1"],
            r"argument --learning-rate: expected a positive number, got -1",
        ),
        id="cli-negative-learning-rate",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--learning-rate", "nan"],
            r"argument --learning-rate: expected a positive number, got nan",
        ),
        id="cli-nan-learning-rate",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--seeds", "0"],
            r"argument --seeds: seeds must be an integer >= 1, got 0",
        ),
        id="cli-seeds-0",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--window", "0"],
            r"argument --window: window must be an integer >= 1, got 0",
        ),
        id="cli-window-0",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--horizon", "-1"],
            r"argument --horizon: horizon must be an integer >= 1, got -1",
        ),
        id="cli-horizon-negative",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--epochs", "two"],
            r"argument --epochs: epochs must be an integer >= 1, got 'two'",
        ),
        id="cli-epochs-not-a-number",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--fill", "mean"],
            r"argument --fill: fill must be one of interpolate, ffill, zero; got 'mean'",
        ),
        id="cli-unknown-fill",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{ok_csv}", "--column", ","],
            r"argument --column: expected one or more comma-separated names",
        ),
        id="cli-empty-column-list",
    ),
    pytest.param(
        cli(["train", "--data", "{ok_csv}"], r"--model required \(or --resume RUN\)"),
        id="cli-model-missing",
    ),
    pytest.param(
        cli(["frobnicate"], r"argument command: invalid choice: 'frobnicate'"),
        id="cli-unknown-command",
    ),
    pytest.param(
        cli(["models", "--bogus"], r"unrecognized arguments: --bogus"), id="cli-unknown-option"
    ),
    # ---------------------------------------------------------------- CLI: run folders
    pytest.param(
        cli(
            ["evaluate", "{dir}/nowhere"], r"nowhere is not a jaxseq run folder \(no config\.json\)"
        ),
        id="cli-evaluate-no-run-folder",
    ),
    pytest.param(
        cli(
            ["forecast", "{dir}/nowhere"], r"nowhere is not a jaxseq run folder \(no config\.json\)"
        ),
        id="cli-forecast-no-run-folder",
    ),
    pytest.param(
        cli(["impute", "{dir}/nowhere"], r"nowhere is not a jaxseq run folder \(no config\.json\)"),
        id="cli-impute-no-run-folder",
    ),
    pytest.param(
        cli(
            ["train", "--resume", "{dir}/nowhere"],
            r"nowhere is not a jaxseq run folder \(no config\.json\)",
        ),
        id="cli-resume-no-run-folder",
    ),
    pytest.param(
        cli(["evaluate", "{adir}"], r"adir is not a jaxseq run folder \(no config\.json\)"),
        id="cli-evaluate-plain-folder",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}", "--steps", "0"],
            r"argument --steps: expected a positive integer, got 0",
        ),
        id="cli-forecast-steps-0",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}", "--steps", "5"],
            r"--steps 5 exceeds the model's horizon 2; train with --horizon 5",
        ),
        id="cli-forecast-beyond-horizon",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        cli(
            ["forecast", "{run}", "--steps", "2", "--data", "{tiny_csv}"],
            r"the series has 3 steps, the model needs a window of 5",
        ),
        id="cli-forecast-series-shorter-than-window",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}", "--season", "500"],
            r"season 500 needs a training part longer than 500 steps",
        ),
        id="cli-evaluate-season-longer-than-the-training-part",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}", "--data", "{short_csv}"],
            r"short\.csv: no time column 'time'; columns are: value",
        ),
        id="cli-evaluate-data-without-the-runs-columns",
    ),
    pytest.param(
        cli(
            ["impute", "{run}"],
            r"impute needs a run trained on one column",
            setup=_two_column_run,
        ),
        id="cli-impute-two-column-run",
    ),
    pytest.param(
        cli(
            train_into("{run}"),
            r"run already holds a run; use --resume .*run to continue it, or another --out",
            needs_run=True,
        ),
        id="cli-train-over-an-existing-run",
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}"],
            r"run/config\.json is damaged \(configuration unreadable",
            setup=_write("config.json", "{not json"),
        ),
        id="cli-damaged-config",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}"],
            r"run/config\.json is not a jaxseq run configuration \(.*unexpected keyword argument 'a'",
            setup=_set_json("config.json", a=1),
        ),
        id="cli-config-with-unknown-key",
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}"],
            r"run is not a jaxseq run folder \(no scaler\.json\)",
            setup=lambda e: (e.run / "scaler.json").unlink(),
        ),
        id="cli-run-without-scaler",
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}"],
            r"run has no checkpoint to resume from",
            setup=lambda e: shutil.rmtree(e.run / "checkpoints"),
        ),
        id="cli-run-without-checkpoints",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}"],
            r"unknown model 'nope'; known models",
            setup=_set_json("config.json", model="nope"),
        ),
        id="cli-run-of-an-unknown-model",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}"],
            r"config\.json is damaged \(window must be a positive integer, got 'abc'\)",
            setup=_set_json("config.json", window="abc"),
        ),
        id="cli-run-window-not-a-number",
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}"],
            r"config\.json is damaged \(expected a JSON object\)",
            setup=_write("config.json", "[1, 2]"),
        ),
        id="cli-config-is-a-json-list",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}"],
            r"run/scaler\.json is damaged \(expected mean and scale lists\)",
            setup=_write("scaler.json", "{}"),
        ),
        id="cli-scaler-without-mean",
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}"],
            r"run/scaler\.json is damaged \(expected mean and scale lists\)",
            setup=_write("scaler.json", "[]"),
        ),
        id="cli-scaler-is-a-json-list",
    ),
    pytest.param(
        cli(
            ["evaluate", "{run}"],
            r"config\.json is damaged \(targets \['zz'\] must be among the columns \['value'\]\)",
            setup=_set_json("config.json", targets=["zz"]),
        ),
        id="cli-config-target-not-a-column",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{zerocol_npy}"],
            r"zerocol\.npy holds no data columns; it needs at least one value column",
        ),
        id="cli-npy-without-columns",
    ),
    pytest.param(
        cli(
            [*TRAIN, "--data", "{timeonly_csv}", "--time-column", "time"],
            r"timeonly\.csv holds only the time column 'time'; it needs at least one value column",
        ),
        id="cli-csv-only-a-time-column",
    ),
    pytest.param(
        cli(
            train_into("{afile}"),
            r"--out \S*afile is a file; give a folder for the run",
        ),
        id="cli-train-out-is-a-file",
    ),
    pytest.param(
        cli(
            train_into("{afile}/sub"),
            r"--out \S*afile/sub: \S*afile is a file, not a folder",
        ),
        id="cli-train-out-under-a-file",
    ),
    pytest.param(
        cli(
            ["train", "--resume", "{afile}"],
            r"--resume \S*afile is a file, not a jaxseq run folder",
        ),
        id="cli-resume-a-file",
    ),
    pytest.param(
        cli(["evaluate", "{afile}"], r"\S*afile is a file, not a jaxseq run folder"),
        id="cli-evaluate-a-file",
    ),
    pytest.param(
        cli(
            ["forecast", "{run}", "--steps", "2", "--out", "{adir}"],
            r"--out \S*adir is a folder; give a file name",
        ),
        id="cli-forecast-out-is-a-folder",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        cli(["impute", "{run}", "--out", "{adir}"], r"--out \S*adir is a folder; give a file name"),
        id="cli-impute-out-is-a-folder",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        cli(
            ["forecast", "{run}", "--steps", "2", "--out", "{dir}/f.csv", "--plot", "{dir}/f.nope"],
            r"--plot \S*f\.nope: unknown format '\.nope'; use one of \.png, ",
        ),
        id="cli-forecast-plot-unknown-format",
        marks=pytest.mark.slow,
    ),
]


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        return exit_info.code


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: Case, tmp_path, request, capsys):
    env = Env(tmp_path, _write_files(tmp_path))
    if case.needs_run:
        shutil.copytree(request.getfixturevalue("trained_run"), tmp_path / "run")
        env.paths["run"] = str(tmp_path / "run")
    if case.setup is not None:
        case.setup(env)
    if case.call is not None:
        with pytest.raises(InputError, match=case.match):
            case.call(env)
        return
    argv = [a.format(**env.paths) for a in case.argv]
    gc.collect()
    capsys.readouterr()  # only this command's output below
    code = _exit_code(argv)
    err = capsys.readouterr().err
    # A subcommand's own errors name it; argparse's top-level ones (an unknown command or
    # option) say just "jaxseq".
    prefixes = (f"jaxseq {argv[0]}: error: ", "jaxseq: error: ")
    assert code == 2, err
    assert err.startswith(prefixes) and err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    assert re.search(case.match, err), err


@pytest.mark.slow
def test_installed_command_error_after_opening_checkpoints_is_one_line(trained_run, tmp_path):
    """The real process's stderr, after orbax has opened the run's checkpoints: one line (no
    absl notices from orbax before it)."""
    run = shutil.copytree(trained_run, tmp_path / "run")
    proc = subprocess.run(
        [sys.executable, "-m", "jaxseq", "forecast", str(run), "--steps", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "jaxseq forecast: error: --steps 5 exceeds the model's horizon 2; train with --horizon 5 "
        "or ask for fewer steps\n"
    )
