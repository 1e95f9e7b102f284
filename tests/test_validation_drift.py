"""experiments/validation_drift.py: its figures against hand-computed ones."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "validation_drift.py"


def load_script():
    spec = importlib.util.spec_from_file_location("validation_drift", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(model, kind, valid_mase, test_mase, test_mae):
    return {
        "model": model,
        "kind": kind,
        "valid": {"issued": {"mase": valid_mase}},
        "test": {"issued": {"mase": test_mase, "mae": test_mae}},
    }


RESULT = {
    "settings": {"best": "gru"},
    "rows": [
        row("gru", "zoo", 1.0, 1.2, 9.0),  # test / valid 1.2
        row("lstm", "zoo", 2.0, 2.0, 12.0),  # 1.0
        row("wavenet", "zoo", 1.0, 1.5, 13.0),  # 1.5 -> median of networks 1.2
        row("auto_ets", "classical", 1.0, 0.9, 10.0),  # 0.9
        row("auto_arima", "classical", 2.0, 2.2, 8.0),  # 1.1
        row("auto_theta", "classical", 1.0, 1.0, 11.0),  # 1.0 -> median 1.0
        row("naive", "baseline", 1.0, 5.0, 50.0),  # neither family
    ],
}


def test_drift_and_ratios_by_hand(tmp_path):
    drift = load_script()
    d = drift.series_drift(RESULT)
    assert d["networks"] == pytest.approx(1.2)
    assert d["classical"] == pytest.approx(1.0)
    assert d["pick_over_best_classical"] == pytest.approx(9.0 / 8.0)
    assert d["pick_over_median_classical"] == pytest.approx(9.0 / 10.0)
    text = drift.markdown({"a": d, "b": {**d, "networks": 0.3}})
    # geometric mean of the networks' drift over two series: sqrt(1.2 * 0.3) = 0.6
    assert "| geometric mean | 0.600 | 1.000 | 0.600 | 1.125 | 0.900 |" in text
    assert "on 2 of 2" in text
