"""Reading a user's series from CSV, Parquet, ``.npy`` or a pandas object, with time handled as time.

Built on pandas: ``pandas.read_csv`` tokenises the delimited text (delimiter, quotes and dialect
sniffed from the header line), ``pandas.read_parquet`` reads Parquet (pyarrow, optional), a
``DataFrame``/``Series`` can be passed in directly, and pandas' calendar (``to_datetime``,
``infer_freq``, periods) turns a time column into dates with a frequency. Every cell is still
checked here, so each failure is one sentence that names the file (or "the DataFrame"), the
column, the data row and the fix.

What is done to the time axis, and reported rather than hidden:

* a time column whose labels all parse as dates (``"1871"``, ``"2001-12"``, ``"1958-03-29"``,
  ISO date-times, ...) or all are numbers is **sorted** (stable): a newest-first or shuffled file
  gives the same ``values`` as the sorted one; duplicate times and empty or unparseable cells in
  such a column are refused; labels that are neither (``"t0"``, ``"t1"``) keep the file order;
* the frequency of dates is inferred (``pandas.infer_freq``, or the most common step when gaps
  defeat it) and mapped to a default season (:func:`season_for`: weekly 52, monthly 12, ...);
* gaps (steps missing for that frequency) are counted in ``Series.gaps`` and described in
  ``Series.notes``; no rows are inserted, the values stay consecutive steps;
* values beyond +-1e18 are refused: float32 arithmetic on them (squares in scaling and losses,
  window sums) overflows.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io as _io
import logging
import math
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries import offsets as _off
from pandas.tseries.api import guess_datetime_format
from pandas.tseries.frequencies import to_offset

from jaxseq.errors import InputError

LOG = logging.getLogger("jaxseq")
LOG.propagate = False  # notes reach the command line (or a handler you add), not root logs
LOG.addHandler(logging.NullHandler())
MISSING = {"", "nan", "na", "n/a", "null", "none", "?"}
FILLS = ("interpolate", "ffill", "zero")
# |value| beyond this is refused: its square (scaling, squared losses) exceeds float32's 3.4e38
VALUE_LIMIT = 1e18
PARQUET_SUFFIXES = (".parquet", ".pq")

_DAY = 86_400 * 10**9  # nanoseconds
_QUARTER = re.compile(r"\d{4}[- ]?Q[1-4]", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Series:
    """A loaded series.

    ``values`` ``[time, features]`` float32 (rows in time order), the column names, the time
    axis ``time`` (a ``pandas.DatetimeIndex`` for dates, else a numpy array of label strings,
    ``None`` without a time column) and a ``[time, features]`` mask of the values filled.
    For dates: ``frequency`` (``"weekly"``, ``"monthly"``, ...), ``freq`` (the pandas alias,
    ``"W-SAT"``, ``"MS"``, ...), ``season`` (the default season for that frequency, or None),
    ``gaps`` (``(label before the gap, missing steps)`` each) and ``notes`` (human sentences
    about what was sorted, inferred or found; print them to the user)."""

    values: np.ndarray
    columns: tuple[str, ...]
    time: pd.DatetimeIndex | np.ndarray | None = None
    filled: np.ndarray | None = None
    frequency: str | None = None
    freq: str | None = None
    season: int | None = None
    gaps: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()
    labels: tuple[str, ...] | None = None

    def column_index(self, name: str) -> int:
        if name not in self.columns:
            raise InputError(f"no column {name!r}; columns are: {', '.join(self.columns)}")
        return self.columns.index(name)

    def time_labels(self) -> list[str]:
        """One printable label per row, in row (time) order, for outputs: the labels as
        written in the file; ISO dates (``2001-12-29``, with the time of day only when there
        is one) for dates given as datetimes; the row numbers ``"1"``, ``"2"``, ... without a
        time column."""
        if self.labels is not None:
            return list(self.labels)
        if self.time is None:
            return [str(i) for i in range(1, len(self.values) + 1)]
        if isinstance(self.time, pd.DatetimeIndex):
            return _iso(self.time)
        return [str(t) for t in self.time]


# --------------------------------------------------------------------------- frequencies

# offset type -> (adjective, unit, season of one step); the first match wins
_KINDS = (
    ((_off.YearBegin, _off.YearEnd, _off.BYearBegin, _off.BYearEnd), "yearly", "year", 1),
    (
        (_off.QuarterBegin, _off.QuarterEnd, _off.BQuarterBegin, _off.BQuarterEnd),
        "quarterly",
        "quarter",
        4,
    ),
    (
        (
            _off.MonthBegin,
            _off.MonthEnd,
            _off.BusinessMonthBegin,
            _off.BusinessMonthEnd,
            _off.WeekOfMonth,
            _off.LastWeekOfMonth,
        ),
        "monthly",
        "month",
        12,
    ),
    ((_off.SemiMonthBegin, _off.SemiMonthEnd), "semi-monthly", "half-month", 24),
    ((_off.Week,), "weekly", "week", 52),
    ((_off.BusinessDay,), "business-daily", "business day", 5),
    ((_off.Day,), "daily", "day", 7),
    ((_off.Hour,), "hourly", "hour", 24),
    # sub-hourly steps take the daily cycle, as hourly (24) and half-hourly (48) do
    ((_off.Minute,), "minutely", "minute", 1440),
    ((_off.Second,), "secondly", "second", None),
)
_SPECIAL = {("minute", 30): ("half-hourly", 48), ("minute", 15): ("quarter-hourly", 96)}
_SPECIAL[("week", 2)] = ("fortnightly", 26)
_SPECIAL[("month", 6)] = ("half-yearly", 2)
_NAMED = {
    "yearly": 1,
    "annual": 1,
    "quarterly": 4,
    "monthly": 12,
    "semi-monthly": 24,
    "weekly": 52,
    "fortnightly": 26,
    "half-yearly": 2,
    "business-daily": 5,
    "daily": 7,
    "hourly": 24,
    "half-hourly": 48,
    "quarter-hourly": 96,
    "minutely": 1440,
    "secondly": None,
}


def _describe(offset) -> tuple[str | None, str | None, int | None]:
    """(adjective, what one step is called in the plural, season) of a pandas offset; Nones
    when it is no known calendar step."""
    n = abs(int(getattr(offset, "n", 1) or 1))
    for types, adjective, unit, season in _KINDS:
        if isinstance(offset, types):
            if n == 1:
                return adjective, unit + "s", season
            if (unit, n) in _SPECIAL:
                name, season = _SPECIAL[(unit, n)]
                return name, "steps", season
            each = season // n if season and season % n == 0 and unit != "year" else None
            return f"every {n} {unit}s", "steps", each
    return None, None, None


def _offset(alias: str):
    with warnings.catch_warnings():  # legacy aliases ("H", "T", "M") are deprecated, not wrong
        warnings.simplefilter("ignore")
        try:
            return to_offset(alias)
        except (ValueError, TypeError):
            return None


def season_for(frequency: str | None) -> int | None:
    """The default season of a frequency: a name (``"weekly"`` 52, ``"monthly"`` 12,
    ``"quarterly"`` 4, ``"daily"`` 7, ``"business-daily"`` 5, ``"hourly"`` 24,
    ``"half-hourly"`` 48, ``"minutely"`` 1440 (the daily cycle), ``"yearly"`` 1) or a pandas
    alias (``"W-SUN"``, ``"MS"``, ``"ME"``, ``"QS-OCT"``, ``"D"``, ``"B"``, ``"h"``,
    ``"30min"``, ``"2h"`` 12, ...). None for None, an unknown frequency, or one with no
    conventional season (secondly; multiples that do not divide the cycle, like 2 days)."""
    if frequency is None:
        return None
    key = str(frequency).strip()
    if key.lower() in _NAMED:
        return _NAMED[key.lower()]
    offset = _offset(key)
    return None if offset is None else _describe(offset)[2]


# --------------------------------------------------------------------------- loading


@dataclasses.dataclass
class _Table:
    """What a reader produced: the frame (string column names), the name for messages,
    whether its cells are raw text, and a time index (Datetime/PeriodIndex) when it has one."""

    name: str
    frame: pd.DataFrame
    text: bool
    index_time: pd.Index | None = None
    where: str = "the file"


def load_series(
    path: str | Path | pd.DataFrame | pd.Series | np.ndarray,
    columns: Sequence[str] | None = None,
    *,
    time_column: str | None = None,
    fill: str | None = None,
    allow_missing: bool = False,
) -> Series:
    """Load numeric columns of a CSV (with a header row), a Parquet file, a ``.npy`` array,
    a ``pandas.DataFrame``/``Series`` or a numpy array.

    Args:
        path: ``.csv`` (or any ``,`` ``;`` or tab delimited text with a header), ``.parquet``
            (needs pyarrow), ``.npy`` (1-D or 2-D numbers; its columns are named ``"0"``,
            ``"1"``, ...), or the data itself: a ``DataFrame`` (a ``DatetimeIndex`` or
            ``PeriodIndex`` is its time axis when no ``time_column`` is given), a ``Series``
            (its name, or ``"value"``, is the column name) or a 1-D/2-D numpy array.
        columns: the columns to read, in order; default every column except ``time_column``.
        time_column: a column of time labels (for a DataFrame, also the name of its index).
            Dates and numbers are sorted (rows follow), dates get a frequency, a season and a
            count of gaps; other labels keep the file order. See the module docstring.
        fill: what to do with missing values (empty cells, NaN, NA): ``None`` refuses them;
            ``"interpolate"`` (linear in the row index), ``"ffill"`` (last value carried
            forward) or ``"zero"``; filled after sorting by time.
        allow_missing: keep missing values as NaN (for imputation) instead of refusing them.
    """
    if fill is not None and fill not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}; got {fill!r}")
    if isinstance(path, pd.DataFrame | pd.Series) or (
        not isinstance(path, str | Path) and hasattr(path, "__array__")
    ):
        table = _from_memory(path, time_column)
    else:
        table = _from_path(Path(path), time_column)
    series = _build(table, columns, time_column, fill, allow_missing)
    for note in series.notes:  # the command line prints these as `note: ...` on stderr
        LOG.info("%s: %s", table.name, note)
    return series


def _from_path(path: Path, time_column: str | None) -> _Table:
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, expected a .csv or .npy file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if time_column is not None:
            raise InputError(
                f"{path.name}: a .npy array has no named columns; time_column applies to CSV "
                "files (and Parquet files and DataFrames)"
            )
        return _Table(path.name, _array_frame(_read_npy(path)), text=False)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path, time_column)
    return _read_csv(path)


def _from_memory(data, time_column: str | None, name: str | None = None) -> _Table:
    if isinstance(data, pd.Series):
        column = "value" if data.name is None else str(data.name)
        frame, where = data.to_frame(column), "the Series"
    elif isinstance(data, pd.DataFrame):
        frame, where = data, "the DataFrame"
    else:
        if time_column is not None:
            raise InputError(
                "the array: a numpy array has no named columns; time_column applies to CSV "
                "files (and Parquet files and DataFrames)"
            )
        array = _check_array(np.asarray(data), "the array")
        return _Table("the array", _array_frame(array), False, where="the array")
    name, where = name or where, "the file" if name else where
    header = [str(c) for c in frame.columns]
    if len(set(header)) != len(header):
        raise InputError(f"{name}: repeated column names: {header}")
    frame = frame.set_axis(header, axis=1)
    index = frame.index
    if time_column is not None and time_column not in header and index.name == time_column:
        return _Table(name, frame.reset_index(), False, None, where)  # the index is the time
    index_time = index if isinstance(index, pd.DatetimeIndex | pd.PeriodIndex) else None
    return _Table(name, frame.reset_index(drop=True), False, index_time, where)


def _array_frame(array: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])


def _check_array(array: np.ndarray, name: str) -> np.ndarray:
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{name} holds {array.dtype} values, expected real numbers")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(
            f"{name} must be 1-D [time] or 2-D [time, features], got shape {array.shape}"
        )
    return array.astype(np.float64)


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as error:  # numpy raises many types for a damaged file
        raise InputError(
            f"{path.name} is not a readable .npy array ({type(error).__name__})"
        ) from None
    if not isinstance(array, np.ndarray):  # an .npz archive under a .npy name
        raise InputError(f"{path.name} is an archive of arrays, expected one .npy array")
    return _check_array(array, path.name)


def _read_parquet(path: Path, time_column: str | None) -> _Table:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(
            f"{path.name}: reading Parquet needs pyarrow (pip install pyarrow); or save the "
            "data as CSV"
        ) from None
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as error:  # pyarrow raises many types for a damaged file
        raise InputError(
            f"{path.name} is not a readable Parquet file ({type(error).__name__})"
        ) from None
    return _from_memory(frame, time_column, path.name)


def _read_csv(path: Path) -> _Table:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not a text (UTF-8) CSV file") from None
    if "\x00" in text:
        raise InputError(f"{name} is not a text CSV file (it holds NUL bytes)")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{name} is empty")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the python engine (the csv module) pads short rows with None, not "": they show
            raw = pd.read_csv(
                _io.StringIO("\n".join(lines)),
                header=None,
                dtype=object,
                engine="python",
                dialect=dialect,
                na_filter=False,
            )
    except pd.errors.ParserError as error:
        raise csv_parse_error(name, error) from None
    except Exception as error:  # csv.Error (field limits, quotes), and the like
        raise InputError(f"{name} is not a readable CSV file ({error})") from None
    header = ["" if h is None else str(h).strip() for h in raw.iloc[0]]
    if len(set(header)) != len(header):
        raise InputError(f"{name}: repeated column names in the header: {header}")
    if all(_is_number(h) for h in header):
        raise InputError(f"{name}: the first row must be a header of column names, got {header}")
    if len(raw) < 2:
        raise InputError(f"{name} has a header but no data rows")
    body = raw.iloc[1:].reset_index(drop=True)
    short = body.isna().any(axis=1).to_numpy()  # None: a row with fewer fields
    if short.any():
        r = int(np.argmax(short))
        fields = int(body.iloc[r].notna().sum())
        raise InputError(
            f"{name}: data row {r + 1} has {fields} field(s), the header has {len(header)}"
        )
    return _Table(name, body.set_axis(header, axis=1), text=True)


def csv_parse_error(name: str, error: Exception) -> InputError:
    """pandas' ``ParserError`` for the CSV file ``name`` as one line for the user: a row with
    the wrong number of fields, by data row (the header is row 0), else the parser's words."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if found:
        width, line, saw = (int(g) for g in found.groups())
        return InputError(f"{name}: data row {line - 1} has {saw} field(s), the header has {width}")
    return InputError(f"{name} is not a readable CSV file ({error})")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _build(
    table: _Table,
    wanted: Sequence[str] | None,
    time_column: str | None,
    fill: str | None,
    allow_missing: bool,
) -> Series:
    name, frame = table.name, table.frame
    header = list(frame.columns)
    if time_column is not None and time_column not in header:
        raise InputError(
            f"{name}: no time column {time_column!r}; columns are: {', '.join(header)}"
        )
    if wanted:
        unknown = [c for c in wanted if c not in header]
        if unknown:
            raise InputError(f"{name}: no column {unknown[0]!r}; columns are: {', '.join(header)}")
        names = list(wanted)
    else:
        names = [h for h in header if h != time_column]
    if len(frame) == 0:
        raise InputError(f"{name} holds no rows of data")
    if not names:
        raise InputError(f"{name} holds no data columns (only a time column?)")

    # every check on the rows as given, so that "data row N" is the file's row N
    values = np.empty((len(frame), len(names)), np.float64)
    bad = []
    for c, column in enumerate(names):
        values[:, c], first = _to_float(frame[column], table.text)
        if first is not None:
            bad.append((first[0], c, first[1]))
    if bad:
        row, c, cell = min(bad)
        raise InputError(
            f"{name}: column {names[c]!r} is not numeric (data row {row + 1} holds {cell!r})"
        )
    nan = np.isnan(values)
    if nan.any() and fill is None and not allow_missing:
        col, row = _first(nan)
        raise InputError(
            f"{name}: {int(nan.sum())} missing value(s) (first in column {names[col]!r}, "
            f"data row {row + 1}); pass --fill interpolate|ffill|zero to fill them, or "
            "remove them"
        )
    with np.errstate(invalid="ignore"):
        beyond = np.isinf(values) | (np.abs(values) > VALUE_LIMIT)
    if beyond.any():
        col, row = _first(beyond)
        where = f"in column {names[col]!r}, data row {row + 1}"
        if np.isinf(values[row, col]):
            raise InputError(f"{name}: infinite value {where}")
        raise InputError(
            f"{name}: value {float(values[row, col]):g} {where} is beyond +-1e18, where "
            "float32 arithmetic (squares in scaling and losses) overflows; rescale the column"
        )

    axis = _time_axis(table, time_column)
    if axis.order is not None:
        values, nan = values[axis.order], nan[axis.order]
    filled = None
    if nan.any() and fill is not None:
        values, filled = fill_missing(values, fill, columns=names, source=name), nan
    return Series(
        values.astype(np.float32),
        tuple(names),
        axis.time,
        filled,
        frequency=axis.frequency,
        freq=axis.freq,
        season=axis.season,
        gaps=axis.gaps,
        notes=axis.notes,
        labels=axis.labels,
    )


def _first(mask: np.ndarray) -> tuple[int, int]:
    """(column, row) of the first True in row-major order."""
    rows, cols = np.nonzero(mask)
    k = np.lexsort((cols, rows))[0]
    return int(cols[k]), int(rows[k])


def _to_float(column: pd.Series, text: bool) -> tuple[np.ndarray, tuple[int, str] | None]:
    """float64 values (NaN where missing) and the first non-numeric cell ``(row, text)``."""
    dtype = column.dtype
    if not text and dtype.kind in "iuf":
        return column.to_numpy(dtype=np.float64, na_value=np.nan), None
    if not text and pd.api.types.is_numeric_dtype(dtype) and dtype.kind != "b":
        return column.to_numpy(dtype=np.float64, na_value=np.nan), None  # nullable Int64, ...
    cells = column.to_numpy(dtype=object)
    if text:  # the fast path: every cell a number or a missing marker
        stripped = np.array([c.strip() for c in cells], dtype=object)
        missing = np.isin(np.char.lower(stripped.astype(str)), list(MISSING))
        try:
            return np.where(missing, "nan", stripped).astype(np.float64), None
        except ValueError:
            pass
    out = np.empty(len(cells), np.float64)
    for r, cell in enumerate(cells):
        value = _cell(cell)
        if value is None:
            return out, (r, cell.strip() if isinstance(cell, str) else str(cell))
        out[r] = value
    return out, None


def _cell(cell) -> float | None:
    """A cell's number, NaN when missing, None when it is not a number."""
    if isinstance(cell, str):
        cell = cell.strip()
        if cell.lower() in MISSING:
            return math.nan
        try:
            return float(cell)
        except ValueError:
            return None
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return math.nan
    if isinstance(cell, bool | np.bool_):
        return None
    if isinstance(cell, int | float | np.integer | np.floating):
        return float(cell)
    return None


# --------------------------------------------------------------------------- the time axis


@dataclasses.dataclass
class _Axis:
    order: np.ndarray | None = None
    time: pd.DatetimeIndex | np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    frequency: str | None = None
    freq: str | None = None
    season: int | None = None
    gaps: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()


def _time_axis(table: _Table, time_column: str | None) -> _Axis:
    name = table.name
    if time_column is None:
        if table.index_time is None:
            return _Axis()
        source, what = table.index_time, "time index"
    else:
        source, what = table.frame[time_column], f"time column {time_column!r}"
    n = len(source)
    if isinstance(source, pd.PeriodIndex) or isinstance(
        getattr(source, "dtype", None), pd.PeriodDtype
    ):
        periods = pd.PeriodIndex(source)
        empty = np.asarray(periods.isna())
        if empty.any():
            raise _empty_time(name, what, int(np.argmax(empty)))
        labels = [str(p) for p in periods]
        return _dates(name, what, table.where, periods.to_timestamp(how="start"), labels)
    if pd.api.types.is_datetime64_any_dtype(getattr(source, "dtype", None)):
        times = pd.DatetimeIndex(source)
        empty = np.asarray(times.isna())
        if empty.any():
            raise _empty_time(name, what, int(np.argmax(empty)))
        return _dates(name, what, table.where, times, _iso(times))
    labels = [_label(v) for v in np.asarray(source, dtype=object)]
    present = [i for i, s in enumerate(labels) if s.lower() not in MISSING]
    numbers = {}
    for i in present:
        try:
            numbers[i] = float(labels[i])
        except ValueError:
            pass
    kind = None
    if present and len(numbers) == len(present):
        kind = "numbers"
        if all(re.fullmatch(r"\d{4}", labels[i]) for i in present):  # years
            times = _parse_dates([labels[i] for i in present], "%Y")
            if not times.isna().any():
                kind = "dates"
    elif present:
        times = _parse_dates([labels[i] for i in present])
        parsed = int(times.notna().sum())
        if parsed == len(present):
            kind = "dates"
        elif 2 * parsed > len(present) and parsed >= 2:  # mostly dates: a bad cell
            r = present[int(np.argmax(np.asarray(times.isna())))]
            raise InputError(
                f"{name}: {what} holds {labels[r]!r} in data row {r + 1}, not a date like the "
                "other times; fix or remove the row"
            )
        elif 2 * len(numbers) > len(present) and len(numbers) >= 2:  # mostly numbers
            r = next(i for i in present if i not in numbers)
            raise InputError(
                f"{name}: {what} holds {labels[r]!r} in data row {r + 1}, not a number like "
                "the other times; fix or remove the row"
            )
    if kind is None:
        example = f"e.g. {labels[present[0]]!r}" if present else "all empty"
        return _Axis(
            time=np.asarray(labels),
            labels=tuple(labels),
            notes=(
                f"time labels are not dates ({what}, {example}): rows kept in the order "
                "given, no frequency inferred",
            ),
        )
    if len(present) < n:
        holes = np.ones(n, bool)
        holes[present] = False
        raise _empty_time(name, what, int(np.argmax(holes)))
    if kind == "dates":
        return _dates(name, what, table.where, pd.DatetimeIndex(times), labels)
    keys = np.array([numbers[i] for i in range(n)])
    if not np.isfinite(keys).all():
        r = int(np.argmax(~np.isfinite(keys)))
        raise InputError(
            f"{name}: {what} holds {labels[r]!r} in data row {r + 1}, not a finite time; fix or "
            "remove the row"
        )
    order = _sort(name, keys, labels)
    notes = [f"{what} holds numbers, not dates: rows ordered by number, no frequency inferred"]
    if order is not None:
        notes.insert(0, _sorted_note(keys, table.where))
    sorted_labels = labels if order is None else [labels[i] for i in order]
    return _Axis(order, np.asarray(sorted_labels), tuple(sorted_labels), notes=tuple(notes))


def _label(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _empty_time(name: str, what: str, row: int) -> InputError:
    return InputError(
        f"{name}: {what} is empty in data row {row + 1}; every row needs a time (fill it in "
        "or remove the row)"
    )


def _parse_dates(labels: list[str], format: str | None = None) -> pd.DatetimeIndex:
    """Dates of the labels, NaT where one does not parse. A format is guessed (strictly:
    ``"t12"`` or ``"12"`` are no dates) from the first label and from the first labels that it
    fails on; the first format that parses every label wins, else each label takes the first
    format that parses it (a file of mixed formats). Quarters (``"2001Q1"``) parse as periods."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if format is None and all(_QUARTER.fullmatch(s) for s in labels):
            try:
                return pd.PeriodIndex(labels, freq="Q").to_timestamp(how="start")
            except (ValueError, TypeError):
                pass
        formats = [format] if format else []
        best = pd.DatetimeIndex([pd.NaT] * len(labels))
        tried = 0
        while tried < 6:
            if not formats:
                failing = np.nonzero(np.asarray(best.isna()))[0]
                if not len(failing):
                    break
                sample = labels[int(failing[0])]
                formats = [
                    f
                    for f in dict.fromkeys(
                        [guess_datetime_format(sample), guess_datetime_format(sample, True)]
                    )
                    if f
                ]
                if not formats:
                    break
            fmt = formats.pop(0)
            tried += 1
            times = _to_datetime(labels, fmt)
            if times is None:
                continue
            if not times.isna().any():
                return times
            if best.isna().all():
                best = times
            elif times.tz == best.tz:
                best = best.where(~best.isna(), times)
        return best


def _to_datetime(labels: list[str], fmt: str) -> pd.DatetimeIndex | None:
    for utc in (False, True):  # True: mixed time zones
        try:
            return pd.DatetimeIndex(pd.to_datetime(labels, errors="coerce", format=fmt, utc=utc))
        except Exception:  # out of bounds, mixed zones, and the like
            continue
    return None


def _sort(name: str, keys: np.ndarray, labels: Sequence[str]) -> np.ndarray | None:
    """The stable time order, None when the rows are in order; refuses a repeated time."""
    repeated = pd.Series(keys).duplicated(keep="first").to_numpy()
    if repeated.any():
        # the repeated time that the file reaches first (at its second occurrence)
        second = int(np.argmax(repeated))
        rows = [int(r) + 1 for r in np.nonzero(keys == keys[second])[0]]
        shown = rows if len(rows) <= 5 else rows[:4]
        rest = f"{rows[-1]}" if len(rows) <= 5 else f"{len(rows) - 4} more"
        listed = ", ".join(map(str, shown[:-1] if len(rows) <= 5 else shown)) + f" and {rest}"
        raise InputError(
            f"{name}: duplicate timestamp {labels[rows[0] - 1]} (data rows {listed}); each time "
            "must appear once"
        )
    order = np.argsort(keys, kind="stable")
    return None if (order == np.arange(len(keys))).all() else order


def _sorted_note(keys: np.ndarray, where: str) -> str:
    if len(keys) > 1 and (np.diff(keys) < 0).all():
        return f"rows sorted by time ({where} was newest first)"
    return f"rows sorted by time ({where} was not in time order)"


def _iso(times: pd.DatetimeIndex) -> list[str]:
    if times.tz is None and (times == times.normalize()).all():
        return list(times.strftime("%Y-%m-%d"))
    return [t.isoformat(sep=" ") for t in times]


def _dates(
    name: str, what: str, where: str, times: pd.DatetimeIndex, labels: Sequence[str]
) -> _Axis:
    keys = times.asi8
    order = _sort(name, keys, labels)
    notes = [] if order is None else [_sorted_note(keys, where)]
    if order is not None:
        times, labels = times[order], [labels[i] for i in order]
    naive = times.tz_localize(None) if times.tz is not None else times
    freq, frequency, season, unit, steps, note = _frequency(naive)
    gaps = ()
    if note:
        notes.append(note)
    if steps is not None:
        after = np.nonzero(steps > 1)[0]
        gaps = tuple((str(labels[i]), int(steps[i]) - 1) for i in after)
    if gaps:
        missing = sum(g for _, g in gaps)
        units = unit if missing != 1 else unit[:-1]
        where_first = " after" if len(gaps) == 1 else ", first after"
        count = f"{len(gaps)} gap{'s' if len(gaps) > 1 else ''}"
        notes.append(
            f"{count} in the {frequency} {what} ({missing} missing {units}{where_first} "
            f"{gaps[0][0]}); values are treated as consecutive steps"
        )
    return _Axis(
        order,
        times,
        tuple(str(s) for s in labels),
        frequency,
        freq,
        season,
        gaps,
        tuple(notes),
    )


def _frequency(t: pd.DatetimeIndex):
    """(alias, adjective, season, unit, steps between neighbours or None, note or None) of
    sorted distinct times: ``pandas.infer_freq``, else the most common step, with the steps
    counted on that calendar (months as months, business days as business days)."""
    none = (None, None, None, None, None)
    if len(t) < 3:
        return *none, f"only {len(t)} time(s): too few to infer a frequency"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            alias = pd.infer_freq(t)
        except (ValueError, TypeError):
            alias = None
    if alias:
        adjective, unit, season = _describe(_offset(alias))
        steps = np.ones(len(t) - 1, np.int64)
        return alias, adjective, season, unit, steps, None
    diffs = np.diff(t.asi8)
    counts = collections.Counter(diffs.tolist())
    mode = min(counts, key=lambda d: (-counts[d], d))
    kind = None
    if mode % _DAY == 0:
        days = mode // _DAY
        for low, high, k in ((365, 366, "Y"), (89, 92, "Q"), (28, 31, "M"), (7, 7, "W")):
            if low <= days <= high:
                kind = k
        weekend = (t.dayofweek >= 5).any()
        if days == 1 and not weekend and (diffs == 3 * _DAY).any():
            kind = "B"
    if kind in ("Y", "Q", "M", "W"):
        steps = np.diff(t.to_period(kind).asi8)
        alias = _anchored(t, steps) or {"W": f"W-{t[0].day_name()[:3].upper()}"}.get(kind, kind)
    elif kind == "B":
        days = t.values.astype("datetime64[D]")
        steps = np.busday_count(days[:-1], days[1:])
        alias = "B"
    else:
        steps = diffs // mode if (diffs % mode == 0).all() else np.zeros(1, np.int64)
        alias = to_offset(pd.Timedelta(int(mode), "ns")).freqstr
    if (steps < 1).any():
        step = str(pd.Timedelta(int(mode), "ns"))
        return *none, f"irregular time steps (most often {step}): no frequency inferred"
    adjective, unit, season = _describe(_offset(alias))
    if adjective is None:
        return *none, f"time steps of {alias}: no frequency inferred"
    return alias, adjective, season, unit, steps, None


def _anchored(t: pd.DatetimeIndex, steps: np.ndarray) -> str | None:
    """pandas' own alias from three consecutive times (``"MS"``, ``"W-SAT"``, ...), if any."""
    run = np.nonzero((steps[:-1] == 1) & (steps[1:] == 1))[0]
    if len(run) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.infer_freq(t[run[0] : run[0] + 3])
        except (ValueError, TypeError):
            return None


# --------------------------------------------------------------------------- filling, writing


def fill_missing(
    values: np.ndarray,
    how: str,
    *,
    columns: Sequence[str] | None = None,
    source: str | None = None,
) -> np.ndarray:
    """Fill NaN in each column of ``[time, features]``: ``interpolate`` (linear; the ends take
    the nearest value), ``ffill`` (a leading gap takes the first value), or ``zero``.
    ``columns`` and ``source`` (a file name) name a column that cannot be filled."""
    if how not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}; got {how!r}")
    out = np.array(values, np.float64)
    for c in range(out.shape[1]):
        col = out[:, c]
        nan = np.isnan(col)
        if not nan.any():
            continue
        if nan.all():
            column = repr(columns[c]) if columns is not None else str(c)
            prefix = f"{source}: " if source else ""
            raise InputError(
                f"{prefix}column {column} holds no values at all; nothing to fill from "
                "(remove the column or give it values)"
            )
        if how == "zero":
            col[nan] = 0.0
        elif how == "interpolate":
            idx = np.arange(len(col))
            col[nan] = np.interp(idx[nan], idx[~nan], col[~nan])
        else:  # ffill; a leading gap takes the first value
            filled = pd.Series(col).ffill().bfill()
            out[:, c] = filled.to_numpy()
    return out


def check_output_file(path: str | Path, what: str = "output") -> Path:
    """Refuse an output path that is a folder or sits under a file, before any work is done."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{what} {path}: {parent} is a file, not a folder")
    return path


def write_csv(path: str | Path, header: Sequence[str], rows) -> None:
    """Write rows atomically (a temporary file renamed over the target)."""
    path = check_output_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    tmp.replace(path)
