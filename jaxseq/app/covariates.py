"""Covariates: the columns a run reads beside its targets, and what is known of their future.

A run's input rows are, in this order (``[time, columns + 2 * len(calendar)]``)::

    targets | past covariates | future covariates | calendar sin/cos pairs

- *past-observed* covariates (``--covariates``) are known up to the forecast origin only: an
  ordinary input column, never read at or after the origin;
- *known-future* covariates (``--future-covariates``, a price plan, a promotion calendar) are
  known for the horizon too: each input step also carries the next ``horizon`` values as lead
  features (:func:`jaxseq.data.windows_at`), the last step exactly the horizon's;
- *calendar* features (``--calendar``, :mod:`jaxseq.app.calendar`) are sine/cosine pairs of the
  parsed time column: known-future columns computed from the dates, past the end of the series
  too (:func:`jaxseq.app.calendar.future_times`), so they need no rows in the file.

The series scaling standardises the file's columns with training statistics; calendar columns
are left as they are (identity): they already lie in ``[-1, 1]``, exact and known everywhere,
so statistics of the training part would add nothing but a dependence on where it ends.

To forecast with future covariates the file ends with trailing rows whose targets are empty and
whose future covariates are filled, at least ``horizon`` of them (the model reads the whole
horizon's lead features even for fewer steps). Those rows never enter a training window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from jaxseq import data
from jaxseq.app import calendar as cal
from jaxseq.app.io import Series, fill_missing, load_series
from jaxseq.app.runs import RunConfig
from jaxseq.errors import InputError


def resolve(
    header: Series,
    columns: Sequence[str] | None,
    targets: Sequence[str] | None,
    covariates: Sequence[str] | None,
    future_covariates: Sequence[str] | None,
    calendar: bool | str | Sequence[str] | None,
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """Check the covariate options against the file and order the input columns.

    Args:
        header: the file loaded with every column (missing values kept), for the names and the
            time axis.
        columns: extra input columns (``--column``); default, with covariates, none beyond them.
        targets: the columns to forecast (default the first input column, or the file's first).
        covariates, future_covariates: past-observed and known-future column names.
        calendar: ``True`` / ``"default"`` (:func:`jaxseq.app.calendar.default_features` of the
            time column's frequency), feature names, or ``None`` / ``False`` / ``[]`` (none).

    Returns:
        ``(columns, targets, covariates, future_covariates, calendar_features)``: ``columns``
        is targets, other inputs, past covariates, then future covariates, each once.

    Raises:
        InputError: an unknown column (the file's columns listed), a covariate that is also a
            target or named as both past and future, ``--calendar`` without a time column of
            dates, an unknown calendar feature.
    """
    known = list(header.columns)
    past, future = list(covariates or []), list(future_covariates or [])
    for flag, names in (("--covariates", past), ("--future-covariates", future)):
        for name in names:
            if name not in known:
                raise InputError(
                    f"{flag} names {name!r}, which is not a column of the file; columns are: "
                    f"{', '.join(known)}"
                )
        if len(set(names)) != len(names):
            raise InputError(f"{flag} names a column twice ({', '.join(names)}); name each once")
    both = [c for c in past if c in future]
    if both:
        raise InputError(
            f"{both[0]!r} is given as both a past (--covariates) and a future "
            "(--future-covariates) covariate; name it in one of them"
        )
    inputs = list(columns) if columns else []
    targets = list(targets or [inputs[0] if inputs else known[0]])
    for name in past + future:
        if name in targets:
            flag = "--covariates" if name in past else "--future-covariates"
            raise InputError(
                f"{flag} names {name!r}, which is the forecast target; a target is already an "
                "input: drop it from the covariates (or forecast another column with --target)"
            )
    ordered = list(dict.fromkeys(targets + inputs + past + future))
    ordered = [c for c in ordered if c not in past + future] + past + future
    return ordered, targets, past, future, calendar_features(header, calendar)


def calendar_features(series: Series, calendar) -> list[str]:
    """The calendar feature names of ``--calendar`` for a series (see :func:`resolve`)."""
    if not calendar:
        return []
    if not isinstance(series.time, pd.DatetimeIndex):
        raise InputError(
            "--calendar needs a time column of dates: give --time-column naming a column of "
            "dates (or drop --calendar)"
        )
    if calendar is True or calendar == "default":
        features = cal.default_features(series.frequency)
        if not features:
            raise InputError(
                f"--calendar: a {series.frequency or 'irregular'} series has no default calendar "
                f"features; name them (--calendar month,quarter; from {', '.join(cal.FEATURES)})"
            )
        return list(features)
    names = [calendar] if isinstance(calendar, str) else list(calendar)
    cal.calendar_features(series.time[:1], names)  # unknown or repeated names are refused here
    return names


def load(
    config: RunConfig, source=None, *, allow_missing: bool = False
) -> tuple[Series, np.ndarray]:
    """The run's columns from ``source`` (default: the training file), split at the last row
    with a target value.

    Returns:
        ``(series, future)``: ``series`` the rows up to the last target value (checked and filled
        as :func:`jaxseq.app.io.load_series` does), ``future`` ``[rows, columns]`` float64, the
        trailing rows whose targets are all empty (NaN where a cell is empty), in data units;
        ``[0, columns]`` for a run without future covariates, whose file is loaded as it is.
    """
    path = config.data if source is None else source
    if not config.future_covariates:
        series = load_series(
            path,
            config.columns,
            time_column=config.time_column,
            fill=config.fill,
            allow_missing=allow_missing,
        )
        return series, np.zeros((0, len(config.columns)))
    raw = load_series(path, config.columns, time_column=config.time_column, allow_missing=True)
    empty = np.isnan(raw.values[:, config.target_indices]).all(axis=1)
    end = len(empty) - int(np.argmin(empty[::-1])) if not empty.all() else 0
    if end == 0:
        raise InputError(
            f"{_name(path)}: the target column(s) {', '.join(config.targets)} hold no values"
        )
    series = _rows(raw, end)
    nan = np.isnan(series.values)
    if nan.any() and not allow_missing:
        if config.fill is None:
            row, col = np.argwhere(nan)[0]
            raise InputError(
                f"{_name(path)}: {int(nan.sum())} missing value(s) before the forecast rows "
                f"(first in column {config.columns[col]!r}, at {series.time_labels()[row]}); "
                "pass --fill interpolate|ffill|zero to fill them, or remove them"
            )
        values = fill_missing(series.values, config.fill, columns=config.columns)
        series = dataclasses.replace(series, values=values.astype(np.float32), filled=nan)
    return series, np.asarray(raw.values[end:], np.float64)


def rows(config: RunConfig, series: Series) -> np.ndarray:
    """The model's input rows of ``series`` in data units: the file's columns, then the
    calendar's sine/cosine columns. ``[time, columns + 2 * len(calendar)]``."""
    if not config.calendar:
        return series.values
    _, values = cal.for_series(series, config.calendar)
    return np.concatenate([series.values, values], axis=1)


def scale_rows(config: RunConfig, scaler: data.Scaler, values: np.ndarray) -> np.ndarray:
    """Input rows ``[time, columns + calendar]`` in the model's units: the file's columns
    standardised by ``scaler``, the calendar columns as they are (identity). float32."""
    n = len(config.columns)
    values = np.asarray(values)
    scaled = scaler.transform(values[:, :n])
    return np.concatenate([scaled, values[:, n:].astype(np.float32)], axis=1)


def inputs(config: RunConfig, series: Series, scaler: data.Scaler) -> np.ndarray:
    """:func:`rows` of ``series`` scaled (:func:`scale_rows`): what
    :func:`jaxseq.data.windows_at` cuts. ``[time, columns + 2 * len(calendar)]`` float32."""
    return scale_rows(config, scaler, rows(config, series))


def future_rows(config: RunConfig, series: Series, future: np.ndarray) -> np.ndarray:
    """The ``horizon`` rows after ``series`` a forecast reads, in data units: ``[horizon,
    columns + 2 * len(calendar)]``, the future covariates from the trailing rows ``future``
    (:func:`load`), the calendar from :func:`jaxseq.app.calendar.future_times`, NaN elsewhere (the
    targets and past covariates, which are never read at or after the origin).

    Raises:
        InputError: a future covariate without a value for one of the horizon's steps (the
            column, the rows needed and the fix are named).
    """
    h = config.horizon
    rows = np.full((h, len(config.columns) + config.calendar_columns), np.nan)
    for name in config.future_covariates:
        j = config.columns.index(name)
        have = np.asarray(future[:h, j], np.float64)
        given = int(np.isfinite(have).sum())
        if len(have) < h or given < h:
            last = series.time_labels()[-1]
            raise InputError(
                f"future covariate {name!r} has {given} of the {h} values the forecast needs "
                f"(the model reads its whole horizon): end the file with {h} rows after the last "
                f"target value ({last}), the target empty and {name!r} filled"
            )
        rows[:, j] = have
    if config.calendar:
        _, values = cal.for_series(series, config.calendar, extra_steps=h)
        rows[:, len(config.columns) :] = values[len(series.values) :]
    return rows


def _rows(series: Series, end: int) -> Series:
    """The first ``end`` rows of a series (values, time axis, filled mask, labels)."""
    return dataclasses.replace(
        series,
        values=series.values[:end],
        time=None if series.time is None else series.time[:end],
        filled=None if series.filled is None else series.filled[:end],
        labels=None if series.labels is None else series.labels[:end],
    )


def _name(source) -> str:
    return Path(source).name if isinstance(source, str | Path) else "the data"
