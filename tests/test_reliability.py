"""Numerical faults, interruption, damaged checkpoints, determinism, long sequences."""

import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxseq import cells, data, history, models, train
from jaxseq.app.cli import main
from jaxseq.app.runs import Run, RunConfig
from jaxseq.layers import Dense, Sequential, TimeDistributed
from jaxseq.recurrent import RNN, scan_cell

SMALL = data.chapter_data("one_step", n_series=200)  # 140 training windows: 5 steps of 32


def _finite(tree) -> bool:
    return all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree_util.tree_leaves(tree))


def test_non_finite_loss_stops_training_and_keeps_the_last_good_parameters():
    trainer = train.Trainer(models.get("linear"), learning_rate=1e30)
    with pytest.raises(
        history.TrainingDiverged, match=r"non-finite loss at epoch 1, step \d+ \(replica 0\)"
    ) as info:
        trainer.fit(SMALL, seeds=1, epochs=3)
    result = info.value.result
    assert _finite(result.state.variables)
    assert result.history.metrics == {}  # the failed epoch is not recorded as if it were good


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    # Adam with a rate that jumps to 1e30 after 12 steps: epochs 1-2 (5 steps each) are good;
    # the 13th update (epoch 3, step 3) sends the weights to ~1e30 and the next loss overflows.
    schedule = lambda count: jnp.where(count < 12, 1e-3, 1e30)
    trainer = train.Trainer(models.get("linear"), learning_rate=schedule)
    config = RunConfig(
        model="linear",
        data="-",
        columns=["x"],
        targets=["x"],
        window=50,
        horizon=1,
        task="one_step",
        seeds=2,
        epochs=5,
    )
    run = Run.create(tmp_path / "run", config, data.Scaler(np.zeros(1), np.ones(1)))
    saved = {}

    def checkpoint(epoch, state, metrics):
        run.save(epoch + 1, state, {})
        saved[epoch + 1] = jax.tree_util.tree_map(np.array, state.variables)

    with pytest.raises(history.TrainingDiverged, match="epoch 3, step 4"):
        trainer.fit(SMALL, seeds=2, epochs=5, on_epoch_end=checkpoint)
    assert run.latest_epoch() == 2
    target = jax.eval_shape(trainer.init, train.replica_keys(2))
    epoch, state = run.restore(target)
    assert epoch == 2 and _finite(state)
    jax.tree_util.tree_map(np.testing.assert_array_equal, state.variables, saved[2])


def test_gradient_clipping_keeps_an_exploding_setup_finite():
    """Plain gradient descent with too large a step explodes on the linear model (the step
    exceeds 2 / the largest curvature); clipping the gradient's global norm bounds every update,
    so the same run stays finite. (Adam rescales steps itself; this is where clipping matters.)"""
    model = models.get("linear")
    exploding = train.Trainer(model, optimizer=optax.sgd(3.0))
    with pytest.raises(history.TrainingDiverged):
        exploding.fit(SMALL, seeds=1, epochs=20)
    clipped = train.Trainer(
        model, optimizer=optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(3.0))
    )
    result = clipped.fit(SMALL, seeds=1, epochs=20)
    assert _finite(result.state.variables) and np.isfinite(result.history.curve("loss")).all()


def test_same_seed_same_data_gives_bit_identical_parameters():
    a = train.Trainer(models.get("gru_seq2seq")).fit(
        data.chapter_data("seq2seq", n_series=60), seeds=2, epochs=2
    )
    b = train.Trainer(models.get("gru_seq2seq")).fit(
        data.chapter_data("seq2seq", n_series=60), seeds=2, epochs=2
    )
    jax.tree_util.tree_map(np.testing.assert_array_equal, a.state.variables, b.state.variables)


def _csv(path, n=300):
    t = np.arange(n)
    with open(path, "w") as f:
        f.write("value\n")
        f.writelines(f"{np.sin(i / 7) + 0.3 * np.sin(i / 19):.6f}\n" for i in t)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_training_leaves_a_whole_resumable_checkpoint(tmp_path, sig):
    data_path = _csv(tmp_path / "s.csv")
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "jaxseq",
        "train",
        "--model",
        "linear_multi",
        "--data",
        str(data_path),
        "--window",
        "10",
        "--horizon",
        "3",
        "--epochs",
        "100000",
        "--seeds",
        "2",
        "--batch-size",
        "4",
        "--out",
        str(run),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while Run(run).latest_epoch() is None if (run / "config.json").exists() else True:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "no checkpoint within 2 minutes"
        time.sleep(0.2)  # polling a subprocess, not a delay
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; the last checkpoint is kept" in err and "Traceback" not in err
    epoch = Run(run).latest_epoch()
    assert epoch is not None and epoch >= 1
    # The checkpoint restores, and training resumes from it (to a smaller total, via the config).
    config = (run / "config.json").read_text().replace('"epochs": 100000', f'"epochs": {epoch + 1}')
    (run / "config.json").write_text(config)
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert Run(run).latest_epoch() == epoch + 1


def test_damaged_checkpoint_gives_a_clear_error(tmp_path, capsys):
    data_path = _csv(tmp_path / "s.csv")
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                "linear_multi",
                "--data",
                str(data_path),
                "--window",
                "10",
                "--horizon",
                "3",
                "--epochs",
                "1",
                "--seeds",
                "1",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    files = [p for p in (run / "checkpoints").rglob("*") if p.is_file() and p.stat().st_size > 0]
    for path in files:  # garble every file of the checkpoint
        path.write_bytes(b"\x00garbage" * 3)
    assert main(["forecast", str(run), "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "is damaged or does not match the model" in err and err.count("\n") == 1


def test_truncated_config_gives_a_clear_error(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"model": "linear", ')
    assert main(["evaluate", str(run)]) == 2
    assert "config.json is damaged" in capsys.readouterr().err


def test_rematerialised_scan_gives_the_same_gradients():
    for cell in (cells.lstm(), cells.gru(reset_after=False)):
        params = cell.init(jax.random.PRNGKey(0), 2, 6)
        X = jax.random.normal(jax.random.PRNGKey(1), (3, 45, 2))
        lengths = jnp.array([45, 30, 7])

        def loss(p, chunk, lengths=None, cell=cell, X=X):
            return jnp.sum(
                scan_cell(cell, p, X, hidden_size=6, remat_chunk=chunk, lengths=lengths)[1] ** 2
            )

        for lens in (None, lengths):
            full = jax.grad(loss)(params, None, lens)
            chunked = jax.grad(loss)(params, 10, lens)  # 4 chunks of 10 and a remainder of 5
            jax.tree_util.tree_map(
                lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), full, chunked
            )


def test_rematerialised_scan_holds_less_memory():
    """XLA's own buffer plan for one gradient over 2,000 steps: chunks must cut the temporaries
    (the per-step stash and the all-steps input projection are no longer held whole)."""
    X = jnp.ones((8, 2000, 1))

    def temp_bytes(cell, chunk):
        params = cell.init(jax.random.PRNGKey(0), 1, 32)
        loss = lambda p: jnp.sum(scan_cell(cell, p, X, hidden_size=32, remat_chunk=chunk)[1])
        compiled = jax.jit(jax.grad(loss)).lower(params).compile()
        analysis = compiled.memory_analysis()
        if analysis is None:
            pytest.skip("this backend gives no memory analysis")
        return analysis.temp_size_in_bytes

    for cell in (cells.lstm(), cells.gru(reset_after=False)):
        assert temp_bytes(cell, 100) * 3 < temp_bytes(cell, None)


@pytest.mark.slow
def test_training_on_ten_thousand_steps():
    T = 10_000
    module = Sequential(
        [RNN(cells.lstm(), 16, return_sequences=True, remat_chunk=500), TimeDistributed(Dense(1))]
    )
    model = models.Model(
        name="long", module=module, task="seq2seq", mode="seq2seq", dims=models.Dims(T, 1, 1, 1)
    )
    series = data.generate_time_series(8, T + 1, seed=0)
    split = data.Split(series[:, :-1], series[:, 1:])
    dataset = data.Dataset(split, split, split, task="seq2seq", window=T, horizon=1)
    result = train.Trainer(model, batch_size=4, learning_rate=1e-2).fit(dataset, seeds=1, epochs=2)
    loss = result.history.curve("loss")[:, 0]
    assert np.isfinite(loss).all() and loss[-1] < loss[0]
