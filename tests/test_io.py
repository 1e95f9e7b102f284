"""The loader's handling of time (sorting, duplicates, frequency, season, gaps), of pandas and
Parquet input, and of values too large for float32 arithmetic. Tiny data: the file runs in
a second or two."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from jaxseq.app import io
from jaxseq.app.frequency import default_season
from jaxseq.errors import InputError

WEEKS = pd.date_range("1958-03-29", periods=12, freq="W-SAT")
VALUES = np.arange(12.0) * 1.5 - 4.0


def _csv(path, times, values, *, order=None, fmt="%Y-%m-%d", other=True):
    order = range(len(times)) if order is None else order
    lines = ["date,y,z" if other else "date,y"]
    for i in order:
        label = times[i] if isinstance(times[i], str) else times[i].strftime(fmt)
        lines.append(f"{label},{values[i]}" + (f",{-values[i]}" if other else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("order", ["newest_first", "shuffled"])
def test_out_of_order_file_gives_the_sorted_values_and_labels(tmp_path, order):
    sorted_ = io.load_series(_csv(tmp_path / "sorted.csv", WEEKS, VALUES), time_column="date")
    rows = (
        range(11, -1, -1) if order == "newest_first" else np.random.default_rng(3).permutation(12)
    )
    other = io.load_series(
        _csv(tmp_path / f"{order}.csv", WEEKS, VALUES, order=rows), time_column="date"
    )
    np.testing.assert_array_equal(other.values, sorted_.values)
    np.testing.assert_array_equal(sorted_.values[:, 0], VALUES.astype(np.float32))
    assert other.time_labels() == sorted_.time_labels() == list(WEEKS.strftime("%Y-%m-%d"))
    assert isinstance(other.time, pd.DatetimeIndex) and other.time.equals(WEEKS)
    assert sorted_.notes == ()
    assert any("sorted by time" in n for n in other.notes)
    if order == "newest_first":
        assert any("newest first" in n for n in other.notes)


def test_fill_happens_in_time_order(tmp_path):
    values = [str(v) for v in VALUES]
    values[5] = ""
    sorted_ = _csv(tmp_path / "a.csv", WEEKS, values, other=False)
    reverse = _csv(tmp_path / "b.csv", WEEKS, values, order=range(11, -1, -1), other=False)
    a = io.load_series(sorted_, time_column="date", fill="interpolate")
    b = io.load_series(reverse, time_column="date", fill="interpolate")
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.filled, b.filled)
    assert a.values[5, 0] == pytest.approx((VALUES[4] + VALUES[6]) / 2)
    assert b.filled[:, 0].tolist() == [i == 5 for i in range(12)]


@pytest.mark.parametrize("blank", ["pandas", "empty line", "spaces"])
def test_one_column_csv_with_blank_cells_keeps_its_length(tmp_path, blank):
    """pandas writes a missing value of a one-column table as an empty line (or ``""``): each
    is a missing value in its place, never a dropped row that shifts every later value."""
    values = np.arange(40.0)
    # first, inside, two in a row, last (pandas quotes it; a blank last line is the file's end)
    gaps = [0, 3, 17, 18, 39 if blank == "pandas" else 38]
    values[gaps] = np.nan
    path = tmp_path / "y.csv"
    if blank == "pandas":
        pd.DataFrame({"y": values}).to_csv(path, index=False)
    else:
        cell = "" if blank == "empty line" else "  "
        path.write_text("y\n" + "\n".join(cell if np.isnan(v) else str(v) for v in values))
    with pytest.raises(InputError, match=r"y\.csv: 5 missing value\(s\) .*data row 1\b"):
        io.load_series(path)
    kept = io.load_series(path, allow_missing=True)
    assert kept.values.shape == (40, 1)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(kept.values[:, 0])), gaps)
    np.testing.assert_array_equal(kept.values[:, 0], values.astype(np.float32))
    filled = io.load_series(path, fill="ffill")
    assert filled.values.shape == (40, 1) and filled.filled[:, 0].sum() == 5


def test_blank_line_in_a_wider_csv_is_refused_by_row_and_edges_are_trimmed(tmp_path):
    path = tmp_path / "ab.csv"
    path.write_text("\n\na,b\n1,2\n\n3,4\n5,6\n\n\n")  # blank before, inside, after
    with pytest.raises(InputError, match=r"ab\.csv: data row\(s\) 2 are blank"):
        io.load_series(path)
    path.write_text("\n\na,b\n1,2\n3,4\n5,6\n\n\n")
    assert io.load_series(path).values.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_duplicate_timestamp_names_the_time_and_both_rows(tmp_path):
    times = list(WEEKS[:8]) + [WEEKS[3]]
    path = _csv(tmp_path / "data.csv", times, np.arange(9.0))
    with pytest.raises(InputError) as error:
        io.load_series(path, time_column="date")
    assert str(error.value) == (
        "data.csv: duplicate timestamp 1958-04-19 (data rows 4 and 9); each time must appear once"
    )


@pytest.mark.parametrize(
    ("freq", "fmt", "frequency", "season"),
    [
        ("W-SUN", "%Y-%m-%d", "weekly", 52),
        ("MS", "%Y-%m", "monthly", 12),
        ("QS", "%Y-%m-%d", "quarterly", 4),
        ("D", "%Y-%m-%d", "daily", 7),
        ("h", "%Y-%m-%d %H:%M", "hourly", 24),
        ("YS", "%Y", "yearly", 1),
        ("B", "%Y-%m-%d", "business-daily", 5),
        ("30min", "%Y-%m-%d %H:%M", "half-hourly", 48),
    ],
)
def test_frequency_and_season_are_inferred(tmp_path, freq, fmt, frequency, season):
    times = pd.date_range("1990-01-01", periods=14, freq=freq)
    series = io.load_series(
        _csv(tmp_path / "f.csv", times, np.arange(14.0), order=range(13, -1, -1), fmt=fmt),
        time_column="date",
    )
    assert (series.frequency, series.season) == (frequency, season)
    assert default_season(series.freq) == season and default_season(frequency) == season
    assert series.gaps == ()
    np.testing.assert_array_equal(series.values[:, 0], np.arange(14.0))
    assert series.time_labels()[:2] == list(times[:2].strftime(fmt))


def test_weekly_file_with_missing_weeks_reports_the_gap(tmp_path):
    kept = [i for i in range(12) if i not in (4, 5)]
    path = _csv(tmp_path / "gappy.csv", WEEKS[kept], VALUES[kept])
    series = io.load_series(path, time_column="date")
    assert (series.frequency, series.freq, series.season) == ("weekly", "W-SAT", 52)
    assert series.gaps == (("1958-04-19", 2),)
    assert len(series.values) == 10  # no rows inserted
    np.testing.assert_array_equal(series.values[:, 0], VALUES[kept].astype(np.float32))
    (note,) = series.notes
    assert "1 gap in the weekly" in note and "2 missing weeks after 1958-04-19" in note


def test_two_gaps_are_counted_apart(tmp_path):
    kept = [i for i in range(12) if i not in (2, 7, 8, 9)]
    series = io.load_series(_csv(tmp_path / "g.csv", WEEKS[kept], VALUES[kept]), time_column="date")
    assert series.gaps == (("1958-04-05", 1), ("1958-05-10", 3))
    assert (
        "2 gaps in the weekly time column 'date' (4 missing weeks, first after 1958-04-05)"
        in (series.notes[0])
    )


def test_parquet_round_trip_equals_csv(tmp_path):
    pytest.importorskip("pyarrow")
    csv_path = _csv(tmp_path / "d.csv", WEEKS, VALUES, order=range(11, -1, -1))
    frame = pd.DataFrame({"date": WEEKS[::-1], "y": VALUES[::-1], "z": -VALUES[::-1]})
    frame.to_parquet(tmp_path / "d.parquet")
    a = io.load_series(csv_path, time_column="date")
    b = io.load_series(tmp_path / "d.parquet", time_column="date")
    np.testing.assert_array_equal(a.values, b.values)
    assert a.columns == b.columns == ("y", "z")
    assert a.time.equals(b.time) and a.time_labels() == b.time_labels()
    assert (a.frequency, a.season) == (b.frequency, b.season) == ("weekly", 52)
    # a DatetimeIndex stored in the Parquet file is its time axis
    frame.set_index("date").to_parquet(tmp_path / "indexed.parquet")
    c = io.load_series(tmp_path / "indexed.parquet")
    np.testing.assert_array_equal(c.values, a.values)
    assert c.time.equals(a.time)


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with pytest.raises(InputError, match=r"d\.parquet: reading Parquet needs pyarrow"):
        io.load_series(tmp_path / "d.parquet")


def test_dataframe_with_datetime_index_and_series_input():
    months = pd.date_range("2001-01-01", periods=24, freq="MS")
    frame = pd.DataFrame({"a": np.arange(24.0), "b": np.arange(24.0) ** 2}, index=months)
    shuffled = frame.sample(frac=1.0, random_state=0)
    series = io.load_series(shuffled)
    np.testing.assert_array_equal(series.values, frame.to_numpy(np.float32))
    assert series.columns == ("a", "b") and series.time.equals(months)
    assert (series.frequency, series.season) == ("monthly", 12)
    assert series.time_labels()[:2] == ["2001-01-01", "2001-02-01"]
    assert any("the DataFrame was not in time order" in n for n in series.notes)

    one = io.load_series(pd.Series(np.arange(24.0), index=months, name="sales"))
    assert one.columns == ("sales",) and one.values.shape == (24, 1) and one.season == 12
    unnamed = io.load_series(pd.Series([1.0, 2.0, 3.0]))
    assert unnamed.columns == ("value",) and unnamed.time is None
    periods = io.load_series(
        pd.Series(np.arange(8.0), index=pd.period_range("2001Q1", periods=8, freq="Q"))
    )
    assert periods.frequency == "quarterly" and periods.time_labels()[0] == "2001Q1"
    with pytest.raises(InputError, match=r"^the DataFrame: column 'b' is not numeric \(data row 2"):
        io.load_series(pd.DataFrame({"a": [1.0, 2.0], "b": ["1", "x"]}))
    assert io.load_series(np.arange(6.0).reshape(3, 2)).columns == ("0", "1")


def test_dataframe_time_column_and_hourly_labels():
    hours = pd.date_range("2020-03-01", periods=6, freq="h")
    frame = pd.DataFrame({"when": hours[::-1], "y": np.arange(6.0)[::-1]})
    series = io.load_series(frame, time_column="when")
    np.testing.assert_array_equal(series.values[:, 0], np.arange(6.0))
    assert series.time_labels()[1] == "2020-03-01 01:00:00"
    assert (series.frequency, series.season) == ("hourly", 24)


def test_numeric_time_column_is_sorted_as_numbers(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("t,y\n10,10\n9,9\n2,2\n1.5,1.5\n100,100\n")
    series = io.load_series(path, time_column="t")
    np.testing.assert_array_equal(series.values[:, 0], [1.5, 2, 9, 10, 100])
    assert series.time_labels() == ["1.5", "2", "9", "10", "100"]  # not "10" < "2"
    assert series.frequency is None and series.season is None
    path.write_text("t,y\n1,1\n2,2\n1,3\n")
    with pytest.raises(InputError, match=r"duplicate timestamp 1 \(data rows 1 and 3\)"):
        io.load_series(path, time_column="t")


def test_labels_that_are_not_dates_keep_the_file_order(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("time,y\nt2,2\nt0,0\nt1,1\n")
    series = io.load_series(path, time_column="time")
    np.testing.assert_array_equal(series.values[:, 0], [2, 0, 1])
    assert list(series.time) == ["t2", "t0", "t1"] and series.frequency is None
    assert any("not dates" in n and "kept in the order given" in n for n in series.notes)


def test_bad_time_cells_in_a_date_column_name_the_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("date,y\n2001-01-01,1\n2001-01-02,2\n,3\n2001-01-04,4\n")
    with pytest.raises(InputError, match=r"d\.csv: time column 'date' is empty in data row 3"):
        io.load_series(path, time_column="date")
    path.write_text("date,y\n2001-01-01,1\n2001-01-02,2\n2001-13-45,3\n2001-01-04,4\n")
    with pytest.raises(InputError, match=r"holds '2001-13-45' in data row 3, not a date"):
        io.load_series(path, time_column="date")


@pytest.mark.parametrize("huge", ["1e30", "-3.0e38", "2e18"])
def test_values_beyond_float32_arithmetic_are_refused(tmp_path, huge):
    path = tmp_path / "data.csv"
    path.write_text(f"x,y\n1,1\n2,2\n3,{huge}\n")
    with pytest.raises(InputError) as error:
        io.load_series(path)
    message = str(error.value)
    assert message.startswith(f"data.csv: value {float(huge):g} in column 'y', data row 3 is ")
    assert "beyond +-1e18" in message and message.endswith("rescale the column")
    path.write_text("x,y\n1,1\n2,2\n3,1e17\n")
    assert io.load_series(path).values[2, 1] == np.float32(1e17)


def test_default_season_names_and_aliases():
    assert [default_season(f) for f in ("W-SUN", "MS", "ME", "QS-OCT", "D", "B", "h")] == [
        52,
        12,
        12,
        4,
        7,
        5,
        24,
    ]
    assert default_season("2h") == 12 and default_season("15min") == 96
    assert default_season(None) is None and default_season("bogus") is None
    assert default_season("2D") is None  # 7 days do not split into 2-day steps
