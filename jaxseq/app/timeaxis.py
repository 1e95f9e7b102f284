"""The time axis of a loaded table: time labels parsed as dates or numbers, sorted, checked.

:func:`time_axis` turns a time column (or a ``DatetimeIndex``/``PeriodIndex``) into a
:class:`TimeAxis`:

* labels that all parse as dates (``"1871"``, ``"2001-12"``, ``"1958-03-29"``, ``"2001Q1"``,
  ISO date-times, ...) or all are numbers give the stable sort order of the rows; duplicate
  times and empty or unparseable cells are refused with the data row; labels that are neither
  (``"t0"``, ``"t1"``) keep the file order;
* dates get a frequency and a default season (:mod:`jaxseq.app.frequency`), and the gaps
  (steps missing for that frequency) are counted; no rows are inserted;
* what was done is said in ``notes``, sentences for the user.

:func:`jaxseq.app.io.load_series` applies the axis to the values it read.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from jaxseq.app.frequency import infer as infer_frequency
from jaxseq.errors import InputError

# cell texts (lower case, stripped) read as missing, in time and value columns alike
MISSING = {"", "nan", "na", "n/a", "null", "none", "?"}

_QUARTER = re.compile(r"\d{4}[- ]?Q[1-4]", re.IGNORECASE)


@dataclasses.dataclass
class TimeAxis:
    """The rows' time order and what it is: ``order`` (a permutation that sorts the rows,
    None when they are in order), ``time`` (a ``DatetimeIndex`` of sorted dates, an array of
    labels, or None without a time axis), ``labels`` (one string per sorted row), the
    ``frequency`` (``"weekly"``, ...), pandas' ``freq`` alias, the default ``season``, the
    ``gaps`` (``(label before the gap, missing steps)`` each) and the ``notes``."""

    order: np.ndarray | None = None
    time: pd.DatetimeIndex | np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    frequency: str | None = None
    freq: str | None = None
    season: int | None = None
    gaps: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()


def time_axis(name: str, source, what: str, where: str = "the file") -> TimeAxis:
    """The time axis of ``source`` (a column of time labels, a ``DatetimeIndex`` or a
    ``PeriodIndex``). ``name`` (the file) and ``what`` (``"time column 'date'"``) start every
    message; ``where`` (``"the file"``, ``"the DataFrame"``) says what a note's rows were in.
    Refuses an empty, unparseable or repeated time with :class:`InputError`."""
    n = len(source)
    if isinstance(source, pd.PeriodIndex) or isinstance(
        getattr(source, "dtype", None), pd.PeriodDtype
    ):
        periods = pd.PeriodIndex(source)
        empty = np.asarray(periods.isna())
        if empty.any():
            raise _empty_time(name, what, int(np.argmax(empty)))
        labels = [str(p) for p in periods]
        return _dates(name, what, where, periods.to_timestamp(how="start"), labels)
    if pd.api.types.is_datetime64_any_dtype(getattr(source, "dtype", None)):
        times = pd.DatetimeIndex(source)
        empty = np.asarray(times.isna())
        if empty.any():
            raise _empty_time(name, what, int(np.argmax(empty)))
        return _dates(name, what, where, times, iso_labels(times))
    labels = [cell_label(v) for v in np.asarray(source, dtype=object)]
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
        return TimeAxis(
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
        return _dates(name, what, where, pd.DatetimeIndex(times), labels)
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
        notes.insert(0, _sorted_note(keys, where))
    sorted_labels = labels if order is None else [labels[i] for i in order]
    return TimeAxis(order, np.asarray(sorted_labels), tuple(sorted_labels), notes=tuple(notes))


def cell_label(value) -> str:
    """A cell as a stripped label string: ``""`` when it is missing (None, NA, NaT, NaN);
    whole floats without their ``.0`` (``2001.0`` -> ``"2001"``)."""
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


def iso_labels(times: pd.DatetimeIndex) -> list[str]:
    """ISO labels of dates: ``2001-12-29``, with the time of day (and zone) only when there
    is one."""
    if times.tz is None and (times == times.normalize()).all():
        return list(times.strftime("%Y-%m-%d"))
    return [t.isoformat(sep=" ") for t in times]


def _dates(
    name: str, what: str, where: str, times: pd.DatetimeIndex, labels: Sequence[str]
) -> TimeAxis:
    keys = times.asi8
    order = _sort(name, keys, labels)
    notes = [] if order is None else [_sorted_note(keys, where)]
    if order is not None:
        times, labels = times[order], [labels[i] for i in order]
    naive = times.tz_localize(None) if times.tz is not None else times
    freq, frequency, season, unit, steps, note = infer_frequency(naive)
    gaps: tuple[tuple[str, int], ...] = ()
    if note:
        notes.append(note)
    if steps is not None:
        after = np.nonzero(steps > 1)[0]
        gaps = tuple((str(labels[int(i)]), int(steps[i]) - 1) for i in after)
    if gaps:
        missing = sum(g for _, g in gaps)
        units = unit if missing != 1 else unit[:-1]
        where_first = " after" if len(gaps) == 1 else ", first after"
        count = f"{len(gaps)} gap{'s' if len(gaps) > 1 else ''}"
        notes.append(
            f"{count} in the {frequency} {what} ({missing} missing {units}{where_first} "
            f"{gaps[0][0]}); values are treated as consecutive steps"
        )
    return TimeAxis(
        order,
        times,
        tuple(str(s) for s in labels),
        frequency,
        freq,
        season,
        gaps,
        tuple(notes),
    )
