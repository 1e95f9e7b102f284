"""Many series as one data set: a :class:`Panel` of :class:`jaxseq.app.io.Series`, one per id.

Three ways in:

* :func:`load_panel` reads long format (one row per id and time, as a CSV or Parquet file or
  a ``DataFrame``) and builds each id's series with :func:`jaxseq.app.io.load_series`, so every
  check of a single series (time order, duplicate times, missing values, overflow, frequency
  and season) applies to each id, and a failure names the id;
* :func:`from_columns` splits the target columns of one wide series into one series each;
* :func:`from_arrays` wraps in-memory arrays (the chapter's 10,000 synthetic series) without
  the per-series loader, checked all at once.

Series may differ in length and in start date; they share the value columns and the
frequency (so the panel has one season).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from jaxseq.app import io
from jaxseq.app.timeaxis import cell_label
from jaxseq.errors import InputError, check_positive_int

_SHOWN = 10  # ids listed in a message at most


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Panel:
    """Several series with the same value columns and frequency, one per id.

    ``ids`` (strings, unique, in order of first appearance), ``series`` (one
    :class:`jaxseq.app.io.Series` per id: ``values`` float32 ``[time_i, features]`` in time order;
    lengths and start dates may differ) and ``id_column`` (the column the ids came from, None
    when they did not come from a column)."""

    ids: tuple[str, ...]
    series: tuple[io.Series, ...]
    id_column: str | None = None

    def __post_init__(self):
        ids, series = tuple(self.ids), tuple(self.series)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "series", series)
        if not series:
            raise InputError("a panel needs at least one series; got none")
        if len(ids) != len(series):
            raise InputError(
                f"ids has {len(ids)} entries and series {len(series)}; give one id per series"
            )
        if not all(isinstance(i, str) for i in ids):
            raise InputError("ids must be strings; convert them with str()")
        if len(set(ids)) != len(ids):
            raise InputError(f"ids repeat {_repeated(ids)!r}; each series needs its own id")
        columns = series[0].columns
        for i, s in zip(ids, series, strict=True):
            if s.columns != columns:
                raise InputError(
                    f"series {i!r} has columns {', '.join(s.columns)} and series {ids[0]!r} "
                    f"{', '.join(columns)}; every series needs the same value columns"
                )

    def __len__(self) -> int:
        return len(self.series)

    def __repr__(self) -> str:
        where = f", id_column={self.id_column!r}" if self.id_column else ""
        return (
            f"Panel({len(self)} series, ids {_listed(self.ids, 3)}, columns {self.columns}, "
            f"frequency {self.frequency!r}{where})"
        )

    def lengths(self) -> np.ndarray:
        """``[series]`` int64: the steps of each series."""
        return np.fromiter((len(s.values) for s in self.series), np.int64, len(self.series))

    @property
    def columns(self) -> tuple[str, ...]:
        """The value columns, the same for every series."""
        return self.series[0].columns

    @property
    def frequency(self) -> str | None:
        """The frequency shared by the series (``"weekly"``, ...), None if they have none."""
        return _common(s.frequency for s in self.series)

    @property
    def season(self) -> int | None:
        """The default season of the shared frequency (``"monthly"`` 12, ...), or None."""
        return _common(s.season for s in self.series)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {i: k for k, i in enumerate(self.ids)}

    def get(self, id) -> io.Series:
        """The series of one id (an id that is no string is looked up as ``str(id)``)."""
        key = id if isinstance(id, str) else str(id)
        k = self._index.get(key)
        if k is None:
            where = f" (id column {self.id_column!r})" if self.id_column else ""
            raise InputError(f"no series {key!r} in the panel{where}; ids are: {_listed(self.ids)}")
        return self.series[k]


# --------------------------------------------------------------------------- long format


def load_panel(
    source: str | Path | pd.DataFrame,
    *,
    id_column: str,
    time_column: str | None = None,
    columns: Sequence[str] | None = None,
    fill: str | None = None,
    min_length: int = 1,
) -> Panel:
    """Load a long-format panel: one row per id and time, the ids in one column.

    Args:
        source: a CSV file (``,`` ``;`` or tab delimited, with a header), a Parquet file
            (``.parquet``/``.pq``, needs pyarrow) or a ``pandas.DataFrame`` (the id and time
            columns may also be index levels; a ``DatetimeIndex`` is the time axis when no
            ``time_column`` is given).
        id_column: the column of series ids; read as strings (``007`` stays ``"007"``).
        time_column: the column of times, as in :func:`jaxseq.app.io.load_series`: each id's rows
            are sorted by it, a duplicate time within one id is refused, dates get a frequency.
        columns: the value columns; default every column but the id and time columns.
        fill: missing values: None refuses them, else ``"interpolate"``, ``"ffill"`` or
            ``"zero"`` (within each series).
        min_length: the fewest steps a series may have (window + horizon + test steps).

    Returns:
        A :class:`Panel`, ids in order of first appearance; each series ``[time_i, columns]``.

    Raises:
        InputError: an unknown id, time or value column; an empty id cell; a series shorter
            than ``min_length``; any :func:`jaxseq.app.io.load_series` error of one series
            (prefixed by its id, its data rows those of the source); frequencies that differ.
    """
    min_length = check_positive_int("min_length", min_length)
    if fill is not None:
        io.check_fill(fill)
    name, frame = read_table(source, id_column)
    frame = _levels_to_columns(frame, [id_column, time_column])
    header = [str(c) for c in frame.columns]
    frame = frame.set_axis(header, axis=1)
    if id_column not in header:
        raise InputError(f"no id column {id_column!r} in {name}; columns are: {', '.join(header)}")
    names = _value_columns(name, header, id_column, time_column, columns)
    if len(frame) == 0:
        raise InputError(f"{name} holds no rows of data")
    ids = _ids(name, frame[id_column], id_column)
    codes, uniques = pd.factorize(ids)  # in order of first appearance
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    _check_lengths(uniques, counts, id_column, min_length)
    body = frame.drop(columns=[id_column])
    starts = np.concatenate([[0], np.cumsum(counts)])
    series = []
    for k, key in enumerate(uniques):
        rows = order[starts[k] : starts[k + 1]]
        try:
            one = io.load_series(body.iloc[rows], names, time_column=time_column, fill=fill)
        except InputError as error:
            message = _in_source(str(error), name, rows)
            raise InputError(f"series {key!r} (id column {id_column!r}): {message}") from None
        series.append(one)
    _check_frequencies(uniques, series, id_column)
    return Panel(tuple(uniques), tuple(series), id_column)


def read_table(source, id_column: str) -> tuple[str, pd.DataFrame]:
    """(name for messages, frame) of a path or DataFrame; ids of a CSV stay text."""
    if isinstance(source, pd.DataFrame):
        return "the DataFrame", source
    if not isinstance(source, str | Path):
        raise InputError(
            f"source must be a CSV or Parquet path or a pandas DataFrame, got "
            f"{type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, expected a .csv or .parquet file")
    if path.suffix.lower() in io.PARQUET_SUFFIXES:
        return path.name, io.read_parquet_frame(path)
    return path.name, _read_csv(path, id_column)


def _read_csv(path: Path, id_column: str) -> pd.DataFrame:
    """One ``pandas.read_csv``: ids as text; no cell turned into NaN but empty ids, so that
    the loader's own missing markers (``""``, ``"NA"``, ``"?"``, ...) apply to the values and
    an id like ``"NA"`` stays an id."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            first = next((line for line in f if line.strip()), "")
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not a text (UTF-8) CSV file") from None
    if not first:
        raise InputError(f"{path.name} is empty")
    try:
        sep = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        sep = ","
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype={id_column: str},
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values={id_column: [""]},
            skipinitialspace=True,
        )
    except pd.errors.ParserError as error:
        raise io.csv_parse_error(path.name, error) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path.name} is not a readable CSV file ({error})") from None


def _levels_to_columns(frame: pd.DataFrame, wanted) -> pd.DataFrame:
    """Index levels named as the id or time column become columns."""
    levels = [n for n in frame.index.names if n is not None and n in wanted]
    levels = [n for n in levels if n not in frame.columns]
    return frame.reset_index(level=levels) if levels else frame


def _value_columns(name, header, id_column, time_column, columns) -> list[str]:
    if time_column is not None and time_column not in header:
        raise InputError(
            f"{name}: no time column {time_column!r}; columns are: {', '.join(header)}"
        )
    if time_column == id_column:
        raise InputError(
            f"time_column and id_column both name {id_column!r}; the ids and the times need "
            "a column each"
        )
    if columns is None:
        names = [h for h in header if h not in (id_column, time_column)]
        if not names:
            raise InputError(f"{name} holds no value columns (only the id and time columns)")
        return names
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names:
        raise InputError("columns is empty; name the value columns, or leave it None for all")
    for column in names:
        if column == id_column:
            raise InputError(
                f"columns names the id column {id_column!r}; ids are no values: drop it from "
                "columns"
            )
        if column not in header:
            raise InputError(f"{name}: no column {column!r}; columns are: {', '.join(header)}")
    return names


def _ids(name: str, column: pd.Series, id_column: str) -> np.ndarray:
    """``[rows]`` object array of id strings; refuses an empty cell with its data row."""
    if pd.api.types.is_integer_dtype(column.dtype) and not column.isna().any():
        return column.astype(str).to_numpy(dtype=object)
    ids = np.array([cell_label(v) for v in column.to_numpy(dtype=object)], dtype=object)
    empty = ids == ""
    if empty.any():
        raise InputError(
            f"{name}: id column {id_column!r} is empty in data row {int(np.argmax(empty)) + 1}; "
            "every row needs an id (fill it in or remove the row)"
        )
    return ids


def _check_lengths(ids, counts: np.ndarray, id_column: str, min_length: int) -> None:
    short = np.nonzero(counts < min_length)[0]
    if len(short) == 0:
        return
    k = int(short[0])
    more = f" ({len(short) - 1} more series are shorter too)" if len(short) > 1 else ""
    raise InputError(
        f"series {ids[k]!r} (id column {id_column!r}) has {int(counts[k])} step"
        f"{'s' if counts[k] != 1 else ''}; at least {min_length} are needed (min_length: window "
        f"+ horizon + test steps): drop it or shorten the window{more}"
    )


_ROWS = re.compile(r"(data rows? )((?:\d+(?:, | and ))*\d+)( more)?")


def _in_source(message: str, name: str, rows: np.ndarray) -> str:
    """A loader message about one id's rows, told about the source: its name, its rows."""
    message = re.sub(r"^the DataFrame: ", f"{name}: ", message)

    def renumber(match: re.Match) -> str:
        numbers = re.findall(r"\d+", match.group(2))
        keep_last = match.group(3) is not None  # "1, 2, 3, 4 and 5 more": 5 is a count
        mapped = [
            n if keep_last and i == len(numbers) - 1 else str(int(rows[int(n) - 1]) + 1)
            for i, n in enumerate(numbers)
        ]
        text = iter(mapped)
        listed = re.sub(r"\d+", lambda _: next(text), match.group(2))
        return match.group(1) + listed + (match.group(3) or "")

    return _ROWS.sub(renumber, message)


def _check_frequencies(ids, series: Sequence[io.Series], id_column: str) -> None:
    groups: dict[str | None, list[str]] = {}
    for key, one in zip(ids, series, strict=True):
        groups.setdefault(one.frequency, []).append(key)
    if len(groups) <= 1:
        return
    parts = [
        f"{'no inferred frequency' if f is None else repr(f)} for {_listed(keys, 5)}"
        for f, keys in groups.items()
    ]
    raise InputError(
        f"series frequencies differ (id column {id_column!r}): {'; '.join(parts)}; every "
        "series needs the same frequency (resample them, or load them as separate panels)"
    )


# --------------------------------------------------------------------------- other sources


def from_columns(
    series: io.Series, columns: Sequence[str] | None = None, *, min_length: int = 1
) -> Panel:
    """Split the target columns of one wide series into single-column series.

    Args:
        series: a :class:`jaxseq.app.io.Series` ``[time, features]``.
        columns: the columns that become series, in order; default all of them.
        min_length: the fewest steps the series may have.

    Returns:
        A :class:`Panel` with ids = the column names, each series ``[time, 1]`` (its one
        column called ``"value"``, as a panel's series share their columns) on the shared time
        axis (with its frequency, season, gaps and notes), ``id_column`` None.
    """
    if not isinstance(series, io.Series):
        raise InputError(
            f"series must be a jaxseq.app.io.Series (from load_series), got {type(series).__name__}"
        )
    min_length = check_positive_int("min_length", min_length)
    names = list(series.columns) if columns is None else _column_list(series, columns)
    steps = len(series.values)
    if steps < min_length:
        raise InputError(
            f"the series has {steps} step{'s' if steps != 1 else ''}; at least {min_length} "
            "are needed (min_length: window + horizon + test steps): give a longer series or "
            "shorten the window"
        )
    parts = []
    for column in names:
        c = series.columns.index(column)
        filled = None if series.filled is None else series.filled[:, c : c + 1].copy()
        parts.append(
            dataclasses.replace(
                series, values=series.values[:, c : c + 1].copy(), columns=("value",), filled=filled
            )
        )
    return Panel(tuple(names), tuple(parts), None)


def _column_list(series: io.Series, columns) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names:
        raise InputError("columns is empty; name the columns to split, or leave it None for all")
    for column in names:
        if column not in series.columns:
            raise InputError(
                f"columns names {column!r}, which is no column of the series; its columns are: "
                f"{', '.join(series.columns)}"
            )
    if len(set(names)) != len(names):
        raise InputError(f"columns names {_repeated(names)!r} twice; name each column once")
    return names


def from_arrays(arrays: Sequence[np.ndarray] | np.ndarray, ids: Sequence | None = None) -> Panel:
    """A panel of in-memory series, without time axes.

    Args:
        arrays: one ``[time]`` or ``[time, features]`` array per series (lengths may differ,
            the features may not), or one stacked array: ``[series, time]`` or
            ``[series, time, features]`` (as :func:`jaxseq.data.generate_time_series` gives).
        ids: one id per series (made strings); default ``"0"``, ``"1"``, ...

    Returns:
        A :class:`Panel` (``id_column`` None) of series with ``values`` float32
        ``[time_i, features]``, columns ``("value",)`` for one feature, else ``("0", "1",
        ...)``, and no time axis, frequency or season.
    """
    parts = _as_arrays(arrays)
    n = len(parts)
    if ids is None:
        keys = tuple(str(i) for i in range(n))
    else:
        keys = tuple(str(i) for i in ids)
        if len(keys) != n:
            raise InputError(f"ids has {len(keys)} entries for {n} arrays; give one id per array")
    width = parts[0].shape[1]
    columns = ("value",) if width == 1 else tuple(str(i) for i in range(width))
    series = tuple(io.Series(p, columns) for p in parts)
    return Panel(keys, series, None)


def _as_arrays(arrays) -> list[np.ndarray]:
    """float32 ``[time_i, features]`` per series (views of one stacked copy), after one check
    of every value."""
    if isinstance(arrays, np.ndarray) and arrays.ndim in (2, 3):
        stack = _numeric(arrays, "arrays")
        stack = stack[:, :, None] if stack.ndim == 2 else stack
        if 0 in stack.shape:
            raise InputError(f"arrays has shape {arrays.shape}; every series needs steps")
        stack = stack.astype(np.float32)
        _check_values(stack, lambda flat: np.unravel_index(flat, stack.shape))
        return list(stack)
    try:
        items = list(arrays)
    except TypeError:
        raise InputError(
            f"arrays must be a sequence of [time] or [time, features] arrays, got "
            f"{type(arrays).__name__}"
        ) from None
    if not items:
        raise InputError("arrays is empty; give one array per series")
    parts: list[np.ndarray] = []
    for i, item in enumerate(items):
        a = _numeric(item, f"arrays[{i}]")
        if a.ndim not in (1, 2):
            raise InputError(
                f"arrays[{i}] has shape {a.shape}; each series must be [time] or [time, features]"
            )
        a = a[:, None] if a.ndim == 1 else a
        if a.shape[0] == 0:
            raise InputError(f"arrays[{i}] has no steps; every series needs at least one")
        if parts and a.shape[1] != parts[0].shape[1]:
            raise InputError(
                f"arrays[{i}] has {a.shape[1]} feature(s) and arrays[0] {parts[0].shape[1]}; "
                "every series needs the same features"
            )
        parts.append(a)
    flat = np.concatenate([p.reshape(-1) for p in parts]).astype(np.float32)
    ends = np.cumsum([p.size for p in parts])

    def where(k):
        i = int(np.searchsorted(ends, k, side="right"))
        start = ends[i - 1] if i else 0
        step, feature = divmod(int(k - start), parts[i].shape[1])
        return i, step, feature

    _check_values(flat, where)
    out, start = [], 0
    for p, end in zip(parts, ends, strict=True):
        out.append(flat[start:end].reshape(p.shape))
        start = end
    return out


def _numeric(array, what: str) -> np.ndarray:
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{what} holds {array.dtype} values, expected real numbers")
    return array


def _check_values(values: np.ndarray, where) -> None:
    """Refuse NaN, inf and ``|value| > 1e18`` (float32 overflow), naming the first."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= io.VALUE_LIMIT)  # NaN compares False
    if not bad.any():
        return
    flat = int(np.argmax(bad.reshape(-1)))
    i, step, feature = (int(x) for x in where(flat))
    value = float(values.reshape(-1)[flat])
    kind = "NaN" if np.isnan(value) else "inf" if np.isinf(value) else f"{value:g} (beyond +-1e18)"
    raise InputError(
        f"arrays[{i}] holds {kind} at step {step}, feature {feature} ({int(bad.sum())} bad "
        "value(s) in all); remove, fill or rescale them first"
    )


# --------------------------------------------------------------------------- helpers


def _common(values):
    """The one value all share, None when they differ."""
    values = set(values)
    return values.pop() if len(values) == 1 else None


def _repeated(items: Sequence[str]) -> str:
    seen = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return ""


def _listed(ids: Sequence[str], most: int = _SHOWN) -> str:
    shown = ", ".join(repr(i) for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
