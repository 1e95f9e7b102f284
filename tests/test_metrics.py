"""Forecast metrics against values worked out by hand."""

import numpy as np
import pytest

from jaxseq import metrics
from jaxseq.errors import InputError


def test_mase_scale_is_the_in_sample_seasonal_naive_mae():
    train = np.array([1.0, 3.0, 2.0, 6.0, 4.0, 9.0])
    # season 2: |2-1|, |6-3|, |4-2|, |9-6| = 1, 3, 2, 3 -> 9 / 4
    assert metrics.mase_scale(train, 2) == pytest.approx([2.25])
    # season 1: 2, 1, 4, 2, 5 -> 14 / 5
    assert metrics.mase_scale(train[:, None], 1) == pytest.approx([2.8])


def test_score_by_hand():
    truth = np.array([[[10.0], [20.0]], [[0.0], [5.0]]])  # 2 windows, horizon 2, 1 target
    pred = np.array([[[12.0], [20.0]], [[0.0], [1.0]]])
    s = metrics.score(pred, truth, [2.0])
    # errors 2, 0, 0, 4: MAE 1.5, RMSE sqrt(20/4), MASE 1.5 / 2
    assert s["mae"] == pytest.approx(1.5)
    assert s["rmse"] == pytest.approx(np.sqrt(5.0))
    assert s["mase"] == pytest.approx(0.75)
    # sMAPE: 200*2/22, 0, 0/0 -> 0, 200*4/6; mean over 4
    assert s["smape"] == pytest.approx((400 / 22 + 800 / 6) / 4)
    # per step: step 1 errors 2, 0; step 2 errors 0, 4
    assert s["per_step"]["mae"] == pytest.approx([1.0, 2.0])
    assert s["per_step"]["rmse"] == pytest.approx([np.sqrt(2.0), np.sqrt(8.0)])
    assert s["per_step"]["smape"] == pytest.approx([400 / 22 / 2, 800 / 6 / 2])


def test_seeds_give_their_spread_and_a_single_forecast_none():
    truth = np.zeros((3, 2, 1))
    pred = np.stack([np.full((3, 2, 1), 1.0), np.full((3, 2, 1), 3.0)])
    s = metrics.score_seeds(pred, truth, [1.0])
    assert (s["mae"]["mean"], s["mae"]["min"], s["mae"]["max"]) == (2.0, 1.0, 3.0)
    one = metrics.score_seeds(pred[:1], truth, [1.0])
    assert one["rmse"]["min"] == one["rmse"]["max"] == one["rmse"]["mean"] == 1.0
    # the forecast issued is the seeds' average, 2.0 everywhere: better than neither seed here
    assert s["issued"]["mae"] == 2.0 and one["issued"]["mae"] == 1.0
    opposite = metrics.score_seeds(np.stack([pred[0], -pred[0]]), truth, [1.0])
    assert opposite["mae"]["mean"] == 1.0 and opposite["issued"]["mae"] == 0.0


def test_metric_errors_name_the_fix():
    with pytest.raises(InputError, match="season 52 needs a training part longer than 52 steps"):
        metrics.mase_scale(np.arange(40.0), 52)
    with pytest.raises(InputError, match="seasonal naive error is 0"):
        metrics.mase_scale(np.tile([1.0, 2.0], 10), 2)
    with pytest.raises(
        InputError, match=r"pred must be \[windows, horizon, targets\] matching truth"
    ):
        metrics.score(np.zeros((2, 3)), np.zeros((2, 3, 1)), [1.0])
