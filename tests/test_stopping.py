"""Early stopping and the training budget: the tracker against a hand-run of its rules, each
replica's kept epoch against a plain run of that many epochs, stopped replicas frozen."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import data, models, stopping, train
from jaxseq.errors import InputError

SMALL = data.chapter_data("one_step", n_series=200)  # 140 train windows: 5 steps per epoch


def _track(scores, patience, min_delta=0.0, diverged=()):
    """Run the tracker over a replica's validation scores; the variables of epoch e are e."""
    lim = stopping.limits(patience, min_delta, plateau=False)
    tracker = stopping.init_tracker({"w": jnp.asarray(-1.0)})
    for epoch, score in enumerate(scores):
        tracker, _ = stopping.update(
            tracker,
            jnp.asarray(score, jnp.float32),
            jnp.asarray(epoch in diverged),
            jnp.asarray(epoch, jnp.int32),
            {"w": jnp.asarray(float(epoch))},
            lim,
        )
    return jax.device_get(tracker)


def _by_hand(scores, patience, min_delta=0.0):
    """The rules of the module docstring, in plain Python."""
    best, best_epoch, reference, wait, stop = np.inf, -1, np.inf, 0, -1
    for e, s in enumerate(scores):
        if stop >= 0:
            break
        if s < best:
            best, best_epoch = s, e
        if s < reference * (1 - min_delta):
            reference, wait = s, 0
        else:
            wait += 1
        if wait >= patience:
            stop = e
    return best_epoch, stop


@pytest.mark.parametrize("min_delta", [0.0, 0.05])
def test_tracker_follows_its_rules(min_delta):
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = list(np.exp(-np.arange(30) / 8) + 0.2 * rng.random(30))
        patience = int(rng.integers(1, 6))
        tracker = _track(scores, patience, min_delta)
        best_epoch, stop = _by_hand(scores, patience, min_delta)
        assert int(tracker.best_epoch) == best_epoch
        assert float(tracker.best["w"]) == best_epoch  # the variables of the best epoch
        assert int(tracker.stop_epoch) == stop
        assert bool(tracker.stopped) == (stop >= 0)


def test_tracker_ignores_nan_and_stops_on_divergence():
    tracker = _track([1.0, np.nan, 0.5, 0.7], patience=10)
    assert int(tracker.best_epoch) == 2 and not bool(tracker.stopped)
    tracker = _track([1.0, 0.9, 0.8, 0.7], patience=10, diverged=(2,))
    assert int(tracker.stop_epoch) == 2 and int(tracker.best_epoch) == 2
    assert float(tracker.best["w"]) == 2.0


def test_budget_counts_steps_in_whole_epochs():
    budget = stopping.Budget(max_steps=12, patience=7)
    per_epoch = stopping.steps_per_epoch(140, 32)
    assert per_epoch == 5
    assert budget.epochs(per_epoch) == 3  # 15 steps hold the 12
    assert budget.patience_epochs(per_epoch) == 2
    assert stopping.Budget(max_steps=10).patience_epochs(5) is None


@pytest.fixture(scope="module")
def stopped_run():
    trainer = train.Trainer(models.get("linear"), learning_rate=0.05, monitor="val_mse")
    budget = stopping.Budget(max_steps=200, patience=10)
    return trainer, trainer.fit(SMALL, seeds=[0, 1, 2], budget=budget)


def test_each_replica_keeps_the_variables_of_its_best_epoch(stopped_run):
    """The kept variables equal a plain run of that replica for its best epoch's count."""
    _, result = stopped_run
    history = result.history
    curve = history.curve("val_mse")
    for i, best in enumerate(history.best_epoch):
        assert np.nanargmin(curve[:, i]) + 1 == best
        plain = train.Trainer(models.get("linear"), learning_rate=0.05).fit(
            SMALL, seeds=[i], epochs=best
        )
        np.testing.assert_allclose(
            result.state.variables["params"]["head"]["kernel"][i],
            plain.state.variables["params"]["head"]["kernel"][0],
            rtol=1e-5,
            atol=1e-7,
        )


def test_a_stopped_replica_stops_changing(stopped_run):
    """Every replica stopped before the budget (patience 2 epochs), after at most ``patience``
    epochs without a significant improvement; its optimiser made exactly the steps of the
    epochs it trained, and its figures after the stop are NaN."""
    _, result = stopped_run
    history = result.history
    assert all(history.stopped_early)
    count = np.asarray(result.state.opt_state.inner_state[0].count)
    assert list(count) == [e * history.steps_per_epoch for e in history.stop_epoch]
    curve = history.curve("val_mse")
    for i, stop in enumerate(history.stop_epoch):
        assert np.isfinite(curve[:stop, i]).all() and np.isnan(curve[stop:, i]).all()
        assert stop - history.best_epoch[i] >= 2  # waited its patience (2 epochs)
    assert len(curve) == max(history.stop_epoch) < 40  # training ended once all had stopped


@pytest.mark.parametrize(
    "stopped, active, want",
    [
        ([0, 0, 0, 0], None, None),  # all running: nothing to drop
        ([1, 0, 0, 0], None, None),  # three of four need a program of four: no gain
        ([1, 1, 0, 0], None, [2, 3]),  # two of four: half the program
        ([1, 1, 1, 0], None, [3]),  # one of four: a program of one
        ([1, 0, 1, 1, 1, 0, 1, 1], None, [1, 5]),
        ([1, 0, 1, 1, 0, 0, 1, 1], None, [0, 1, 4, 5]),  # three running, padded with the first
        ([1, 1, 1, 1, 1, 1, 1, 0], np.array([1, 5, 7]), [7]),  # shrinks again from a shrunk one
        ([1, 0, 1, 1, 1, 0, 1, 1], np.array([1, 5]), None),  # already as small as it gets
        ([1, 1, 1], None, None),  # all stopped: the run ends instead
    ],
)
def test_compaction_keeps_every_running_replica_in_a_smaller_program(stopped, active, want):
    chosen = train.compacted(np.asarray(stopped, bool), active)
    assert (chosen if chosen is None else chosen.tolist()) == want


def test_a_compacted_run_trains_each_replica_as_the_full_program_does(stopped_run):
    """Shrinking the program to the running replicas changes no stop, no kept epoch and, up to
    float rounding, no variable or figure: each replica computes the same epochs."""
    trainer, full = stopped_run
    budget = stopping.Budget(max_steps=200, patience=10)
    seeds = [0, 1, 2, 3, 4, 5, 6, 7]
    whole = trainer.fit(SMALL, seeds=seeds, budget=budget)
    shrunk = trainer.fit(SMALL, seeds=seeds, budget=budget, compact=True)
    assert len(set(whole.history.stop_epoch)) > 2  # stops spread out, so the program shrank
    for name in ("best_epoch", "stop_epoch", "stopped_early"):
        assert getattr(shrunk.history, name) == getattr(whole.history, name)
    for a, b in zip(jax.tree.leaves(shrunk.state), jax.tree.leaves(whole.state), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
    curve, want = shrunk.history.curve("val_mse"), whole.history.curve("val_mse")
    np.testing.assert_array_equal(np.isnan(curve), np.isnan(want))
    np.testing.assert_allclose(curve, want, rtol=1e-5)
    assert full.history.stop_epoch == whole.history.stop_epoch[:3]


def test_plateau_halves_the_rate_of_a_waiting_replica():
    trainer = train.Trainer(
        models.get("linear"),
        learning_rate=0.05,
        monitor="val_mse",
        schedule=stopping.Schedule("plateau"),
    )
    result = trainer.fit(SMALL, seeds=2, budget=stopping.Budget(max_steps=300, patience=20))
    rates = np.asarray(result.state.opt_state.hyperparams["learning_rate"])
    # each halving is a power of two below the starting rate
    halvings = np.log2(0.05 / rates)
    np.testing.assert_allclose(halvings, np.round(halvings), atol=1e-4)
    assert (halvings >= 1).any()


def test_cosine_schedule_warms_up_and_decays_to_its_floor():
    schedule = stopping.schedule_for("cosine", 1000)
    steps = jnp.asarray([0, 25, 50, 525, 1000, 2000])
    got = np.asarray(schedule(steps))
    np.testing.assert_allclose(got[:3], [0.0, 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(got[3], 0.1 + 0.9 * 0.5, atol=1e-3)  # halfway down the cosine
    np.testing.assert_allclose(got[4:], [0.1, 0.1], atol=1e-6)
    assert np.all(np.asarray(stopping.schedule_for("constant", 10)(steps)) == 1)


def test_a_tracked_run_resumes_to_the_same_parameters():
    trainer = train.Trainer(models.get("linear"), learning_rate=0.05, monitor="val_mse")
    budget = stopping.Budget(max_steps=60, patience=15)
    full = trainer.fit(SMALL, seeds=2, budget=budget)
    kept = []
    trainer.fit(
        SMALL,
        seeds=2,
        budget=stopping.Budget(max_steps=25, patience=15),
        on_epoch_end=lambda e, carry, m: kept.append(jax.tree_util.tree_map(jnp.copy, carry)),
    )
    rest = trainer.fit(SMALL, seeds=2, budget=budget, state=kept[-1], start_epoch=len(kept))
    jax.tree_util.tree_map(
        np.testing.assert_array_equal, full.state.variables, rest.state.variables
    )
    assert full.history.best_epoch == rest.history.best_epoch


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: stopping.Budget(max_steps=0), "max_steps must be an integer >= 1"),
        (lambda: stopping.Budget(max_steps=5, patience=0), "patience must be an integer >= 1"),
        (lambda: stopping.Budget(max_steps=5, min_delta=1.5), r"min_delta must be a number"),
        (lambda: stopping.Schedule("linear"), "schedule must be one of constant, cosine"),
        (
            lambda: train.Trainer(models.get("linear")).fit(
                SMALL, budget=stopping.Budget(max_steps=5, patience=2)
            ),
            "early stopping follows a validation metric: set monitor",
        ),
        (
            lambda: train.Trainer(models.get("linear"), schedule=stopping.Schedule("plateau")),
            "the plateau schedule follows a validation metric",
        ),
        (
            lambda: train.Trainer(models.get("linear"), monitor="val_mse").fit(
                SMALL, epochs=2, budget=stopping.Budget(max_steps=5)
            ),
            "give epochs or a budget of steps, not both",
        ),
    ],
)
def test_budget_errors(make, message):
    with pytest.raises(InputError, match=message):
        make()
