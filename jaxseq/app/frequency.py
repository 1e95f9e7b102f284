"""Calendar frequencies: what one step of a time axis is called, its default season, and the
frequency of a sorted axis of dates.

A frequency is a pandas offset (``"W-SAT"``, ``"MS"``, ``"QS-OCT"``, ``"30min"``, ...) or one of
its names (``"weekly"``, ``"monthly"``, ...). :func:`describe_offset` names an offset,
:func:`default_season` gives the conventional season of a frequency (weekly 52, monthly 12,
quarterly 4, daily 7, hourly 24, ...), and :func:`infer` finds the frequency of dates with
gaps, counting the steps between neighbours on that calendar (months as months, business days
as business days). :mod:`jaxseq.app.timeaxis` uses these for a loaded series' time column,
:mod:`jaxseq.app.calendar` for its calendar features.
"""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pandas as pd
from pandas.tseries import offsets as _off
from pandas.tseries.frequencies import to_offset

DAY = 86_400 * 10**9  # nanoseconds

# offset type -> (adjective, unit, season of one step); the first match wins
KINDS = (
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
# (unit, multiple) -> (adjective, season) of the multiples that have a name of their own
SPECIAL = {("minute", 30): ("half-hourly", 48), ("minute", 15): ("quarter-hourly", 96)}
SPECIAL[("week", 2)] = ("fortnightly", 26)
SPECIAL[("month", 6)] = ("half-yearly", 2)
# frequency names -> season
NAMED = {
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


def describe_offset(offset) -> tuple[str | None, str | None, int | None]:
    """(adjective, what one step is called in the plural, season) of a pandas offset; Nones
    when it is no known calendar step."""
    n = abs(int(getattr(offset, "n", 1) or 1))
    for types, adjective, unit, season in KINDS:
        if isinstance(offset, types):
            if n == 1:
                return adjective, unit + "s", season
            if (unit, n) in SPECIAL:
                name, season = SPECIAL[(unit, n)]
                return name, "steps", season
            each = season // n if season and season % n == 0 and unit != "year" else None
            return f"every {n} {unit}s", "steps", each
    return None, None, None


def parse_offset(alias: str):
    """The pandas offset of an alias (``"W-SAT"``, ``"MS"``, ``"2h"``, ...), None when it is
    none; legacy aliases (``"H"``, ``"T"``, ``"M"``) are accepted without a warning."""
    with warnings.catch_warnings():  # legacy aliases are deprecated, not wrong
        warnings.simplefilter("ignore")
        try:
            return to_offset(alias)
        except (ValueError, TypeError):
            return None


def default_season(frequency: str | None) -> int | None:
    """The default season of a frequency: a name (``"weekly"`` 52, ``"monthly"`` 12,
    ``"quarterly"`` 4, ``"daily"`` 7, ``"business-daily"`` 5, ``"hourly"`` 24,
    ``"half-hourly"`` 48, ``"minutely"`` 1440 (the daily cycle), ``"yearly"`` 1) or a pandas
    alias (``"W-SUN"``, ``"MS"``, ``"ME"``, ``"QS-OCT"``, ``"D"``, ``"B"``, ``"h"``,
    ``"30min"``, ``"2h"`` 12, ...). None for None, an unknown frequency, or one with no
    conventional season (secondly; multiples that do not divide the cycle, like 2 days)."""
    if frequency is None:
        return None
    key = str(frequency).strip()
    if key.lower() in NAMED:
        return NAMED[key.lower()]
    offset = parse_offset(key)
    return None if offset is None else describe_offset(offset)[2]


def infer(t: pd.DatetimeIndex):
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
        adjective, unit, season = describe_offset(parse_offset(alias))
        steps = np.ones(len(t) - 1, np.int64)
        return alias, adjective, season, unit, steps, None
    diffs = np.diff(t.asi8)
    counts = collections.Counter(diffs.tolist())
    mode = min(counts, key=lambda d: (-counts[d], d))
    kind = None
    if mode % DAY == 0:
        days = mode // DAY
        for low, high, k in ((365, 366, "Y"), (89, 92, "Q"), (28, 31, "M"), (7, 7, "W")):
            if low <= days <= high:
                kind = k
        weekend = (t.dayofweek >= 5).any()
        if days == 1 and not weekend and (diffs == 3 * DAY).any():
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
    adjective, unit, season = describe_offset(parse_offset(alias))
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
