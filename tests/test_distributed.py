"""Training across devices (jaxseq.distributed): the same results as one device, on forced CPU
devices in subprocesses (XLA_FLAGS=--xla_force_host_platform_device_count=N), and across two
processes joined by jax.distributed on this machine."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from jaxseq import data, distributed, models
from jaxseq.errors import InputError
from jaxseq.train import Trainer

RTOL, ATOL = 1e-4, 1e-6
CACHE = os.environ.get("JAXSEQ_TEST_CACHE", os.path.expanduser("~/.cache/jaxseq/xla-tests"))

PRELUDE = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec
    from jaxseq import data, models, distributed as dist
    from jaxseq.errors import InputError
    from jaxseq.train import Trainer

    def flat(tree):
        return {jax.tree_util.keystr(p): np.asarray(v) for p, v in
                jax.tree_util.tree_leaves_with_path(tree)}
    """
)

# Four forced CPU devices: the references run on one of them (Trainer.fit: uncommitted arrays
# stay on device 0), the sharded runs on all four. simple_rnn is recurrent (lax.scan, fused
# backward pass) yet cheap to compile.
FOUR_DEVICES = PRELUDE + textwrap.dedent(
    """
    import time
    out_dir = sys.argv[1]
    out = {"devices": jax.device_count()}
    one = data.chapter_data("one_step", n_series=100)   # 70 train: 4 x 16 + 6; 20 valid
    rnn = models.get("simple_rnn")
    ref = Trainer(rnn, batch_size=16).fit(one, seeds=4, epochs=2)
    np.savez(f"{out_dir}/ref.npz", **flat(ref.state.variables))

    rep = dist.fit_sharded(Trainer(rnn, batch_size=16), one, seeds=4, epochs=2, mode="replica")
    np.savez(f"{out_dir}/replica.npz", **flat(rep.state.variables))
    leaf = jax.tree_util.tree_leaves(rep.state.variables)[0]
    out["replica"] = {
        "spec": list(leaf.sharding.spec),
        "shard_rows": [s.data.shape[0] for s in leaf.addressable_shards],
        "shard_devices": len({s.device for s in leaf.addressable_shards}),
        "curves": {k: [ref.history.curve(k).tolist(), rep.history.curve(k).tolist()]
                   for k in ref.history.metrics},
    }

    # data parallel, one replica (seed 0): the same as replica 0 of the reference
    trainer, mesh = Trainer(rnn, batch_size=16), dist.mesh("data")
    dp = dist.fit_sharded(trainer, one, seeds=[0], epochs=2, mode="data", mesh=mesh)
    np.savez(f"{out_dir}/data.npz", **flat(dp.state.variables))
    leaf = jax.tree_util.tree_leaves(dp.state.variables)[0]
    out["data"] = {
        "spec": list(leaf.sharding.spec),
        "shard_devices": len({s.device for s in leaf.addressable_shards}),
        "curves": {k: [ref.history.curve(k)[:, :1].tolist(), dp.history.curve(k).tolist()]
                   for k in ref.history.metrics},
    }
    # the compiled program splits the batch: XLA inserted the all-reduce of the gradients
    everywhere = NamedSharding(mesh, PartitionSpec())
    keys = jax.device_put(dp.keys, everywhere)
    split = jax.device_put(data.Split(one.train.X, one.train.Y), everywhere)
    valid = jax.device_put(data.Split(one.valid.X, one.valid.Y), everywhere)
    t = time.perf_counter()
    lowered = dist.data_parallel_epoch_fn(trainer, mesh).lower(dp.state, keys, split, valid)
    out["data"]["all_reduce"] = "all-reduce" in lowered.compile().as_text()
    out["data"]["hlo_seconds"] = time.perf_counter() - t

    try:
        dist.fit_sharded(Trainer(rnn, batch_size=16), one, seeds=3, epochs=1)
    except InputError as error:
        out["indivisible"] = str(error)
    print("RESULT " + json.dumps(out))
    """
)

# Two processes with two CPU devices each, joined by jaxseq.distributed.initialize, on a hybrid
# mesh: 2 replica groups, each group's "data" axis spanning both processes (so the gradient
# all-reduce crosses processes) and the replicas split across groups.
TWO_PROCESSES = PRELUDE + textwrap.dedent(
    """
    address, pid = sys.argv[1], int(sys.argv[2])
    assert dist.initialize(address, 2, pid)
    devices = sorted(jax.devices(), key=lambda d: d.id)
    by_process = [[d for d in devices if d.process_index == p] for p in (0, 1)]
    grid = [by_process[p][group] for group in (0, 1) for p in (0, 1)]
    mesh = dist.mesh(("replica", "data"), grid, shape=(2, 2))
    one = data.chapter_data("one_step", n_series=100)
    trainer = Trainer(models.get("linear"), batch_size=16)
    got = dist.fit_sharded(trainer, one, seeds=4, epochs=2, mode="hybrid", mesh=mesh)
    from jax.experimental import multihost_utils
    kernel = multihost_utils.process_allgather(
        got.state.variables["params"]["head"]["kernel"], tiled=True)
    out = {
        "processes": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "groups_span_processes": [sorted({d.process_index for d in row})
                                  for row in mesh.devices.tolist()],
        "loss": got.history.curve("loss").tolist(),
        "kernel": np.asarray(kernel).tolist(),
    }
    print("RESULT " + json.dumps(out))
    """
)


def _env(devices: int) -> dict:
    env = distributed.forced_cpu_env(devices)
    if CACHE:  # the suite's persistent compile cache (see conftest.py)
        env["JAX_COMPILATION_CACHE_DIR"] = CACHE
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"
    return env


def _result(proc: subprocess.CompletedProcess) -> dict:
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise AssertionError(f"subprocess failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("four_devices")
    proc = subprocess.run(
        [sys.executable, "-c", FOUR_DEVICES, str(out_dir)],
        env=_env(4),
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = _result(proc)
    arrays = {name: dict(np.load(out_dir / f"{name}.npz")) for name in
              ("ref", "replica", "data")}  # fmt: skip
    return result, arrays


def _assert_trees_close(got: dict, want: dict):
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=RTOL, atol=ATOL, err_msg=name)


def test_replica_parallel_four_devices_matches_one_device(four):
    result, arrays = four
    assert result["devices"] == 4
    rep = result["replica"]
    assert rep["spec"] == ["replica"]
    assert rep["shard_rows"] == [1, 1, 1, 1] and rep["shard_devices"] == 4  # one per device
    _assert_trees_close(arrays["replica"], arrays["ref"])  # every replica's parameters
    for name, (want, got) in rep["curves"].items():
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)


def test_data_parallel_four_devices_matches_one_device(four):
    result, arrays = four
    dp = result["data"]
    assert dp["spec"] == [] and dp["shard_devices"] == 4  # parameters copied to every device
    assert dp["all_reduce"]  # the batch is split: gradients are summed across devices
    replica0 = {name: value[:1] for name, value in arrays["ref"].items()}
    _assert_trees_close(arrays["data"], replica0)
    for name, (want, got) in dp["curves"].items():
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)


def test_replicas_not_divisible_by_devices_is_a_clear_error(four):
    message = four[0]["indivisible"]
    assert "3 replicas" in message and "4 devices" in message and "multiple of 4" in message


# One small model per series, the series split over four devices: five series of two
# lengths (two groups), two seeds, chunks of two series (a chunk of one series, two replicas,
# is padded to four) against the same local models on one device.
LOCAL_MODELS = PRELUDE + textwrap.dedent(
    """
    from jaxseq.app.panel import table as panel_table, training as panel_training
    rng = np.random.default_rng(3)
    arrays = [np.sin(np.arange(n) / (2 + k)) + rng.normal(0, 0.1, n)
              for k, n in enumerate([90, 90, 120, 90, 120])]
    result = panel_training.fit_panel(panel_table.from_arrays(arrays), model="linear_multi",
                                    window=12, horizon=3, seeds=2, epochs=2)
    one = panel_training.fit_local(result, chunk=2, sharded=False)
    many = panel_training.fit_local(result, chunk=2)
    print("RESULT " + json.dumps({
        "devices": jax.device_count(),
        "one": one.forecasts["test"].tolist(),
        "many": many.forecasts["test"].tolist(),
        "states": len(many.state),
        "spread": len(jax.tree_util.tree_leaves(many.state[0].variables)[0].sharding.device_set),
    }))
    """
)


def test_local_models_split_over_devices_match_one_device():
    proc = subprocess.run(
        [sys.executable, "-c", LOCAL_MODELS],
        env=_env(4),
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = _result(proc)
    assert result["devices"] == 4 and result["states"] == 5  # the padding copies dropped
    assert result["spread"] > 1  # a series' two replicas trained on devices of their own
    np.testing.assert_allclose(result["many"], result["one"], rtol=RTOL, atol=ATOL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_hybrid_matches_one_device(one_device_reference):
    """Two processes x two CPU devices, joined by initialize(): the same as one device."""
    address = f"localhost:{_free_port()}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TWO_PROCESSES, address, str(pid)],
            env=_env(2),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pid in (0, 1)
    ]
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=240)
            results.append(
                _result(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
            )
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    ref = one_device_reference  # linear, 4 seeds, on this process' one device
    kernel = np.asarray(ref.state.variables["params"]["head"]["kernel"])
    for got in results:
        assert (got["processes"], got["devices"], got["local_devices"]) == (2, 4, 2)
        assert got["groups_span_processes"] == [[0, 1], [0, 1]]
        np.testing.assert_allclose(got["loss"], ref.history.curve("loss"), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(got["kernel"], kernel, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- in this process


ONE_STEP = data.chapter_data("one_step", n_series=100)
LINEAR = models.get("linear")
TRAINER = Trainer(LINEAR, batch_size=16)  # shared: its compiled epochs are reused across tests


@pytest.fixture(scope="module")
def one_device_reference():
    return Trainer(LINEAR, batch_size=16).fit(ONE_STEP, seeds=4, epochs=2)


@pytest.mark.parametrize("mode", ["replica", "data"])
def test_same_code_on_one_device(mode, one_device_reference):
    ref = one_device_reference
    got = distributed.fit_sharded(TRAINER, ONE_STEP, seeds=4, epochs=2, mode=mode)
    assert jax.tree_util.tree_structure(got.state) == jax.tree_util.tree_structure(ref.state)
    for a, b in zip(
        jax.tree_util.tree_leaves(got.state), jax.tree_util.tree_leaves(ref.state), strict=True
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL)
    for name in ref.history.metrics:
        np.testing.assert_allclose(
            got.history.curve(name), ref.history.curve(name), rtol=RTOL, atol=ATOL
        )


def test_resume_and_callback(one_device_reference):
    seen = []
    first = distributed.fit_sharded(TRAINER, ONE_STEP, seeds=4, epochs=1)
    rest = distributed.fit_sharded(
        TRAINER,
        ONE_STEP,
        seeds=4,
        epochs=1,
        state=first.state,
        start_epoch=1,
        callback=lambda e, m: seen.append((e, m["loss"].shape)),
    )
    assert seen == [(1, (4,))]
    np.testing.assert_allclose(
        rest.history.curve("loss"), one_device_reference.history.curve("loss")[1:], rtol=RTOL
    )


def test_mesh_helper():
    m = distributed.mesh()
    assert m.axis_names == ("replica",) and m.devices.size == jax.device_count()
    assert distributed.mesh("data").axis_names == ("data",)
    two = distributed.mesh(("replica", "data"), shape=(1, 1))
    assert dict(two.shape) == {"replica": 1, "data": 1}
    with pytest.raises(InputError, match="needs shape"):
        distributed.mesh(("replica", "data"))
    with pytest.raises(InputError, match="axis must be"):
        distributed.mesh("model")
    with pytest.raises(InputError, match="holds 2 devices"):
        distributed.mesh("data", shape=(2,))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(InputError, match="mode must be one of"):
        distributed.fit_sharded(TRAINER, ONE_STEP, mode="model")
    with pytest.raises(InputError, match="needs a mesh with a 'data' axis"):
        distributed.fit_sharded(TRAINER, ONE_STEP, mode="data", mesh=distributed.mesh("replica"))
    explicit = jax.make_mesh((1,), ("replica",), axis_types=(jax.sharding.AxisType.Explicit,))
    with pytest.raises(InputError, match="must be of type Auto"):
        distributed.fit_sharded(TRAINER, ONE_STEP, mesh=explicit)
    state = {"params": np.zeros((2, 3))}
    with pytest.raises(InputError, match="leading replica axis of size 3"):
        distributed.fit_sharded(TRAINER, ONE_STEP, seeds=3, epochs=1, state=state)
    seq = data.chapter_data("seq2seq", n_series=20)
    with pytest.raises(InputError, match="seq2seq targets"):
        distributed.fit_sharded(TRAINER, seq, epochs=1)


def test_initialize_is_a_no_op_unless_asked(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.initialize() is False
    assert distributed.initialize(num_processes=1, process_id=0) is False
    with pytest.raises(InputError, match="process_id must be in"):
        distributed.initialize("localhost:1234", 2, 2)
    with pytest.raises(InputError, match="'host:port'"):
        distributed.initialize("localhost", 2, 0)
    with pytest.raises(InputError, match="missing process_id"):
        distributed.initialize("localhost:1234", 2)
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(InputError, match="JAX_NUM_PROCESSES must be an integer"):
        distributed.initialize()
