"""Reading a user's series from CSV or ``.npy``, with missing values refused or filled on request.

Hand-written on the csv module rather than pandas: the only job is columns of numbers with a
header, and every failure must become one sentence that names the file, the column and the row.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jaxseq.errors import InputError

MISSING = {"", "nan", "na", "n/a", "null", "none", "?"}
FILLS = ("interpolate", "ffill", "zero")


@dataclasses.dataclass(frozen=True)
class Series:
    """A loaded series: ``values`` ``[time, features]`` float32, the column names, optional time
    labels (strings, from ``time_column``) and a ``[time, features]`` mask of the values filled."""

    values: np.ndarray
    columns: tuple[str, ...]
    time: np.ndarray | None = None
    filled: np.ndarray | None = None

    def column_index(self, name: str) -> int:
        if name not in self.columns:
            raise InputError(f"no column {name!r}; columns are: {', '.join(self.columns)}")
        return self.columns.index(name)


def load_series(
    path: str | Path,
    columns: Sequence[str] | None = None,
    *,
    time_column: str | None = None,
    fill: str | None = None,
    allow_missing: bool = False,
) -> Series:
    """Load numeric columns of a CSV (with a header row) or a ``.npy`` array.

    Args:
        path: ``.csv`` (or any delimited text with a header) or ``.npy`` (1-D or 2-D numbers;
            its columns are named ``"0"``, ``"1"``, ...).
        columns: the columns to read, in order; default every column except ``time_column``.
        time_column: a column of time labels, kept as strings for the outputs.
        fill: what to do with missing values (empty cells, NaN, NA): ``None`` refuses them;
            ``"interpolate"`` (linear in the row index), ``"ffill"`` (last value carried
            forward) or ``"zero"``.
        allow_missing: keep missing values as NaN (for imputation) instead of refusing them.
    """
    path = Path(path)
    if fill is not None and fill not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}; got {fill!r}")
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, expected a .csv or .npy file")
    if path.suffix == ".npy":
        if time_column is not None:
            raise InputError(
                f"{path.name}: a .npy array has no named columns; time_column applies to CSV files"
            )
        names, time, values = _read_npy(path)
    else:
        names, time, values = _read_csv(path, time_column, columns)
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise InputError(
                f"{path.name}: no column {missing[0]!r}; columns are: {', '.join(names)}"
            )
        index = [names.index(c) for c in columns]
        values, names = values[:, index], [names[i] for i in index]
    if values.shape[0] == 0:
        raise InputError(f"{path.name} holds no rows of data")
    if values.shape[1] == 0:
        raise InputError(f"{path.name} holds no data columns (only a time column?)")
    nan = np.isnan(values)
    filled = None
    if nan.any():
        if fill is None and not allow_missing:
            col, row = _first_missing(nan)
            raise InputError(
                f"{path.name}: {int(nan.sum())} missing value(s) (first in column {names[col]!r}, "
                f"data row {row + 1}); pass --fill interpolate|ffill|zero to fill them, or "
                "remove them"
            )
        if fill is not None:
            values, filled = fill_missing(values, fill), nan
    # inf, or finite in float64 but beyond float32 (the computations run in float32)
    too_big = np.abs(values) > np.finfo(np.float32).max
    if too_big.any():
        col, row = _first_missing(too_big)
        where = f"in column {names[col]!r}, data row {row + 1}"
        if np.isinf(values[row, col]):
            raise InputError(f"{path.name}: infinite value {where}")
        raise InputError(
            f"{path.name}: value {float(values[row, col]):g} {where} is too large for float32; "
            "rescale the data"
        )
    return Series(values.astype(np.float32), tuple(names), time, filled)


def _first_missing(mask: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(mask)
    k = np.lexsort((cols, rows))[0]
    return int(cols[k]), int(rows[k])


def _read_npy(path: Path):
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as error:  # numpy raises many types for a damaged file
        raise InputError(
            f"{path.name} is not a readable .npy array ({type(error).__name__})"
        ) from None
    if not isinstance(array, np.ndarray):  # an .npz archive under a .npy name
        raise InputError(f"{path.name} is an archive of arrays, expected one .npy array")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{path.name} holds {array.dtype} values, expected real numbers")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(
            f"{path.name} must be 1-D [time] or 2-D [time, features], got shape {array.shape}"
        )
    return [str(i) for i in range(array.shape[1])], None, array.astype(np.float64)


def _read_csv(path: Path, time_column: str | None, wanted: Sequence[str] | None = None):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not a text (UTF-8) CSV file") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path.name} is empty")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(lines, dialect))
    except csv.Error as error:
        raise InputError(f"{path.name} is not a readable CSV file ({error})") from None
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        raise InputError(f"{path.name}: repeated column names in the header: {header}")
    if all(_is_number(h) for h in header):
        raise InputError(
            f"{path.name}: the first row must be a header of column names, got {header}"
        )
    if len(rows) < 2:
        raise InputError(f"{path.name} has a header but no data rows")
    if time_column is not None and time_column not in header:
        raise InputError(
            f"{path.name}: no time column {time_column!r}; columns are: {', '.join(header)}"
        )
    if wanted:
        unknown = [c for c in wanted if c not in header]
        if unknown:
            raise InputError(
                f"{path.name}: no column {unknown[0]!r}; columns are: {', '.join(header)}"
            )
        names = list(wanted)
    else:
        names = [h for h in header if h != time_column]
    values = np.empty((len(rows) - 1, len(names)), np.float64)
    time = [] if time_column is not None else None
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise InputError(
                f"{path.name}: data row {r + 1} has {len(row)} field(s), the header has {len(header)}"
            )
        cells = dict(zip(header, row, strict=True))
        if time is not None:
            time.append(cells[time_column].strip())
        for c, name in enumerate(names):
            values[r, c] = _parse(cells[name], path, name, r)
    return names, None if time is None else np.asarray(time), values


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _parse(cell: str, path: Path, column: str, row: int) -> float:
    cell = cell.strip()
    if cell.lower() in MISSING:
        return np.nan
    try:
        return float(cell)
    except ValueError:
        raise InputError(
            f"{path.name}: column {column!r} is not numeric (data row {row + 1} holds {cell!r})"
        ) from None


def fill_missing(values: np.ndarray, how: str) -> np.ndarray:
    """Fill NaN in each column of ``[time, features]``: ``interpolate`` (linear; the ends take
    the nearest value), ``ffill`` (a leading gap takes the first value), or ``zero``."""
    out = np.array(values, np.float64)
    for c in range(out.shape[1]):
        col = out[:, c]
        nan = np.isnan(col)
        if not nan.any():
            continue
        if nan.all():
            raise InputError(f"column {c} holds no values at all; nothing to fill from")
        if how == "zero":
            col[nan] = 0.0
        elif how == "interpolate":
            idx = np.arange(len(col))
            col[nan] = np.interp(idx[nan], idx[~nan], col[~nan])
        elif how == "ffill":
            last = col[np.argmax(~nan)]
            for i in range(len(col)):
                if np.isnan(col[i]):
                    col[i] = last
                else:
                    last = col[i]
        else:
            raise InputError(f"fill must be one of {', '.join(FILLS)}; got {how!r}")
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
