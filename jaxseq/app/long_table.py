"""The data contract of the front door (:class:`jaxseq.app.forecaster.Forecaster`): one long
table, ``unique_id, ds, y`` and covariate columns, one row per series and time.

Whatever a user holds is converted here, at the door, once:

- a long ``DataFrame`` (it has the id column; id and time may also be index levels);
- a ``DataFrame`` without an id column: one series when it has the target column (its id
  ``"series"``), else *wide*: every value column is a series of its own, named by the column;
  the time is the time column, else a ``DatetimeIndex``/``PeriodIndex``, else step numbers;
- a ``pandas.Series`` (one series; its index the time when it is one of dates);
- a numpy array: ``[time]`` one series, ``[time, series]`` one per column (``"0"``, ``"1"``, ...);
- a CSV or Parquet path: read (ids as text, as :func:`jaxseq.app.panel.table.read_table`), then
  as a ``DataFrame``.

Nothing is checked here that the single-series loader checks (time order, duplicates,
missing values, overflow: :func:`jaxseq.app.io.load_series` refuses them per series, naming
the id); here only the shape of the table: the columns it needs, and ids that are not empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from jaxseq.errors import InputError

ID, TIME, TARGET = "unique_id", "ds", "y"
#: the id of the one series a table without an id column holds
SINGLE = "series"


def to_long(
    data,
    *,
    id_col: str = ID,
    time_col: str = TIME,
    target_col: str = TARGET,
) -> pd.DataFrame:
    """``data`` as the long table: columns ``id_col`` (strings), ``time_col`` (dates or step
    numbers), ``target_col`` and any other columns as they were (covariates), rows in the
    order given (each series' rows are sorted by the loader)."""
    if isinstance(data, str | Path):
        from jaxseq.app.panel import table as panel_table

        _, data = panel_table.read_table(data, id_col)
    if isinstance(data, pd.Series):
        frame = data.to_frame(target_col)
        frame = _time_from_index(frame, time_col)
        return _with_id(frame, SINGLE, id_col, time_col, target_col)
    if isinstance(data, np.ndarray) or (
        not isinstance(data, pd.DataFrame) and hasattr(data, "__array__")
    ):
        return _from_array(np.asarray(data), id_col, time_col, target_col)
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            "data must be a DataFrame (long: unique_id, ds, y), a Series, a numpy array or a "
            f"CSV/Parquet path; got {type(data).__name__}"
        )
    frame = data.copy()
    levels = [n for n in frame.index.names if n in (id_col, time_col) and n not in frame.columns]
    frame = frame.reset_index(level=levels) if levels else frame
    frame.columns = [str(c) for c in frame.columns]
    if id_col in frame.columns:
        if target_col not in frame.columns:
            raise InputError(
                f"the long table has no target column {target_col!r}; columns are "
                f"{', '.join(frame.columns)}: name it with target_col="
            )
        if time_col not in frame.columns and not isinstance(
            frame.index, pd.DatetimeIndex | pd.PeriodIndex
        ):  # no times: each series' rows are its steps, in the order given
            frame = frame.reset_index(drop=True)
            frame.insert(1, time_col, frame.groupby(id_col, sort=False).cumcount())
        frame = _time_from_index(frame, time_col)
        ids = frame[id_col]
        if ids.isna().any():
            row = int(np.flatnonzero(ids.isna().to_numpy())[0])
            raise InputError(f"the id column {id_col!r} is empty at data row {row + 1}")
        frame[id_col] = ids.astype(str)
        return frame.reset_index(drop=True)
    frame = _time_from_index(frame, time_col)
    if target_col in frame.columns:
        return _with_id(frame, SINGLE, id_col, time_col, target_col)
    values = [c for c in frame.columns if c != time_col]
    if not values:
        raise InputError(f"the table has no value columns besides {time_col!r}")
    long = frame.melt(id_vars=[time_col], value_vars=values, var_name=id_col, value_name=target_col)
    return long[[id_col, time_col, target_col]].reset_index(drop=True)


def series_frames(long: pd.DataFrame, id_col: str = ID) -> Iterator[tuple[str, pd.DataFrame]]:
    """``(id, its rows without the id column)`` per series, ids in order of first
    appearance."""
    codes, uniques = pd.factorize(long[id_col])
    for k, key in enumerate(uniques):
        yield str(key), long.loc[codes == k].drop(columns=[id_col]).reset_index(drop=True)


def series_times(series) -> pd.Series:
    """The time of each step of a loaded series (:class:`jaxseq.app.io.Series`): its dates, or
    its step labels (integers where they are all numbers)."""
    if isinstance(series.time, pd.DatetimeIndex):
        return pd.Series(series.time)
    labels = pd.Series(series.time_labels())
    numbers = pd.to_numeric(labels, errors="coerce")
    return numbers.astype(np.int64) if numbers.notna().all() else labels


def forecast_frame(key: str, series, model: str, forecast, steps: int, columns: dict):
    """One series' forecast as rows of the long table: ``unique_id, ds, model, forecast``
    (the seeds' average) and, where the forecast has quantiles, ``forecast-q-<level>``; ``ds``
    the ``steps`` times after the end of ``series`` (:class:`jaxseq.app.io.Series`)."""
    frame = pd.DataFrame(
        {
            columns["id_col"]: key,
            columns["time_col"]: next_times(series_times(series), steps, series.freq),
            "model": model,
            "forecast": forecast.mean[:, 0],
        }
    )
    if forecast.quantile_mean is not None:
        for j, level in enumerate(forecast.levels):
            frame[f"forecast-q-{level:g}"] = forecast.quantile_mean[:, 0, j]
    return frame


def next_times(times: pd.Series, steps: int, freq: str | None) -> list:
    """The ``steps`` times after the last of ``times``: dates at ``freq`` (a pandas alias),
    else whole steps after the last step number."""
    last = times.iloc[-1]
    if freq is not None:
        return list(pd.date_range(pd.Timestamp(last), periods=steps + 1, freq=freq)[1:])
    if isinstance(last, int | np.integer | float | np.floating):
        return [last + k for k in range(1, steps + 1)]
    raise InputError(
        f"the time column holds labels ({last!r}) with no frequency: forecast times cannot be "
        "named; give dates or step numbers"
    )


def _time_from_index(frame: pd.DataFrame, time_col: str) -> pd.DataFrame:
    if time_col in frame.columns:
        return frame
    index = frame.index
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if isinstance(index, pd.DatetimeIndex):
        frame = frame.set_axis(range(len(frame)), axis=0)
        frame.insert(0, time_col, index)
        return frame
    frame = frame.reset_index(drop=True)
    frame.insert(0, time_col, np.arange(len(frame)))
    return frame


def _with_id(frame, key: str, id_col, time_col, target_col) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.insert(0, id_col, key)
    rest = [c for c in frame.columns if c not in (id_col, time_col, target_col)]
    return frame[[id_col, time_col, target_col, *rest]]


def _from_array(array: np.ndarray, id_col, time_col, target_col) -> pd.DataFrame:
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.size == 0:
        raise InputError(
            f"an array must be [time] or [time, series] and not empty; got shape {array.shape}"
        )
    wide = pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])
    frame = _time_from_index(wide, time_col)
    if array.shape[1] == 1:
        frame = frame.rename(columns={"0": target_col})
        return _with_id(frame, SINGLE, id_col, time_col, target_col)
    long = frame.melt(id_vars=[time_col], var_name=id_col, value_name=target_col)
    return long[[id_col, time_col, target_col]]
