"""`jaxseq evaluate --refit-every K` against a loop that refits by hand: before every block of K
test origins, a fresh `jaxseq train` on the series cut after the block's last target, with the
block as its test part, and `jaxseq evaluate` of that run. The network and every baseline
(least squares and the classical models fitted, naive ones not) must give the same test MAE
both ways: the baselines are refitted on the networks' schedule and data, not left at the first
origin."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jaxseq import baselines
from jaxseq.app.cli import main

N, WINDOW, HORIZON, VALID, TEST, EVERY = 110, 12, 3, 15, 12, 4
T = np.arange(N)
SIGNAL = 30 + 0.2 * T + 5 * np.sin(2 * np.pi * T / 12) + np.random.default_rng(7).normal(0, 1, N)
TRAIN = ["--model", "linear_multi", "--window", str(WINDOW), "--horizon", str(HORIZON)]
TRAIN += ["--seeds", "2", "--max-steps", "40", "--patience", "10", "--time-column", "month"]
TRAIN += ["--valid-size", str(VALID), "--quiet"]
FITTED = ["linear_least_squares", *(baselines.CLASSICAL if baselines.available() else ())]


def _csv(path, values):
    frame = pd.DataFrame({"month": pd.date_range("1990-01-01", periods=len(values), freq="MS")})
    frame["y"] = values
    frame.to_csv(path, index=False)
    return path


def _evaluate(run, out, *extra) -> dict:
    assert main(["evaluate", str(run), "--out", str(out), *extra]) == 0
    return json.loads(out.read_text())["test"]


def _train(tmp_path, name, values, test_size) -> str:
    run = tmp_path / name
    path = _csv(tmp_path / f"{name}.csv", values)
    argv = ["train", "--data", str(path), *TRAIN, "--test-size", str(test_size)]
    assert main([*argv, "--out", str(run)]) == 0
    return run


@pytest.mark.slow
def test_refit_every_equals_a_hand_loop_for_the_network_and_every_baseline(tmp_path):
    run = _train(tmp_path, "full", SIGNAL, TEST)
    once = _evaluate(run, tmp_path / "once.json")
    refit = _evaluate(run, tmp_path / "refit.json", "--refit-every", str(EVERY))
    origins = np.arange(N - TEST, N - HORIZON + 1)
    assert refit["windows"] == once["windows"] == len(origins)

    hand: dict[str, float] = {}  # test MAE summed over windows, block by block
    for b, start in enumerate(range(0, len(origins), EVERY)):
        block = origins[start : start + EVERY]
        cut = int(block[-1]) + HORIZON  # the block's last target is the cut series' last value
        part = _train(tmp_path, f"block{b}", SIGNAL[:cut], cut - int(block[0]))
        scores = _evaluate(part, tmp_path / f"block{b}.json")
        assert scores["windows"] == len(block) and scores["origins"][0] == block[0]
        for name, row in scores["rows"].items():
            hand[name] = hand.get(name, 0.0) + row["mae"]["mean"] * len(block)

    names = ["linear_multi", "naive", "seasonal_naive", "drift", *FITTED]
    for name in names:
        got = refit["rows"][name]["mae"]["mean"]
        assert got == pytest.approx(hand[name] / len(origins), rel=1e-5), name
    # the fitted baselines moved: refitted, not left as they were fitted at the first origin
    for name in FITTED:
        assert refit["rows"][name]["mae"]["mean"] != once["rows"][name]["mae"]["mean"], name
