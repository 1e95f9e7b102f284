"""One configuration check: every entry point (``jaxseq train``, ``compare`` and ``panel`` on
the command line; ``compare``, ``Forecaster``, ``make_config`` and ``fit_panel`` in Python)
refuses the same bad setting with the same message, the one
:func:`jaxseq.app.settings.check_settings` gives, before anything trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import jaxseq
from jaxseq.app import compare, workflow
from jaxseq.app.cli import main
from jaxseq.app.panel import table as panel_table
from jaxseq.app.panel import training as panel_training
from jaxseq.app.settings import check_settings

#: (python keyword, command-line option, bad value)
BAD = [
    ("seeds", "--seeds", 0),
    ("horizon", "--horizon", 0),
    ("window", "--window", -2),
    ("stride", "--stride", 0),
    ("batch_size", "--batch-size", 0),
    ("season", "--season", 0),
    ("patience", "--patience", 0),
    ("max_steps", "--max-steps", 0),
    ("normalize", "--normalize", "minmax"),
    ("fill", "--fill", "mean"),
    ("base", "--base", "prophet"),
    ("schedule", "--schedule", "linear"),
    ("loss", "--loss", "huber"),
    ("classical_budget", "--classical-budget", -1),
    ("classical_budget", "--classical-budget", "soon"),
]
#: settings of a comparison only (training one model or a panel takes none of them)
COMPARE_ONLY = {"classical_budget"}
#: the options each command line takes (the rest are not its settings)
CLI_TAKES = {
    "train": {o for k, o, _ in BAD if k not in COMPARE_ONLY},
    "compare": {o for _, o, _ in BAD},
    "panel": {
        "--seeds",
        "--horizon",
        "--window",
        "--stride",
        "--batch-size",
        "--season",
        "--normalize",
        "--fill",
    },
}


def expected(keyword, value) -> str:
    settings = {"horizon": 2, "window": 4, keyword: value}
    with pytest.raises(jaxseq.InputError) as error:
        check_settings(**settings)
    return str(error.value)


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("settings") / "s.csv"
    pd.DataFrame({"y": np.sin(np.arange(80) / 3)}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("keyword", "option", "value"), BAD)
def test_python_entry_points_refuse_with_one_message(keyword, option, value, csv_path):
    message = expected(keyword, value)
    ok = {"horizon": 2, "window": 4}
    calls = {
        "compare": lambda: compare.compare(str(csv_path), **{**ok, keyword: value}),
        "Forecaster": lambda: jaxseq.Forecaster(**{**ok, keyword: value}),
    }
    if keyword not in COMPARE_ONLY:
        calls["make_config"] = lambda: workflow.make_config(
            "linear_multi", str(csv_path), None, None, **{"seeds": 1, **ok, keyword: value}
        )
    if keyword not in (
        "fill",
        "base",
        "max_steps",
        "patience",
        "schedule",
        "loss",
        "stride",
        *COMPARE_ONLY,
    ):
        one = panel_table.from_arrays([np.sin(np.arange(60) / 3)] * 2)
        calls["fit_panel"] = lambda: panel_training.fit_panel(
            one, model="linear_multi", **{**ok, keyword: value}
        )
    for name, call in calls.items():
        try:
            call()
        except jaxseq.InputError as error:
            assert str(error) == message, name
        else:
            pytest.fail(f"{name} accepted {keyword}={value!r}")


@pytest.mark.parametrize(
    ("command", "keyword", "option", "value"),
    [(c, k, o, v) for c, takes in CLI_TAKES.items() for k, o, v in BAD if o in takes],
)
def test_command_lines_refuse_with_one_message(command, keyword, option, value, csv_path, capsys):
    argv = {
        "train": ["train", "--model", "linear_multi", "--data", str(csv_path), "--out", "r"],
        "compare": ["compare", "--data", str(csv_path), "--horizon", "2", "--window", "4"],
        "panel": [
            "panel",
            "--data",
            str(csv_path),
            "--model",
            "linear_multi",
            "--horizon",
            "2",
            "--window",
            "4",
            "--out",
            "p",
        ],
    }[command]
    try:
        code = main([*argv, option, str(value)])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"argument {option}: {expected(keyword, value)}" in err


@pytest.mark.parametrize("value", [0, -1.0, "strong"])
def test_a_bad_clipping_norm_is_refused_with_one_message(value, csv_path):
    message = expected("clip_norm", value)
    assert message.startswith("clip_norm must be > 0 or None (off)")
    ok = {"horizon": 2, "window": 4, "clip_norm": value}
    for call in (
        lambda: compare.compare(str(csv_path), **ok),
        lambda: jaxseq.Forecaster(**ok),
        lambda: workflow.make_config("linear_multi", str(csv_path), None, None, seeds=1, **ok),
    ):
        with pytest.raises(jaxseq.InputError) as error:
            call()
        assert str(error.value) == message
