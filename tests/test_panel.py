"""Panels of many series: long-format files (each id checked as a series of its own, failures
naming the id and the file's row), wide series split by column, in-memory arrays at the
chapter's scale, and two real panels that ship with statsmodels. Small data: the file runs in
a second or two."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from statsmodels.datasets import grunfeld, macrodata

from jaxseq.app import io
from jaxseq.app.panel import table as panel_table
from jaxseq.data import generate_time_series
from jaxseq.errors import InputError


def _long(spec: dict[str, pd.DatetimeIndex]) -> pd.DataFrame:
    """Long format: store, date, y (y = 100 * id position + step) for each id's times."""
    parts = []
    for k, (key, times) in enumerate(spec.items()):
        steps = np.arange(len(times), dtype=float)
        parts.append(
            pd.DataFrame({"store": key, "date": times.strftime("%Y-%m-%d"), "y": 100 * k + steps})
        )
    return pd.concat(parts, ignore_index=True)


A = pd.date_range("2001-01-01", periods=12, freq="MS")
B = pd.date_range("2002-03-01", periods=6, freq="MS")


def _csv(tmp_path, frame, name="sales.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- real data


def test_grunfeld_firms_become_yearly_series_in_year_order():
    data = grunfeld.load_pandas().data
    shuffled = data.sample(frac=1.0, random_state=0)
    for frame in (data, shuffled):
        p = panel_table.load_panel(frame, id_column="firm", time_column="year", columns=["invest"])
        assert len(p) == data.firm.nunique() == 11  # statsmodels 0.14+ ships 11 firms
        assert set(p.ids) == set(data.firm)
        assert p.lengths().tolist() == [20] * 11
        assert p.frequency == "yearly" and p.season == 1 and p.columns == ("invest",)
        for key in p.ids:
            s = p.get(key)
            assert list(s.time.year) == list(range(1935, 1955))
            expected = data[data.firm == key].sort_values("year").invest.to_numpy(np.float32)
            np.testing.assert_array_equal(s.values[:, 0], expected)
    assert p.ids != tuple(data.firm.unique())  # shuffled: order of first appearance


def test_grunfeld_with_firm_and_year_as_index_levels():
    data = grunfeld.load_pandas().data.set_index(["firm", "year"])
    p = panel_table.load_panel(
        data, id_column="firm", time_column="year", columns=["invest", "value"]
    )
    assert len(p) == 11 and p.columns == ("invest", "value") and p.frequency == "yearly"


def test_macrodata_columns_become_quarterly_series():
    data = macrodata.load_pandas().data
    data["date"] = [f"{int(y)}Q{int(q)}" for y, q in zip(data.year, data.quarter, strict=True)]
    wide = io.load_series(data, ["realgdp", "realcons", "realinv"], time_column="date")
    p = panel_table.from_columns(wide)
    assert p.ids == ("realgdp", "realcons", "realinv") and p.id_column is None
    assert p.lengths().tolist() == [len(data)] * 3
    assert p.frequency == "quarterly" and p.season == 4 and p.columns == ("value",)
    for k, key in enumerate(p.ids):
        s = p.get(key)
        assert s.time.equals(wide.time) and s.values.shape == (len(data), 1)
        np.testing.assert_array_equal(s.values[:, 0], wide.values[:, k])
    two = panel_table.from_columns(wide, ["realinv", "realgdp"], min_length=100)
    assert two.ids == ("realinv", "realgdp")


# --------------------------------------------------------------------------- load_panel


def test_lengths_and_start_dates_may_differ(tmp_path):
    p = panel_table.load_panel(
        _csv(tmp_path, _long({"A": A, "B": B})), id_column="store", time_column="date"
    )
    assert p.ids == ("A", "B") and p.id_column == "store" and p.columns == ("y",)
    assert p.lengths().tolist() == [12, 6] and p.lengths().dtype == np.int64
    assert p.get("A").time[0] == pd.Timestamp("2001-01-01")
    assert p.get("B").time[0] == pd.Timestamp("2002-03-01")
    assert p.frequency == "monthly" and p.season == 12
    np.testing.assert_array_equal(p.get("B").values[:, 0], 100 + np.arange(6, dtype=np.float32))


def test_rows_shuffled_across_ids_give_each_series_in_time_order(tmp_path):
    frame = _long({"A": A, "B": B, "C": A[3:]})
    shuffled = frame.sample(frac=1.0, random_state=1)
    p = panel_table.load_panel(_csv(tmp_path, shuffled), id_column="store", time_column="date")
    first_seen = tuple(dict.fromkeys(shuffled.store))
    assert p.ids == first_seen
    for k, (key, times) in enumerate({"A": A, "B": B, "C": A[3:]}.items()):
        s = p.get(key)
        assert list(s.time) == list(times)
        np.testing.assert_array_equal(
            s.values[:, 0], 100 * k + np.arange(len(times), dtype=np.float32)
        )


def test_ids_stay_text(tmp_path):
    frame = _long({"007": A[:3], "NA": A[:3], "12": A[:3]})
    p = panel_table.load_panel(_csv(tmp_path, frame), id_column="store", time_column="date")
    assert p.ids == ("007", "NA", "12")
    assert p.get(12) is p.get("12")


def test_parquet_and_a_datetime_index(tmp_path):
    frame = pd.DataFrame(
        {"shop": [1, 2, 1, 2, 1, 2], "y": np.arange(6.0)},
        index=pd.DatetimeIndex(np.repeat(pd.date_range("2001-01-01", periods=3, freq="W-SAT"), 2)),
    )
    p = panel_table.load_panel(frame, id_column="shop")  # the index is the time axis
    assert p.ids == ("1", "2") and p.frequency == "weekly" and p.season == 52
    path = tmp_path / "shops.parquet"
    frame.reset_index(names="week").to_parquet(path)
    q = panel_table.load_panel(path, id_column="shop", time_column="week")
    assert q.ids == ("1", "2") and q.frequency == "weekly"
    np.testing.assert_array_equal(q.get("2").values[:, 0], [1.0, 3.0, 5.0])


def test_missing_values_are_filled_within_each_series(tmp_path):
    frame = _long({"A": A[:4], "B": A[:4]})
    frame["y"] = frame["y"].astype(object)
    frame.loc[5, "y"] = ""
    path = _csv(tmp_path, frame)
    with pytest.raises(
        InputError,
        match=r"^series 'B' \(id column 'store'\): sales.csv: 1 missing value\(s\) \(first in column 'y', data row 6\)",
    ):
        panel_table.load_panel(path, id_column="store", time_column="date")
    p = panel_table.load_panel(path, id_column="store", time_column="date", fill="interpolate")
    np.testing.assert_array_equal(p.get("B").values[:, 0], [100, 101, 102, 103])
    assert p.get("B").filled[:, 0].tolist() == [False, True, False, False]


def test_a_duplicate_time_within_one_id_names_the_id_and_the_file_rows(tmp_path):
    frame = _long({"A": A[:3], "B": A[:3]})  # the same dates in two ids are fine
    frame = pd.concat([frame, frame.iloc[[4]]], ignore_index=True)  # B's 2001-02-01 again
    with pytest.raises(
        InputError,
        match=r"^series 'B' \(id column 'store'\): sales.csv: duplicate timestamp 2001-02-01 \(data rows 5 and 7\); each time must appear once",
    ):
        panel_table.load_panel(_csv(tmp_path, frame), id_column="store", time_column="date")


def test_a_bad_value_names_the_id_and_the_file_row(tmp_path):
    frame = _long({"A": A[:3], "B": A[:3]}).astype({"y": object})
    frame.loc[4, "y"] = "lots"
    with pytest.raises(
        InputError, match=r"^series 'B' .*column 'y' is not numeric \(data row 5 holds 'lots'\)"
    ):
        panel_table.load_panel(_csv(tmp_path, frame), id_column="store", time_column="date")


def test_unknown_id_column(tmp_path):
    path = _csv(tmp_path, _long({"A": A}))
    with pytest.raises(
        InputError, match=r"^no id column 'shop' in sales.csv; columns are: store, date, y$"
    ):
        panel_table.load_panel(path, id_column="shop", time_column="date")
    with pytest.raises(InputError, match=r"^no id column 'shop' in the DataFrame; columns are"):
        panel_table.load_panel(_long({"A": A}), id_column="shop")


def test_too_short_series_are_refused(tmp_path):
    path = _csv(tmp_path, _long({"A": A, "B": B, "C": B[:3]}))
    with pytest.raises(
        InputError,
        match=r"^series 'B' \(id column 'store'\) has 6 steps; at least 12 are needed \(min_length: window \+ horizon \+ test steps\): drop it or shorten the window \(1 more series are shorter too\)$",
    ):
        panel_table.load_panel(path, id_column="store", time_column="date", min_length=12)
    with pytest.raises(InputError, match=r"min_length must be an integer >= 1, got 0"):
        panel_table.load_panel(path, id_column="store", min_length=0)


def test_an_empty_id_cell_names_its_data_row(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("store,date,y\nA,2001-01-01,1\nA,2001-02-01,2\n  ,2001-03-01,3\n")
    with pytest.raises(
        InputError,
        match=r"^sales.csv: id column 'store' is empty in data row 3; every row needs an id",
    ):
        panel_table.load_panel(path, id_column="store", time_column="date")
    frame = pd.DataFrame({"store": ["A", None], "y": [1.0, 2.0]})
    with pytest.raises(
        InputError, match=r"^the DataFrame: id column 'store' is empty in data row 2"
    ):
        panel_table.load_panel(frame, id_column="store")


def test_frequencies_that_differ_are_refused_naming_the_ids(tmp_path):
    weeks = pd.date_range("2001-01-06", periods=8, freq="W-SAT")
    frame = _long({"A": A, "B": weeks, "C": B, "D": pd.DatetimeIndex(["2001-01-01", "2001-05-01"])})
    with pytest.raises(
        InputError,
        match=r"^series frequencies differ \(id column 'store'\): 'monthly' for 'A', 'C'; 'weekly' for 'B'; no inferred frequency for 'D'; every series needs the same frequency",
    ):
        panel_table.load_panel(_csv(tmp_path, frame), id_column="store", time_column="date")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"time_column": "when"},
            r"^sales.csv: no time column 'when'; columns are: store, date, y$",
        ),
        ({"time_column": "date", "columns": ["y", "z"]}, r"^sales.csv: no column 'z'; columns are"),
        ({"time_column": "date", "columns": ["store"]}, r"^columns names the id column 'store'"),
        ({"time_column": "date", "columns": []}, r"^columns is empty"),
        ({"time_column": "store"}, r"^time_column and id_column both name 'store'"),
        (
            {"time_column": "date", "fill": "mean"},
            r"^fill must be one of interpolate, ffill, zero; got 'mean'",
        ),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        panel_table.load_panel(_csv(tmp_path, _long({"A": A})), id_column="store", **kwargs)


def test_bad_sources_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"^no such file: .*nothing.csv"):
        panel_table.load_panel(tmp_path / "nothing.csv", id_column="store")
    with pytest.raises(
        InputError,
        match=r"^source must be a CSV or Parquet path or a pandas DataFrame, got ndarray",
    ):
        panel_table.load_panel(np.zeros(3), id_column="store")
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(InputError, match=r"^empty.csv is empty"):
        panel_table.load_panel(tmp_path / "empty.csv", id_column="store")
    with pytest.raises(InputError, match=r"^the DataFrame holds no rows of data"):
        panel_table.load_panel(pd.DataFrame({"store": [], "y": []}), id_column="store")


def test_get_names_at_most_ten_known_ids():
    p = panel_table.from_arrays([np.arange(3.0)] * 15, ids=[f"s{i}" for i in range(15)])
    with pytest.raises(
        InputError, match=r"^no series 'x' in the panel; ids are: 's0', 's1', .*'s9' and 5 more$"
    ):
        p.get("x")
    q = panel_table.load_panel(_long({"A": A[:3]}), id_column="store", time_column="date")
    with pytest.raises(
        InputError, match=r"^no series 'B' in the panel \(id column 'store'\); ids are: 'A'$"
    ):
        q.get("B")


# --------------------------------------------------------------------------- from_columns


def test_from_columns_keeps_the_time_axis_and_the_filled_mask():
    frame = pd.DataFrame({"t": A.strftime("%Y-%m"), "a": np.arange(12.0), "b": -np.arange(12.0)})
    frame.loc[3, "b"] = np.nan
    wide = io.load_series(frame, time_column="t", fill="ffill")
    p = panel_table.from_columns(wide)
    assert p.ids == ("a", "b") and p.frequency == "monthly"
    assert p.get("b").filled[:, 0].tolist() == [i == 3 for i in range(12)]
    assert p.get("a").filled[:, 0].sum() == 0
    assert p.get("a").time_labels() == wide.time_labels()


def test_from_columns_refusals():
    wide = io.load_series(pd.DataFrame({"a": [1.0, 2, 3], "b": [4.0, 5, 6]}))
    with pytest.raises(
        InputError,
        match=r"^columns names 'c', which is no column of the series; its columns are: a, b$",
    ):
        panel_table.from_columns(wide, ["a", "c"])
    with pytest.raises(InputError, match=r"^columns names 'a' twice"):
        panel_table.from_columns(wide, ["a", "a"])
    with pytest.raises(InputError, match=r"^columns is empty"):
        panel_table.from_columns(wide, [])
    with pytest.raises(
        InputError, match=r"^the series has 3 steps; at least 5 are needed \(min_length"
    ):
        panel_table.from_columns(wide, min_length=5)
    with pytest.raises(InputError, match=r"^series must be a jaxseq.app.io.Series"):
        panel_table.from_columns(np.zeros((3, 2)))


# --------------------------------------------------------------------------- from_arrays


def test_from_arrays_of_the_chapters_ten_thousand_series_is_fast():
    x = generate_time_series(10_000, 51, seed=0)  # [10000, 51, 1]
    start = time.perf_counter()
    p = panel_table.from_arrays(x)
    stacked = time.perf_counter() - start
    start = time.perf_counter()
    q = panel_table.from_arrays(list(x[:, :, 0]))  # 10000 arrays [51]
    listed = time.perf_counter() - start
    assert stacked < 5 and listed < 5, (stacked, listed)
    for one in (p, q):
        assert len(one) == 10_000 and one.ids[:3] == ("0", "1", "2") and one.ids[-1] == "9999"
        assert one.columns == ("value",) and one.frequency is None and one.season is None
        assert one.lengths().tolist() == [51] * 10_000
        np.testing.assert_array_equal(one.get("1234").values, x[1234])
        assert one.get("7").values.dtype == np.float32 and one.get("7").time is None


def test_from_arrays_copies_and_takes_lengths_that_differ():
    a, b = np.arange(5.0), np.arange(3.0)
    p = panel_table.from_arrays([a, b], ids=["x", "y"])
    assert p.ids == ("x", "y") and p.lengths().tolist() == [5, 3]
    a[0] = 99.0
    assert p.get("x").values[0, 0] == 0.0
    wide = panel_table.from_arrays([np.ones((4, 3)), np.zeros((2, 3))])
    assert wide.columns == ("0", "1", "2") and wide.get("1").values.shape == (2, 3)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (
            [np.arange(3.0), np.array([1.0, np.nan])],
            r"^arrays\[1\] holds NaN at step 1, feature 0 \(1 bad value\(s\) in all\)",
        ),
        (np.array([[1.0, 2.0], [3.0, np.inf]]), r"^arrays\[1\] holds inf at step 1, feature 0"),
        (
            [np.ones((2, 2)), np.array([[1.0, 2e19]])],
            r"^arrays\[1\] holds 2e\+19 \(beyond \+-1e18\) at step 0, feature 1",
        ),
        ([np.ones((2, 2)), np.ones((2, 3))], r"^arrays\[1\] has 3 feature\(s\) and arrays\[0\] 2"),
        (
            [np.ones((2, 2, 2))],
            r"^arrays\[0\] has shape \(2, 2, 2\); each series must be \[time\] or \[time, features\]",
        ),
        ([np.ones(3), np.ones(0)], r"^arrays\[1\] has no steps"),
        ([], r"^arrays is empty"),
        (np.zeros((0, 5, 1)), r"^arrays has shape \(0, 5, 1\); every series needs steps"),
        ([np.array(["a", "b"])], r"^arrays\[0\] holds <U1 values, expected real numbers"),
        (3.0, r"^arrays must be a sequence of \[time\] or \[time, features\] arrays, got float"),
    ],
)
def test_from_arrays_refusals(arrays, message):
    with pytest.raises(InputError, match=message):
        panel_table.from_arrays(arrays)


def test_from_arrays_ids_must_match_and_be_unique():
    with pytest.raises(InputError, match=r"^ids has 1 entries for 2 arrays"):
        panel_table.from_arrays([np.ones(2), np.ones(2)], ids=["a"])
    with pytest.raises(InputError, match=r"^ids repeat 'a'; each series needs its own id"):
        panel_table.from_arrays([np.ones(2), np.ones(2)], ids=["a", "a"])


def test_a_panel_needs_series_with_the_same_columns():
    one = io.Series(np.zeros((3, 1), np.float32), ("y",))
    other = io.Series(np.zeros((3, 1), np.float32), ("z",))
    with pytest.raises(InputError, match=r"^series 'b' has columns z and series 'a' y"):
        panel_table.Panel(("a", "b"), (one, other), None)
    with pytest.raises(InputError, match=r"^a panel needs at least one series"):
        panel_table.Panel((), (), None)
    assert "2 series" in repr(panel_table.Panel(("a", "b"), (one, one), None))
