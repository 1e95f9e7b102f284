"""``jaxseq bench`` on whatever backend the tests run on (here, the CPU): the device report and a
tiny version of every workload, peers included where installed. No timing is asserted."""

import json
import os

import jax
import numpy as np
import pytest

from jaxseq.bench import harness as bench
from jaxseq.bench import peers, peers_torch, timing
from jaxseq.bench import workloads as bench_workloads
from jaxseq.errors import InputError

TINY_SPEC = dict(batch=3, time=5, units=4)
TINY = {
    "spec": TINY_SPEC,
    "S8": dict(replicas=(1, 2)),
    "E1": dict(names=("linear", "gru_seq2seq"), seeds=2, windows=24, rounds=1),
    "B1": dict(origins=7, rounds=2),
}


def test_device_report_describes_the_backend_without_assuming_a_cpu():
    report = bench_workloads.device_report()
    device = jax.devices()[0]
    assert report["backend"] == jax.default_backend()
    assert report["platform"] == device.platform
    assert report["device_kind"] == device.device_kind
    assert report["device_count"] == jax.device_count()
    # memory is what the backend reports, or None where it reports nothing (a CPU)
    assert report["memory"] is None or "bytes_limit" in report["memory"]
    line = bench_workloads.format_device(report)
    assert report["backend"] in line and report["device_kind"] in line
    gpu_like = dict(report, memory={"bytes_limit": 80 * 2**30, "bytes_in_use": 2**30})
    assert "80.0 GiB (1.0 GiB in use)" in bench_workloads.format_device(gpu_like)
    json.dumps(report)  # goes into bench.json


@pytest.mark.slow
def test_tiny_suite_runs_and_reports_every_workload(tmp_path):
    names = ["W1", "W2", "W3", "W4", "W5", "W6", "S8", "E1", "B1"]
    result = bench.run_bench(
        names, peers=["flax"], rounds=2, budget=0.1, out=tmp_path, log=lambda s: None, sizes=TINY
    )
    assert [w["workload"] for w in result["workloads"]] == names
    assert result["device_report"]["backend"] == jax.default_backend()
    for w in result["workloads"][:6]:
        for what in ("train", "forward"):
            assert w["contenders"]["flax"][what]["ratio_to_jaxseq"] > 0
    s8 = result["workloads"][6]["throughput"]
    assert [r["replicas"] for r in s8] == [1, 2]
    assert all(r["vmap_sequences_per_second"] > 0 for r in s8)
    e1 = result["workloads"][7]
    assert set(e1["seconds"]) == {"vmap", "vmap_chunked", "one_seed_at_a_time"}  # no Keras
    b1 = result["workloads"][8]
    assert b1["max_abs_difference"] < 1e-5  # batched forecasts equal the loop's
    md = (tmp_path / "bench.md").read_text()
    for part in ("Device: backend", "| W6 |", "**S8**", "**E1**", "**B1**", "forward flax"):
        assert part in md
    assert json.loads((tmp_path / "bench.json").read_text())["workloads"][0]["workload"] == "W1"


def test_update_replaces_the_workloads_it_measures_and_keeps_the_rest(tmp_path):
    run = dict(peers=["flax"], rounds=2, budget=0.1, out=tmp_path, log=lambda s: None, sizes=TINY)
    first = bench.run_bench(["W1", "W3"], **run)
    again = bench.run_bench(["W3"], update=True, **run)
    assert [w["workload"] for w in again["workloads"]] == ["W1", "W3"]
    assert again["workloads"][0] == {**first["workloads"][0], "from_earlier_run": True}
    assert "from_earlier_run" not in again["workloads"][1]
    assert "W1: from the earlier run" in (tmp_path / "bench.md").read_text()
    with pytest.raises(InputError, match="measured with peers"):
        bench.run_bench(["W3"], update=True, **{**run, "peers": ["none"]})


def test_unknown_workload_and_peer_are_refused():
    with pytest.raises(InputError, match="unknown workload 'W9'"):
        bench.run_bench(["W9"], out=None)
    with pytest.raises(InputError, match="unknown peer 'mxnet'"):
        bench.run_bench(["W1"], peers=["mxnet"], out=None)


def test_default_peers_are_those_installed():
    expected = ["flax"] + (["keras"] if peers.keras_available() else [])
    expected += ["torch"] if peers_torch.torch_available() else []
    assert bench.default_peers() == expected
    assert bench.DEFAULT_WORKLOADS[-4:] == ("S8", "E1", "B1", "P1")


@pytest.mark.slow
@pytest.mark.skipif(not peers_torch.torch_available(), reason="PyTorch is not installed")
@pytest.mark.parametrize("name", ["W1", "W2", "W3", "W5"])
def test_torch_peer_trains_and_runs_each_workload(name):
    spec = bench.WORKLOADS[name]._replace(**TINY_SPEC)
    c = peers_torch.torch_contender(spec)
    before = c.forward().float().numpy().copy()
    c.train_step(c.init_state)
    after = c.forward().float().numpy()
    assert not np.array_equal(before, after)  # the step changed the parameters
    shape = (3, 5, spec.outputs) if spec.per_step_head else (3, spec.outputs)
    if spec.kind == "wavenet":
        shape = (3, spec.outputs, 5)  # PyTorch's [batch, channels, time]
    assert after.shape == shape


@pytest.mark.slow
@pytest.mark.skipif(not peers.keras_available(), reason="Keras is not installed")
def test_evaluator_workload_scores_the_same_models_as_keras():
    out = bench_workloads.run_evaluator(
        ("deep_rnn_dense", "lstm_seq2seq"), seeds=2, windows=40, rounds=1, log=lambda s: None
    )
    assert set(out["seconds"]) == {"vmap", "vmap_chunked", "one_seed_at_a_time", "keras_evaluate"}
    assert set(out["keras_over"]) == set(out["seconds"])
    assert out["keras_loss_max_relative_difference"] < 1e-4


def test_keras_chapter_models_cover_the_evaluator_models():
    if not peers.keras_available():
        pytest.skip("Keras is not installed")
    keras = peers.import_keras()
    for name in ("linear", "conv_gru_seq2seq", "wavenet"):
        model = bench_workloads.keras_chapter_model(keras, name)
        assert model.output_shape[-1] in (1, 10)
    assert len(bench_workloads.E1_MODELS) == 13


def test_backtest_series_is_deterministic():
    a, b = bench_workloads.backtest_series(80), bench_workloads.backtest_series(80)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (80,) and a.dtype == np.float32


def test_time_interleaved_times_every_call_once_per_round_in_a_seeded_order():
    log = []
    calls = {name: (lambda name=name: log.append(name)) for name in "abc"}
    times = timing.time_interleaved(calls, rounds=4, warmup=1)
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 4, "c": 4}
    assert log[:3] == ["a", "b", "c"]  # the warm-up calls
    rounds = [log[3 + 3 * r : 6 + 3 * r] for r in range(4)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # the order is drawn afresh each round
    log.clear()
    timing.time_interleaved(calls, rounds=4, warmup=0)
    assert [log[3 * r : 3 + 3 * r] for r in range(4)] == rounds  # seeded: the same orders
    # a spent budget stops after min_rounds
    short = timing.time_interleaved(calls, rounds=50, budget=0.0, warmup=0, min_rounds=2)
    assert len(short["a"]) == 2
    assert (
        timing.median_ratio({"x": np.array([2.0, 4.0]), "y": np.array([1.0, 1.0])}, "x", "y") == 3
    )
    assert timing.time_call(lambda: jax.numpy.ones(3)) > 0


def test_jaxseq_contender_runs_the_library_train_step():
    """The bench's jaxseq step is jaxseq.train.train_step: the same parameters after one step."""
    from jaxseq.train import init_state, make_optimizer, train_step

    spec = bench.WORKLOADS["W1"]._replace(**TINY_SPEC)
    c = bench.jaxseq_contender(spec)
    model = bench.jaxseq_model(spec)
    X, Y = (jax.numpy.asarray(a) for a in peers.random_data(spec))
    opt = make_optimizer(1e-3)
    state = init_state(model, opt, jax.random.split(jax.random.PRNGKey(0), 1)[0])
    for _ in range(2):  # the contender's state has taken one step (its compile-time call)
        state = train_step(model, opt, state, X, Y, None)[0]
    got = c.train_step(c.init_state)
    for a, b in zip(jax.tree.leaves(got.variables), jax.tree.leaves(state.variables), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_throughput_by_devices_runs_each_count_in_a_subprocess(monkeypatch):
    from jaxseq.bench import scaling

    cache = os.environ.get("JAXSEQ_TEST_CACHE", os.path.expanduser("~/.cache/jaxseq/xla-tests"))
    if cache:  # the suite's persistent compile cache (see conftest.py)
        monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", cache)
    got = scaling.throughput_by_devices(
        "linear", (2,), n_series=20, batch_size=8, timed_epochs=1, platform="cpu", details=True
    )
    assert list(got) == [2]
    assert got[2]["devices"] == 2 and got[2]["seeds"] == 2 and got[2]["platform"] == "cpu"
    assert got[2]["sequences_per_second"] > 0
    with pytest.raises(InputError, match="cannot be split evenly"):
        scaling.throughput_by_devices("linear", (2, 4), seeds=2, platform="cpu")
