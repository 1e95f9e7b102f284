"""Calendar features (hour of day, day of week, month, ...) from a parsed time axis.

Each feature is a position in a cycle, written as a sine/cosine pair so that the end of a
cycle sits next to its start (December next to January, 23:00 next to midnight): for a
zero-based value ``v`` with period ``P``, the columns ``<feature>_sin = sin(2*pi*v/P)`` and
``<feature>_cos = cos(2*pi*v/P)``.

============== ==================================== ==========================================
feature        v (zero-based)                       P
============== ==================================== ==========================================
hour           time of day in hours (``13:30`` 13.5) 24
day_of_week    Monday 0 ... Sunday 6                7
day_of_month   day - 1                              days in that month (28 ... 31)
day_of_year    day of the year - 1                  365, or 366 in a leap year
week_of_year   ISO week - 1                         ISO weeks in that ISO year (52 or 53)
month          January 0 ... December 11            12
quarter        Q1 0 ... Q4 3                        4
============== ==================================== ==========================================

The time axis is the one :func:`jaxseq.app.io.load_series` parses (``Series.time``, a
``pandas.DatetimeIndex``); :func:`for_series` also reaches past the end of a series, so that a
forecast can read the calendar of its horizon.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from jaxseq.app import io
from jaxseq.app.frequency import describe_offset, parse_offset
from jaxseq.errors import InputError, check_positive_int

FEATURES = (
    "hour",
    "day_of_week",
    "day_of_month",
    "day_of_year",
    "week_of_year",
    "month",
    "quarter",
)

# the unit of one step (as jaxseq.app.io names it) -> the features that vary within it, and help
_BY_UNIT = {
    "second": ("hour", "day_of_week"),
    "minute": ("hour", "day_of_week"),
    "hour": ("hour", "day_of_week"),
    "day": ("day_of_week", "day_of_year"),
    "business day": ("day_of_week", "day_of_year"),
    "week": ("week_of_year",),
    "half-month": ("day_of_month", "month"),
    "month": ("month",),
    "quarter": ("quarter",),
    "year": (),
}
# Series.frequency names (jaxseq.app.frequency.KINDS, SPECIAL and NAMED) -> the unit of one step
_UNIT_OF = {
    "yearly": "year",
    "annual": "year",
    "half-yearly": "month",
    "quarterly": "quarter",
    "monthly": "month",
    "semi-monthly": "half-month",
    "fortnightly": "week",
    "weekly": "week",
    "business-daily": "business day",
    "daily": "day",
    "hourly": "hour",
    "half-hourly": "minute",
    "quarter-hourly": "minute",
    "minutely": "minute",
    "secondly": "second",
}
_EVERY = re.compile(r"every \d+ (.+)s")  # io's "every 2 days", "every 3 business days", ...


def default_features(frequency: str | None) -> tuple[str, ...]:
    """The calendar features that vary within a frequency's cycle and are useful for it.

    Sub-daily steps (hourly, half-hourly, minutely, ...) get ``hour`` and ``day_of_week``;
    daily and business-daily steps ``day_of_week`` and ``day_of_year``; weekly steps
    ``week_of_year``; semi-monthly ``day_of_month`` and ``month``; monthly (and half-yearly)
    ``month``; quarterly ``quarter``; yearly steps and ``None`` none: ``()``.

    Args:
        frequency: a ``Series.frequency`` name (``"weekly"``, ``"every 2 hours"``, ...) or a
            pandas alias (``"W-SAT"``, ``"MS"``, ``"QS-OCT"``, ``"30min"``, ...), or None.

    Returns:
        Feature names, a subset of :data:`FEATURES`; ``()`` for yearly or None.
    """
    if frequency is None:
        return ()
    key = str(frequency).strip().lower()
    unit = _UNIT_OF.get(key)
    if unit is None and (every := _EVERY.fullmatch(key)):
        unit = every.group(1)
    if unit is None and (offset := parse_offset(str(frequency).strip())) is not None:
        adjective, _, _ = describe_offset(offset)
        if adjective is not None:
            return default_features(adjective)
    if unit not in _BY_UNIT:
        raise InputError(
            f"frequency {frequency!r} is not a frequency jaxseq knows; give a Series.frequency "
            f"name ({', '.join(_UNIT_OF)}) or a pandas alias like 'MS', or name the features"
        )
    return _BY_UNIT[unit]


def calendar_features(
    times: pd.DatetimeIndex,
    features: Sequence[str] | None = None,
    *,
    frequency: str | None = None,
) -> tuple[tuple[str, ...], np.ndarray]:
    """Sine/cosine calendar features of each time.

    Args:
        times: ``[time]`` dates (a ``pandas.DatetimeIndex``, or anything of datetime64 dtype);
            time zone aware dates are read in their own zone.
        features: names from :data:`FEATURES` (one name may be given as a string); default
            :func:`default_features` of ``frequency``.
        frequency: the data's frequency, for the default features; default the frequency
            pandas infers from ``times``.

    Returns:
        ``(names, values)``: ``names`` ``("month_sin", "month_cos", ...)``, two per feature,
        and ``values`` float32 ``[time, 2 * len(features)]``.

    Raises:
        InputError: ``times`` are not dates or hold NaT; an unknown or repeated feature; no
            features given and none for the frequency (yearly or undated).
    """
    times = _dates(times, "times")
    features = _features(features, frequency, times)
    names = tuple(f"{f}_{part}" for f in features for part in ("sin", "cos"))
    if not features:
        return names, np.zeros((len(times), 0), np.float32)
    angles = np.stack([2 * np.pi * _cycle(times, f) for f in features], axis=1)
    out = np.empty((len(times), 2 * len(features)), np.float64)
    out[:, 0::2], out[:, 1::2] = np.sin(angles), np.cos(angles)
    return names, out.astype(np.float32)


def future_times(times: pd.DatetimeIndex, freq: str, steps: int) -> pd.DatetimeIndex:
    """The ``steps`` times after the last of ``times``, at the pandas frequency ``freq``.

    Args:
        times: ``[time]`` dates in time order (only the last one is read).
        freq: a pandas frequency alias, as ``Series.freq`` holds it (``"W-SAT"``, ``"MS"``,
            ``"QS-OCT"``, ``"h"``, ...).
        steps: how many times to continue with (0 gives an empty index).

    Returns:
        ``[steps]`` ``pandas.DatetimeIndex`` (from ``pandas.date_range``), in the time zone of
        ``times``.
    """
    times = _dates(times, "times")
    steps = check_positive_int("steps", steps, minimum=0)
    if freq is None:
        raise InputError(
            "freq is None: the series has no inferred frequency (too few times, or irregular "
            "steps); pass a pandas frequency alias like 'MS' or 'W-SAT'"
        )
    offset = parse_offset(str(freq))
    if offset is None:
        raise InputError(
            f"freq {freq!r} is not a pandas frequency alias; give one like 'D', 'W-SAT', 'MS' "
            "or 'QS-OCT' (Series.freq holds the one inferred for a series)"
        )
    if len(times) == 0:
        raise InputError("times is empty; future_times continues from the last time")
    last = times[-1]
    if not offset.is_on_offset(last):
        raise InputError(
            f"times end at {last}, which is not on the frequency freq={freq!r}; give the freq "
            "the times were made at (Series.freq)"
        )
    return pd.date_range(start=last + offset, periods=steps, freq=offset)


def for_series(
    series: io.Series,
    features: Sequence[str] | None = None,
    *,
    extra_steps: int = 0,
) -> tuple[tuple[str, ...], np.ndarray]:
    """Calendar features of every row of a series and of ``extra_steps`` steps past its end.

    Args:
        series: a :class:`jaxseq.app.io.Series` loaded with a time column of dates.
        features: names from :data:`FEATURES`; default :func:`default_features` of
            ``series.frequency``.
        extra_steps: steps past the last row (a forecast horizon), at ``series.freq``.

    Returns:
        ``(names, values)``: two names per feature and float32
        ``[len(series.values) + extra_steps, 2 * len(features)]``.
    """
    if not isinstance(series, io.Series):
        raise InputError(
            f"series must be a jaxseq.app.io.Series (from load_series), got {type(series).__name__}"
        )
    extra_steps = check_positive_int("extra_steps", extra_steps, minimum=0)
    times = _dates(series.time, "the series' time axis")
    if extra_steps:
        if series.freq is None:
            raise InputError(
                f"extra_steps={extra_steps} needs the series' frequency, and none was inferred "
                "from its time column (too few times, or irregular steps); use extra_steps=0 "
                "or call future_times with a freq"
            )
        times = times.append(future_times(times, series.freq, extra_steps))
    if features is None:
        features = _features(None, series.frequency, times)
    return calendar_features(times, features)


# --------------------------------------------------------------------------- helpers


def _dates(times, what: str) -> pd.DatetimeIndex:
    """``times`` as a DatetimeIndex, or an InputError naming ``what`` and its labels."""
    if times is None:
        raise InputError(
            f"calendar features need a time column of dates; {what} is empty (no time column): "
            "load the series with time_column= naming a column of dates"
        )
    if not isinstance(times, pd.DatetimeIndex):
        dtype = getattr(times, "dtype", None)
        if dtype is None or not pd.api.types.is_datetime64_any_dtype(dtype):
            shown = ", ".join(repr(_short(t)) for t in list(np.asarray(times).ravel()[:3]))
            raise InputError(
                f"calendar features need a time column of dates; {what} has labels like "
                f"{shown or 'none'}: load the series with time_column= naming a column of dates "
                "(or parse the labels with pandas.to_datetime)"
            )
        times = pd.DatetimeIndex(times)
    missing = np.asarray(times.isna())
    if missing.any():
        raise InputError(
            f"{what} holds NaT (a missing time) at index {int(np.argmax(missing))}; every "
            "step needs a date"
        )
    return times


def _short(value):
    value = value.item() if isinstance(value, np.generic) else value
    return value if not isinstance(value, str) or len(value) <= 20 else value[:20] + "..."


def _features(
    features: Sequence[str] | None, frequency: str | None, times: pd.DatetimeIndex
) -> tuple[str, ...]:
    """The checked feature names: those given, or the defaults of the frequency."""
    if features is None:
        if frequency is None:
            frequency = _inferred(times)
        chosen = default_features(frequency)
        if not chosen:
            raise InputError(
                f"no calendar features for frequency {frequency!r}: a yearly or undated series "
                "has no calendar features; give a time column with dates at a finer frequency "
                f"(or name the features, from {', '.join(FEATURES)})"
            )
        return chosen
    features = (features,) if isinstance(features, str) else tuple(features)
    if not features:
        raise InputError(f"features is empty; name one or more of {', '.join(FEATURES)}")
    for name in features:
        if name not in FEATURES:
            raise InputError(
                f"features names {name!r}, which is no calendar feature; features are: "
                f"{', '.join(FEATURES)}"
            )
    repeated = [f for i, f in enumerate(features) if f in features[:i]]
    if repeated:
        raise InputError(f"features names {repeated[0]!r} twice; name each feature once")
    return features


def _inferred(times: pd.DatetimeIndex) -> str | None:
    """The pandas alias of evenly spaced ``times``, else None."""
    if times.freqstr is not None:
        return times.freqstr
    if len(times) < 3:
        return None
    try:
        return pd.infer_freq(times)
    except (TypeError, ValueError):
        return None


def _cycle(times: pd.DatetimeIndex, feature: str) -> np.ndarray:
    """``[time]`` float64 ``v / P`` of one feature: the fraction of its cycle passed."""
    if feature == "hour":
        hours = times.hour + times.minute / 60 + (times.second + times.microsecond / 1e6) / 3600
        return np.asarray(hours, np.float64) / 24
    if feature == "day_of_week":
        return np.asarray(times.dayofweek, np.float64) / 7
    if feature == "day_of_month":
        return (np.asarray(times.day, np.float64) - 1) / np.asarray(times.days_in_month)
    if feature == "day_of_year":
        days = np.where(np.asarray(times.is_leap_year), 366.0, 365.0)
        return (np.asarray(times.dayofyear, np.float64) - 1) / days
    if feature == "week_of_year":
        iso = times.isocalendar()
        # 28 December always lies in the last ISO week of its ISO year
        last = pd.to_datetime(
            pd.DataFrame({"year": iso["year"].to_numpy(), "month": 12, "day": 28})
        )
        weeks = np.asarray(last.dt.isocalendar()["week"], np.float64)
        return (np.asarray(iso["week"], np.float64) - 1) / weeks
    if feature == "month":
        return (np.asarray(times.month, np.float64) - 1) / 12
    return (np.asarray(times.quarter, np.float64) - 1) / 4  # quarter
