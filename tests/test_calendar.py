"""Calendar features: known dates give known sines and cosines, defaults follow the frequency
that the loader infers, future times continue a time axis exactly, and every refusal names
its argument. Tiny data: the file runs in about a second."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.datasets import macrodata

from jaxseq.app import calendar, io
from jaxseq.errors import InputError


def _one(date: str, feature: str) -> tuple[float, float]:
    names, values = calendar.calendar_features(pd.DatetimeIndex([date]), [feature])
    assert names == (f"{feature}_sin", f"{feature}_cos")
    return float(values[0, 0]), float(values[0, 1])


@pytest.mark.parametrize(
    "date, feature, sin, cos",
    [
        ("2001-01-01", "month", 0.0, 1.0),
        ("2001-04-01", "month", 1.0, 0.0),
        ("2001-07-01", "month", 0.0, -1.0),
        ("2001-10-01", "month", -1.0, 0.0),
        ("2001-01-01", "day_of_week", 0.0, 1.0),  # a Monday
        ("2001-01-01 06:00", "hour", 1.0, 0.0),
        ("2001-01-01 12:00", "hour", 0.0, -1.0),
        ("2001-01-01 18:00", "hour", -1.0, 0.0),
        ("2001-01-01 03:00", "hour", np.sin(np.pi / 4), np.cos(np.pi / 4)),
        ("2001-02-15", "day_of_month", 0.0, -1.0),  # 14 of 28 days
        ("2004-02-15", "day_of_month", np.sin(2 * np.pi * 14 / 29), np.cos(2 * np.pi * 14 / 29)),
        ("2004-07-02", "day_of_year", 0.0, -1.0),  # day 184 of the leap year: 183 / 366
        ("2001-01-01", "day_of_year", 0.0, 1.0),
        ("2001-01-01", "week_of_year", 0.0, 1.0),  # ISO week 1
        ("2004-12-27", "week_of_year", np.sin(2 * np.pi * 52 / 53), np.cos(2 * np.pi * 52 / 53)),
        ("2001-07-01", "quarter", 0.0, -1.0),
        ("2001-04-01", "quarter", 1.0, 0.0),
    ],
)
def test_known_dates_give_known_values(date, feature, sin, cos):
    got = _one(date, feature)
    assert got == pytest.approx((sin, cos), abs=1e-6)


def test_half_hours_are_fractions_of_an_hour():
    names, values = calendar.calendar_features(
        pd.date_range("2001-01-01 12:00", periods=2, freq="30min"), ["hour"]
    )
    angle = 2 * np.pi * 12.5 / 24
    np.testing.assert_allclose(values[1], [np.sin(angle), np.cos(angle)], atol=1e-6)


def test_every_pair_lies_on_the_unit_circle_and_names_follow_the_features():
    times = pd.date_range("1999-12-25", periods=800, freq="17h")
    names, values = calendar.calendar_features(times, calendar.FEATURES)
    assert values.dtype == np.float32 and values.shape == (800, 2 * len(calendar.FEATURES))
    assert names == tuple(f"{f}_{p}" for f in calendar.FEATURES for p in ("sin", "cos"))
    np.testing.assert_allclose(values[:, 0::2] ** 2 + values[:, 1::2] ** 2, 1.0, atol=1e-6)


def test_a_year_of_months_goes_round_the_circle_once():
    _, values = calendar.calendar_features(pd.date_range("2001-01-01", periods=12, freq="MS"))
    angles = np.arctan2(values[:, 0], values[:, 1]) % (2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(12) / 12, atol=1e-5)


def test_time_zone_aware_dates_are_read_in_their_zone():
    times = pd.DatetimeIndex(["2001-01-01 06:00"]).tz_localize("America/New_York")
    _, values = calendar.calendar_features(times, ["hour"])
    assert values[0] == pytest.approx([1.0, 0.0], abs=1e-6)


def test_datetime64_arrays_are_dates_too():
    times = np.array(["2001-04-01", "2001-07-01"], dtype="datetime64[ns]")
    _, values = calendar.calendar_features(times, "month")
    np.testing.assert_allclose(values, [[1, 0], [0, -1]], atol=1e-6)


@pytest.mark.parametrize(
    "freq, expected",
    [
        ("h", ("hour", "day_of_week")),
        ("30min", ("hour", "day_of_week")),
        ("15min", ("hour", "day_of_week")),
        ("5min", ("hour", "day_of_week")),
        ("2h", ("hour", "day_of_week")),
        ("D", ("day_of_week", "day_of_year")),
        ("B", ("day_of_week", "day_of_year")),
        ("2D", ("day_of_week", "day_of_year")),
        ("W-SAT", ("week_of_year",)),
        ("2W-SUN", ("week_of_year",)),
        ("MS", ("month",)),
        ("ME", ("month",)),
        ("2MS", ("month",)),
        ("QS-OCT", ("quarter",)),
        ("QE-DEC", ("quarter",)),
        ("YS", ()),
    ],
)
def test_defaults_follow_the_frequency_the_loader_infers(freq, expected):
    times = pd.date_range("2001-01-01", periods=10, freq=freq)
    series = io.load_series(pd.DataFrame({"t": times, "y": np.arange(10.0)}), time_column="t")
    assert calendar.default_features(series.frequency) == expected
    assert calendar.default_features(series.freq) == expected  # the pandas alias too


def test_default_features_of_names_and_none():
    assert calendar.default_features("semi-monthly") == ("day_of_month", "month")
    assert calendar.default_features("half-yearly") == ("month",)
    assert calendar.default_features("every 3 business days") == ("day_of_week", "day_of_year")
    assert calendar.default_features("annual") == ()
    assert calendar.default_features(None) == ()
    with pytest.raises(InputError, match=r"frequency 'now and then' is not a frequency"):
        calendar.default_features("now and then")


def test_default_features_come_from_the_inferred_or_given_frequency():
    times = pd.DatetimeIndex(["2001-01-01", "2001-01-08", "2001-01-15"])
    assert calendar.calendar_features(times)[0] == ("week_of_year_sin", "week_of_year_cos")
    names, _ = calendar.calendar_features(times, frequency="daily")
    assert names == ("day_of_week_sin", "day_of_week_cos", "day_of_year_sin", "day_of_year_cos")


@pytest.mark.parametrize(
    "times, frequency",
    [
        (pd.date_range("2001-01-01", periods=5, freq="YS"), None),
        (pd.DatetimeIndex(["2001-01-01", "2001-01-03", "2001-02-17"]), None),  # irregular
        (pd.date_range("2001-01-01", periods=5, freq="MS"), "yearly"),
    ],
)
def test_yearly_or_undated_times_have_no_default_features(times, frequency):
    with pytest.raises(InputError, match=r"frequency .*a yearly or undated series has no calendar"):
        calendar.calendar_features(times, frequency=frequency)


@pytest.mark.parametrize(
    "times, shown",
    [
        (np.array(["t0", "t1", "t2"]), r"'t0', 't1', 't2'"),
        (np.arange(3), r"0, 1, 2"),
        (pd.Index(["2001-01-01", "2001-01-02"]), r"'2001-01-01', '2001-01-02'"),
    ],
)
def test_times_that_are_not_dates_are_refused(times, shown):
    with pytest.raises(
        InputError, match=rf"need a time column of dates; times has labels like {shown}"
    ):
        calendar.calendar_features(times, ["month"])


@pytest.mark.parametrize(
    "features, message",
    [
        (
            ["month", "moon"],
            r"features names 'moon', which is no calendar feature; features are: hour, day_of_week",
        ),
        (["month", "month"], r"features names 'month' twice"),
        ([], r"features is empty; name one or more of hour"),
    ],
)
def test_bad_feature_names_are_refused(features, message):
    with pytest.raises(InputError, match=message):
        calendar.calendar_features(pd.date_range("2001-01-01", periods=3, freq="D"), features)


def test_a_missing_time_is_refused():
    times = pd.DatetimeIndex(["2001-01-01", None, "2001-01-03"])
    with pytest.raises(InputError, match=r"times holds NaT \(a missing time\) at index 1"):
        calendar.calendar_features(times, ["month"])


# --------------------------------------------------------------------------- future times


@pytest.mark.parametrize(
    "times, freq, expected",
    [
        (
            pd.date_range("2001-09-01", periods=3, freq="MS"),
            "MS",
            ["2001-12-01", "2002-01-01", "2002-02-01"],
        ),
        (
            pd.date_range("2001-09-30", periods=3, freq="ME"),
            "ME",
            ["2001-12-31", "2002-01-31", "2002-02-28"],
        ),
        (
            pd.date_range("2001-12-15", periods=2, freq="W-SAT"),
            "W-SAT",
            ["2001-12-29", "2002-01-05", "2002-01-12"],
        ),
        (
            pd.date_range("2001-04-01", periods=2, freq="QS-OCT"),
            "QS-OCT",
            ["2001-10-01", "2002-01-01", "2002-04-01"],
        ),
        (
            pd.DatetimeIndex(["2001-01-04", "2001-01-05"]),  # Thursday, Friday
            "B",
            ["2001-01-08", "2001-01-09"],
        ),
        (
            pd.DatetimeIndex(["2001-01-01 22:00", "2001-01-01 23:00"]),
            "h",
            ["2001-01-02 00:00", "2001-01-02 01:00"],
        ),
    ],
)
def test_future_times_continue_the_axis_exactly(times, freq, expected):
    got = calendar.future_times(times, freq, len(expected))
    assert list(got) == [pd.Timestamp(t) for t in expected]


def test_future_times_continue_a_loaded_series_as_its_own_range_would():
    full = pd.date_range("1990-03-31", periods=40, freq="QE-DEC")
    series = io.load_series(pd.DataFrame({"t": full[:30], "y": np.arange(30.0)}), time_column="t")
    got = calendar.future_times(series.time, series.freq, 10)
    assert list(got) == list(full[30:])
    assert len(calendar.future_times(series.time, series.freq, 0)) == 0


@pytest.mark.parametrize(
    "times, freq, steps, message",
    [
        (
            pd.date_range("2001-01-01", periods=3),
            None,
            2,
            r"freq is None: .*pass a pandas frequency alias",
        ),
        (
            pd.date_range("2001-01-01", periods=3),
            "fortnightish",
            2,
            r"freq 'fortnightish' is not a pandas frequency alias",
        ),
        (pd.date_range("2001-01-01", periods=3), "D", -1, r"steps must be an integer >= 0, got -1"),
        (pd.date_range("2001-01-01", periods=3), "D", 1.5, r"steps must be an integer >= 0"),
        (
            pd.DatetimeIndex(["2001-03-15"]),
            "MS",
            2,
            r"times end at 2001-03-15 00:00:00, which is not on the frequency freq='MS'",
        ),
        (pd.DatetimeIndex([]), "MS", 2, r"times is empty"),
        (np.array(["a", "b"]), "MS", 2, r"times has labels like 'a', 'b'"),
    ],
)
def test_future_times_refusals_name_the_argument(times, freq, steps, message):
    with pytest.raises(InputError, match=message):
        calendar.future_times(times, freq, steps)


# --------------------------------------------------------------------------- for_series


def _monthly(n=14, start="2001-01-01"):
    times = pd.date_range(start, periods=n, freq="MS")
    frame = pd.DataFrame({"month": times.strftime("%Y-%m"), "y": np.arange(n, dtype=float)})
    return io.load_series(frame.iloc[::-1], time_column="month")  # newest first: sorted


def test_for_series_covers_the_rows_and_the_horizon():
    series = _monthly()
    names, values = calendar.for_series(series, extra_steps=4)
    assert names == ("month_sin", "month_cos")
    assert values.shape == (14 + 4, 2) and values.dtype == np.float32
    expected = pd.date_range("2001-01-01", periods=18, freq="MS")
    np.testing.assert_array_equal(values, calendar.calendar_features(expected, ["month"])[1])
    assert values[0] == pytest.approx([0.0, 1.0]) and values[15] == pytest.approx(
        [1.0, 0.0], abs=1e-6
    )


def test_for_series_with_named_features_and_no_horizon():
    names, values = calendar.for_series(_monthly(), ["quarter", "day_of_year"])
    assert names == ("quarter_sin", "quarter_cos", "day_of_year_sin", "day_of_year_cos")
    assert values.shape == (14, 4)


def test_for_series_on_real_quarterly_data_reaches_past_its_end():
    data = macrodata.load_pandas().data
    data["date"] = [f"{int(y)}Q{int(q)}" for y, q in zip(data.year, data.quarter, strict=True)]
    series = io.load_series(data, ["realgdp"], time_column="date")
    assert series.frequency == "quarterly"
    names, values = calendar.for_series(series, extra_steps=2)
    assert names == ("quarter_sin", "quarter_cos") and values.shape == (len(data) + 2, 2)
    # the data end in 2009Q3: the horizon is 2009Q4 and 2010Q1
    np.testing.assert_allclose(values[-3:], [[0, -1], [-1, 0], [0, 1]], atol=1e-6)


def test_for_series_refusals_name_the_argument():
    labels = io.load_series(
        pd.DataFrame({"t": ["t0", "t1", "t2"], "y": [1.0, 2, 3]}), time_column="t"
    )
    with pytest.raises(InputError, match=r"the series' time axis has labels like 't0', 't1', 't2'"):
        calendar.for_series(labels, ["month"])
    bare = io.load_series(pd.DataFrame({"y": [1.0, 2, 3]}))
    with pytest.raises(InputError, match=r"the series' time axis is empty \(no time column\)"):
        calendar.for_series(bare)
    two = io.load_series(
        pd.DataFrame({"t": ["2001-01-01", "2001-02-01"], "y": [1.0, 2]}), time_column="t"
    )
    assert two.freq is None
    with pytest.raises(InputError, match=r"extra_steps=3 needs the series' frequency"):
        calendar.for_series(two, ["month"], extra_steps=3)
    with pytest.raises(InputError, match=r"extra_steps must be an integer >= 0, got -1"):
        calendar.for_series(_monthly(), extra_steps=-1)
    with pytest.raises(InputError, match=r"series must be a jaxseq.app.io.Series .* got DataFrame"):
        calendar.for_series(pd.DataFrame({"y": [1.0]}))
    yearly = io.load_series(
        pd.DataFrame({"year": [2001, 2002, 2003], "y": [1.0, 2, 3]}), time_column="year"
    )
    with pytest.raises(InputError, match=r"frequency 'yearly': a yearly or undated series"):
        calendar.for_series(yearly)
