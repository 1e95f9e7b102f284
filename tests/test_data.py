"""The chapter's data bit for bit, windows at the right offsets, chronological splits, errors."""

import numpy as np
import pytest

from jaxseq import data
from jaxseq.errors import InputError


@pytest.fixture(scope="module")
def one_step():
    return data.chapter_data("one_step")


@pytest.fixture(scope="module")
def seq2seq():
    return data.chapter_data("seq2seq")


def test_naive_one_step_mse_on_valid_is_the_notebooks(one_step):
    valid = one_step.valid
    assert valid.X.shape == (2000, 50, 1) and valid.Y.shape == (2000, 1)
    assert np.mean(np.square(valid.X[:, -1] - valid.Y)) == np.float32(0.020211367)


def test_naive_ten_step_mse_on_valid_is_the_notebooks():
    multi = data.chapter_data("multi_step")
    valid = multi.valid
    assert valid.Y.shape == (2000, 10)
    assert np.mean(np.square(valid.X[:, -1] - valid.Y)) == pytest.approx(0.25697, abs=5e-6)


def test_generator_matches_notebook_global_seeding():
    np.random.seed(42)  # noqa: NPY002 (the notebook's own seeding, on purpose)
    notebook = data.generate_time_series(5, 20)  # the notebook's way: global RNG
    ours = data.generate_time_series(5, 20, seed=42)
    np.testing.assert_array_equal(ours, notebook)
    assert ours.dtype == np.float32 and ours.shape == (5, 20, 1)


def test_chapter_splits_are_the_notebooks(one_step):
    assert (
        len(one_step.train) == 7000 and len(one_step.valid) == 2000 and len(one_step.test) == 1000
    )
    series = data.generate_time_series(10_000, 51, seed=42)
    np.testing.assert_array_equal(one_step.valid.X, series[7000:9000, :50])
    np.testing.assert_array_equal(one_step.test.Y, series[9000:, -1])


def test_seq2seq_targets_are_the_next_ten_values_at_every_step(seq2seq):
    series = data.generate_time_series(10_000, 60, seed=42)[7000:9000, :, 0]
    Y = seq2seq.valid.Y
    assert Y.shape == (2000, 50, 10)
    for t in (0, 17, 49):
        for k in (1, 5, 10):
            np.testing.assert_array_equal(Y[:, t, k - 1], series[:, t + k])
    np.testing.assert_array_equal(Y[:, 49], data.chapter_data("multi_step").valid.Y)


def test_make_windows_one_step_targets_are_the_next_value():
    series = np.arange(20.0)
    X, Y = data.make_windows(series, window=5)
    assert X.shape == (15, 5, 1) and Y.shape == (15, 1)
    np.testing.assert_array_equal(X[3, :, 0], [3, 4, 5, 6, 7])
    np.testing.assert_array_equal(Y[:, 0], np.arange(5, 20))


def test_make_windows_multi_step_and_seq2seq_layouts():
    series = np.arange(30.0)
    X, Y = data.make_windows(series, window=6, horizon=3, task="multi_step")
    assert X.shape == (22, 6, 1) and Y.shape == (22, 3)
    np.testing.assert_array_equal(Y[4], [10, 11, 12])
    X, Y = data.make_windows(series, window=6, horizon=3, task="seq2seq")
    assert Y.shape == (22, 6, 3)
    i, t = 4, 2  # window starting at 4, step 2 holds value 6: targets 7, 8, 9
    np.testing.assert_array_equal(Y[i, t], [7, 8, 9])


def test_multivariate_windows_with_several_targets():
    series = np.stack([np.arange(40.0), 100 + np.arange(40.0), -np.arange(40.0)], axis=1)
    X, Y = data.make_windows(series, window=4, horizon=2, task="multi_step", targets=[0, 2])
    assert X.shape == (35, 4, 3) and Y.shape == (35, 4)
    # step-major: [x0(t+1), x2(t+1), x0(t+2), x2(t+2)]
    np.testing.assert_array_equal(Y[0], [4, -4, 5, -5])
    np.testing.assert_array_equal(X[0, :, 1], [100, 101, 102, 103])


def test_split_targets_lie_in_their_part_and_inputs_reach_back():
    series = np.arange(1000.0)  # each value is its own index
    ds = data.split_series(series, window=10, horizon=5, task="multi_step")
    assert ds.train.Y.max() < 700 and len(ds.train) == 700 - 15 + 1
    assert ds.valid.Y.min() == 700 and ds.valid.Y.max() == 899 and len(ds.valid) == 200 - 5 + 1
    assert ds.test.Y.min() == 900 and ds.test.Y.max() == 999 and len(ds.test) == 100 - 5 + 1
    assert ds.valid.X.min() == 690 and ds.test.X.min() == 890  # the first window reaches back
    for name in ("train", "valid", "test"):  # no input at or after its origin
        split, origins = ds.split(name), ds.origins(name)
        np.testing.assert_array_equal(split.X[:, -1, 0], origins - 1)
        np.testing.assert_array_equal(split.Y[:, 0], origins)


def test_a_short_yearly_series_keeps_its_test_windows():
    # 100 points, window 20, horizon 3, a 10-step test part: 8 test windows (not 0)
    ds = data.split_series(
        np.arange(100.0), window=20, horizon=3, task="multi_step", valid_size=10, test_size=10
    )
    np.testing.assert_array_equal(ds.origins("test"), np.arange(90, 98))
    assert len(ds.valid) == 8 and len(ds.train) == 80 - 23 + 1


def test_sizes_in_steps_or_shares_and_the_stride():
    ds = data.split_series(
        np.arange(200.0),
        window=5,
        horizon=2,
        task="multi_step",
        valid_size=0.25,
        test_size=20,
        stride=3,
    )
    assert ds.protocol.train_end == 130 and ds.protocol.valid_end == 180
    np.testing.assert_array_equal(ds.origins("test"), np.arange(180, 199, 3))
    np.testing.assert_array_equal(ds.origins("train"), np.arange(5, 129))  # training: every step


def test_scaling_is_fitted_on_the_training_part_only():
    series = np.concatenate([np.zeros(70), np.full(30, 100.0)]) + np.arange(100) * 0.01
    ds = data.split_series(
        series, window=3, horizon=1, task="one_step", scale=True, fractions=(7, 2, 1)
    )
    train_part = series[:70]  # the data before the first validation origin
    np.testing.assert_allclose(ds.scaler.mean, [train_part.mean()])
    np.testing.assert_allclose(
        ds.scaler.inverse_targets(ds.test.Y, [0]), series[90:, None], rtol=1e-5
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: data.make_windows(np.arange(10.0), window=8, horizon=3, task="multi_step"),
            "series has 10 steps, too short for window 8 \\+ horizon 3 = 11",
        ),
        (
            lambda: data.make_windows(np.array([1.0, np.nan, 3.0] * 10), window=3),
            "series contains 10 non-finite value\\(s\\) \\(NaN first at index \\(1, 0\\)\\)",
        ),
        (lambda: data.make_windows(np.array([1.0, np.inf] * 10), window=3), "inf first at index"),
        (
            lambda: data.make_windows(np.zeros((10, 2, 2)), window=3),
            r"must be 1-D \[time\] or 2-D \[time, features\], got shape \(10, 2, 2\)",
        ),
        (lambda: data.make_windows(np.array(["a", "b"] * 10), window=3), "must hold numbers"),
        (
            lambda: data.make_windows(np.arange(10.0), window=0),
            "window must be an integer >= 1, got 0",
        ),
        (
            lambda: data.make_windows(np.arange(10.0), window=3, horizon=-1, task="multi_step"),
            "horizon must be an integer >= 1, got -1",
        ),
        (
            lambda: data.make_windows(np.arange(10.0), window=3, task="three_step"),
            "task must be one of",
        ),
        (
            lambda: data.make_windows(np.zeros((20, 2)), window=3, targets=[5]),
            r"targets must be column indices in \[0, 2\), got 5",
        ),
        (lambda: data.make_windows(np.zeros(0), window=3), "series is empty"),
        (
            lambda: data.split_series(np.arange(15.0), window=10, horizon=2, task="multi_step"),
            "series has 15 steps, too short for window 10 \\+ horizon 2 with 3 validation and 2 "
            "test steps: need at least 17 steps",
        ),
        (
            lambda: data.split_series(np.arange(50.0), window=3, horizon=6, task="multi_step"),
            "the test part has 5 steps, shorter than the horizon 6: use --test-size 6 or more",
        ),
        (
            lambda: data.split_series(np.arange(50.0), window=3, test_size=1.5),
            "--test-size must be a whole number of steps or a fraction in \\(0, 1\\), got 1.5",
        ),
        (lambda: data.chapter_data("sideways"), "task must be one of"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(InputError, match=message):
        call()


@pytest.mark.parametrize("valid_size", [40, 41, 7, 6, 5])
def test_halved_validation_origins_split_in_time(valid_size):
    """Stop, rank and calibrate: three consecutive runs of the validation origins, together
    every one of them once; the first half stops, half the rest (rounded up) ranks."""
    protocol = data.make_protocol(200, window=10, horizon=3, valid_size=valid_size, test_size=20)
    every = protocol.origins("valid")
    halved = protocol.halved()
    stop, select = halved.origins("stop"), halved.origins("valid")
    calibrate = halved.origins("calibrate")
    assert len(stop) == len(every) // 2 and stop.max() < select.min() == halved.select_start
    rest = len(every) - len(stop)
    if rest >= 2:
        np.testing.assert_array_equal(np.concatenate([stop, select, calibrate]), every)
        assert len(select) == (rest + 1) // 2 and select.max() < calibrate.min()
        assert calibrate.min() == halved.calibrate_start
        assert set(halved.split_names()) >= {"stop", "valid", "calibrate"}
    else:  # one origin left: it ranks, and intervals are calibrated on it too
        np.testing.assert_array_equal(np.concatenate([stop, select]), every)
        np.testing.assert_array_equal(calibrate, select)
    for name in ("stop", "valid", "calibrate"):  # unhalved: every validation origin
        np.testing.assert_array_equal(protocol.origins(name), every)
    np.testing.assert_array_equal(halved.origins("test"), protocol.origins("test"))
    short = data.make_protocol(30, window=5, horizon=3, valid_size=3, test_size=3)
    assert short.halved() == short  # one validation origin: nothing to halve
