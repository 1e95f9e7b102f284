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
  defeat it) and mapped to a default season (:func:`jaxseq.app.frequency.default_season`:
  weekly 52, monthly 12, ...);
* gaps (steps missing for that frequency) are counted in ``Series.gaps`` and described in
  ``Series.notes``; no rows are inserted, the values stay consecutive steps;
* values beyond +-1e18 are refused: float32 arithmetic on them (squares in scaling and losses,
  window sums) overflows.

This module reads the files and checks the values; the time axis is parsed by
:mod:`jaxseq.app.timeaxis`, frequencies and seasons are named by :mod:`jaxseq.app.frequency`.
"""

from __future__ import annotations

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

from jaxseq.app.timeaxis import MISSING, TimeAxis, iso_labels, time_axis
from jaxseq.errors import InputError

LOG = logging.getLogger("jaxseq")
LOG.propagate = False  # notes reach the command line (or a handler you add), not root logs
LOG.addHandler(logging.NullHandler())
FILLS = ("interpolate", "ffill", "zero")


def check_fill(fill: str) -> str:
    """``fill`` if it is one of :data:`FILLS`, else the error naming them."""
    if fill not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}; got {fill!r}")
    return fill


# |value| beyond this is refused: its square (scaling, squared losses) exceeds float32's 3.4e38
VALUE_LIMIT = 1e18
PARQUET_SUFFIXES = (".parquet", ".pq")


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
            return iso_labels(self.time)
        return [str(t) for t in self.time]


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
    if fill is not None:
        check_fill(fill)
    if isinstance(path, pd.DataFrame | pd.Series | np.ndarray) or (
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
        return _from_memory(read_parquet_frame(path), time_column, path.name)
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


def read_parquet_frame(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame, with one clear error for a missing pyarrow or a damaged
    file (the loaders of one series and of panels both read through it)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(
            f"{path.name}: reading Parquet needs pyarrow (pip install pyarrow); or save the "
            "data as CSV"
        ) from None
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as error:  # pyarrow raises many types for a damaged file
        raise InputError(
            f"{path.name} is not a readable Parquet file ({type(error).__name__})"
        ) from None


def _read_csv(path: Path) -> _Table:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not a text (UTF-8) CSV file") from None
    if "\x00" in text:
        raise InputError(f"{name} is not a text CSV file (it holds NUL bytes)")
    lines = _trimmed_lines(text)
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
                skip_blank_lines=False,  # a blank line inside the data is a row, never dropped
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
    blank = body.isna().all(axis=1).to_numpy()  # a blank line: every field None
    if blank.any() and len(header) == 1:
        body = body.fillna("")  # one column: pandas writes a missing value as a blank line
    elif blank.any():
        rows = [int(r) + 1 for r in np.flatnonzero(blank)]
        raise InputError(
            f"{name}: data row(s) {_listed(rows)} are blank in a file of {len(header)} "
            "columns; write the missing cells between the delimiters or remove the rows"
        )
    short = body.isna().any(axis=1).to_numpy()  # None: a row with fewer fields
    if short.any():
        r = int(np.argmax(short))
        fields = int(body.iloc[r].notna().sum())
        raise InputError(
            f"{name}: data row {r + 1} has {fields} field(s), the header has {len(header)}"
        )
    return _Table(name, body.set_axis(header, axis=1), text=True)


def _trimmed_lines(text: str) -> list[str]:
    """The file's lines without the blank ones before the header and after the last row;
    blank lines between rows stay (they are rows of missing values)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    return lines[first:]


def _listed(rows: list[int], most: int = 5) -> str:
    """``1, 4, 9`` or ``1, 4, 9, 12, 15 and 7 more``."""
    shown = ", ".join(str(r) for r in rows[:most])
    return shown + (f" and {len(rows) - most} more" if len(rows) > most else "")


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


def _axis_of(table: _Table, time_column: str | None) -> TimeAxis:
    """The table's time axis: its time column, else its time index, else none."""
    if time_column is not None:
        what = f"time column {time_column!r}"
        return time_axis(table.name, table.frame[time_column], what, table.where)
    if table.index_time is not None:
        return time_axis(table.name, table.index_time, "time index", table.where)
    return TimeAxis()


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
        if time_column is not None and header == [time_column]:
            raise InputError(
                f"{name} holds only the time column {time_column!r}; it needs at least one "
                "value column beside it"
            )
        raise InputError(f"{name} holds no data columns; it needs at least one value column")

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

    axis = _axis_of(table, time_column)
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


# --------------------------------------------------------------------------- filling, writing


def fill_missing(
    values: np.ndarray,
    how: str,
    *,
    columns: Sequence[str] | None = None,
    source: str | None = None,
    causal_from: int | None = None,
) -> np.ndarray:
    """Fill NaN in each column of ``[time, features]``: ``interpolate`` (linear; the ends take
    the nearest value), ``ffill`` (a leading gap takes the first value), or ``zero``.
    ``columns`` and ``source`` (a file name) name a column that cannot be filled.

    With ``causal_from`` (the first validation target, ``Protocol.train_end``) no value at or
    after it is read to fill anything: a gap from there on takes the last value before it
    (``interpolate`` and ``ffill`` alike), and interpolation inside the training part draws on
    the training part's values alone. Then nothing forecast from an origin was filled from a
    value at or after that origin."""
    check_fill(how)
    out = np.array(values, np.float64)
    end = len(out) if causal_from is None else int(causal_from)
    for c in range(out.shape[1]):
        col = out[:, c]
        nan = np.isnan(col)
        if not nan.any():
            continue
        if nan.all() or (how != "zero" and causal_from is not None and nan[:end].all()):
            column = repr(columns[c]) if columns is not None else str(c)
            prefix = f"{source}: " if source else ""
            where = "at all" if nan.all() else "in its training part"
            raise InputError(
                f"{prefix}column {column} holds no values {where}; nothing to fill from "
                "(remove the column or give it values)"
            )
        if how == "zero":
            col[nan] = 0.0
            continue
        if how == "interpolate":
            idx = np.arange(end)
            known = ~nan[:end]
            col[:end][~known] = np.interp(idx[~known], idx[known], col[:end][known])
        # ffill, and every gap from `end` on; a leading gap takes the first value
        out[:, c] = pd.Series(col).ffill().bfill().to_numpy()
    return out


def refill(series: Series, how: str | None, causal_from: int) -> Series:
    """``series`` filled again without reading a value at or after ``causal_from``
    (:func:`fill_missing`): the values a fill made up (``series.filled``) set back to missing
    and filled causally. Unchanged without a fill or a gap."""
    if how is None or series.filled is None or not np.asarray(series.filled).any():
        return series
    values = np.where(series.filled, np.nan, np.asarray(series.values, np.float64))
    filled = fill_missing(values, how, columns=series.columns, causal_from=causal_from)
    return dataclasses.replace(series, values=filled.astype(np.float32))


def check_output_file(path: str | Path, what: str = "output") -> Path:
    """Refuse an output path that is a folder or sits under a file, before any work is done."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(
                f"{what} {path}: {parent} is a file, not a folder; give a path inside a folder"
            )
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
