"""A classical model over its time budget is stopped and skipped with a note; the limit itself
(:mod:`jaxseq.deadline`) stops pure-Python work, survives ``except Exception``, leaves no
timer behind and gives back the caller's own."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

import jaxseq
from jaxseq import baselines, deadline

#: how long a test waits for a limit that should have fired long before
NEVER = 60.0


def _spin(until: float = NEVER) -> None:
    """Busy pure-Python work for ``until`` seconds (what a stuck fit looks like)."""
    start = time.perf_counter()
    while time.perf_counter() - start < until:
        sum(range(100))


def test_a_block_past_its_limit_is_stopped():
    with pytest.raises(deadline.OverBudget), deadline.time_limit(0.2) as limit:
        assert limit.enforced
        _spin()
        pytest.fail("the limit never fired")


def test_the_limit_is_not_swallowed_by_except_exception():
    def stubborn():  # what a library that retries every failure does
        start = time.perf_counter()
        while time.perf_counter() - start < NEVER:
            try:
                _spin(0.05)
            except Exception:
                pass

    with pytest.raises(deadline.OverBudget), deadline.time_limit(0.2):
        stubborn()
        pytest.fail("the limit never fired")


def test_a_block_in_time_leaves_no_timer_and_puts_the_handler_back():
    def mine(signum, frame):
        raise AssertionError("the caller's handler ran")

    before = signal.signal(signal.SIGALRM, mine)
    try:
        with deadline.time_limit(0.2):
            pass
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is mine
        time.sleep(0.4)  # past the limit: nothing fires
    finally:
        signal.signal(signal.SIGALRM, before)


def test_the_callers_own_timer_keeps_running():
    fired = []
    before = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        with deadline.time_limit(5.0):
            pass
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < left <= 30.0
        assert not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


def test_no_limit_and_other_threads_run_to_the_end():
    with deadline.time_limit(None) as limit:
        assert not limit.enforced
    seen = {}

    def work():
        with deadline.time_limit(0.05) as limit:
            seen["enforced"] = limit.enforced
            time.sleep(0.2)
        seen["finished"] = True

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == {"enforced": False, "finished": True}


def test_a_classical_model_over_budget_is_skipped_the_others_kept(monkeypatch):
    def fit_forward(name, season, y, origins, horizon, fit_end):
        if name == "auto_arima":
            _spin()
        return np.zeros((len(origins), horizon))

    monkeypatch.setattr(baselines, "fit_forward", fit_forward)
    y = np.arange(100.0)[:, None]
    timings: dict[str, float] = {}
    forecasts, skipped = baselines.classical(
        y, np.arange(80, 96), 4, season=4, fit_end=80, budget=0.3, timings=timings
    )
    assert sorted(forecasts) == ["auto_ets", "auto_theta"]
    assert list(skipped) == ["auto_arima"]
    assert "0.3 s budget" in skipped["auto_arima"] and "100 steps" in skipped["auto_arima"]
    assert timings["auto_arima"] < NEVER


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "soon", True])
def test_bad_budgets_are_refused(bad):
    with pytest.raises(jaxseq.InputError, match="classical_budget"):
        baselines.check_budget(bad)


def test_zero_means_no_limit():
    assert baselines.check_budget(0) is None
    assert baselines.check_budget(None) is None
    assert baselines.check_budget(90) == 90.0


def test_the_command_line_passes_its_budget_on(monkeypatch, tmp_path, capsys):
    from jaxseq.app import compare
    from jaxseq.app.cli import main

    seen = {}

    def fake(source, **kwargs):
        seen.update(kwargs)
        raise jaxseq.InputError("stop here")

    monkeypatch.setattr(compare, "compare", fake)
    argv = ["compare", "--data", "x.csv", "--horizon", "2", "--window", "4", "--out", str(tmp_path)]
    for extra, want in (([], baselines.CLASSICAL_BUDGET), (["--classical-budget", "0"], None)):
        seen.clear()
        assert main([*argv, *extra]) == 2
        assert seen["classical_budget"] == want
    capsys.readouterr()
