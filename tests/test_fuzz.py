"""Fuzzing the file loader and the command line: bad input ends in InputError / exit status 2.

``load_series`` gets random bytes, random and malformed delimited text (delimiters, ragged rows,
quotes, unicode, empty lines, huge numbers, "nan"/"inf" strings, repeated headers, BOMs) and
broken ``.npy`` files: the only exception allowed is ``InputError``, and a successful load gives
finite float32 values with the right column names (NaN only with ``allow_missing``). A
well-formed CSV (unique times, finite values, in time order or not) must load with every value
and every timestamp as written, in time order.

``main()`` gets random argument vectors for train/evaluate/forecast/impute/models over tmp
files: it returns 0 or 2, or raises ``SystemExit`` with 0 or 2 (argparse), nothing else; and
a command line it accepts (0) must be a valid one: every option value within its documented
range (positive windows, horizons, sizes and rates, known names, existing columns, data files
that hold the run's columns, outputs that can be written), checked by an oracle of its own.

Every bug the fuzzers found is pinned below as a regression test with its exact input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io as _io
import itertools
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from jaxseq.app import io
from jaxseq.app.cli import main
from jaxseq.errors import InputError

F32_MAX = float(np.finfo(np.float32).max)

# --------------------------------------------------------------------------- file strategies

# "|"-separated: several of these are blank or hold spaces
HEADER_NAMES = 'time|value|other|a|b|| value |ü|名前|1|nan|x y|"q"|\ufeffa|a,b|Value'.split("|")
NUMBER_TEXT = (
    "0|-1|3.25|1e5|1e39|-1e39|3.4e38|1e308|1e400|-1e400|1e-400|nan|NaN|-nan|inf|-Infinity|+inf|"
    "NA|n/a|null|None|?|| | 7 |1_000|١٢٣|0x10|1,5|1.2.3|--1|½|∞|1e|.|-|+1.|TRUE"
).split("|")

numbers = st.one_of(
    st.sampled_from(NUMBER_TEXT),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(width=32, allow_nan=False).map(str),
)
cells = st.one_of(numbers, numbers.map(lambda s: f'"{s}"'), st.text(max_size=6))
headers = st.lists(
    st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=5)), min_size=1, max_size=4
)


GOOD_NAMES = ["time", "value", "other", "a", "b", "ü", "名前", "x y"]
good_numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.floats(-1e6, 1e6).map(lambda x: f"{x:.3f}"),
)
# mostly good numbers, now and then a missing value, a huge number or a "nan"/"inf" string
clean_cells = st.one_of(*[good_numbers] * 8, st.sampled_from(NUMBER_TEXT))


@st.composite
def delimited_text(draw, clean: bool):
    """Delimited text with a header: returns (bytes, header as the loader will see it or None).

    Clean tables (distinct names, one delimiter, numeric cells with the odd missing or huge
    value) let loads succeed too; messy ones have any names, any cells, ragged rows."""
    if clean:
        header = draw(st.lists(st.sampled_from(GOOD_NAMES), min_size=1, max_size=4, unique=True))
        delimiter = draw(st.sampled_from([",", ";", "\t"]))
    else:
        header = draw(headers)
        delimiter = draw(st.sampled_from([",", ";", "\t", "|", " ", ", "]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    ragged = not clean and draw(st.booleans())
    rows = [delimiter.join(header)]
    for _ in range(draw(st.integers(0 if not clean else 1, 6))):
        width = draw(st.integers(0, len(header) + 1)) if ragged else len(header)
        row = draw(st.lists(clean_cells if clean else cells, min_size=width, max_size=width))
        rows.append(delimiter.join(row))
        if draw(st.integers(0, 4)) == 0:
            rows.append(draw(st.sampled_from(["", " ", "\t"])))  # empty lines
    prefix = draw(st.sampled_from(["", "\ufeff", "\ufeff\ufeff", "\n\n"]))
    text = prefix + newline.join(rows)
    text += draw(st.sampled_from(["", newline, delimiter + newline]))
    encoding = "utf-8" if clean else draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    data = text.encode(encoding, "replace")
    # when the header is plain words between commas, the loader must report exactly it
    simple = delimiter == "," and prefix != "\ufeff\ufeff" and encoding == "utf-8"
    simple = simple and all(re.fullmatch(r"[\w ]*", h) for h in header)
    simple = simple and rows[0].strip() != ""  # a blank header line is skipped like any other
    return data, [h.strip() for h in header] if simple else None


def _npy_bytes(array) -> bytes:
    buffer = _io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _make_array(shape, dtype, special):
    """``arange`` in ``shape`` and ``dtype``; a float array's first value replaced by ``special``."""
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    if np.dtype(dtype).kind == "M":  # datetimes come from integers
        return values.astype("i8").astype(dtype)
    if special is not None and values.size and np.dtype(dtype).kind == "f":
        values.flat[0] = special
    return values.astype(dtype)


arrays = st.builds(
    _make_array,
    st.sampled_from([(0,), (5,), (4, 2), (3, 0), (0, 2), (), (2, 2, 2)]),
    st.sampled_from(["f8", "f4", "f2", "i4", "u8", "?", "c16", "U3", "M8[D]"]),
    st.sampled_from([None, np.nan, np.inf, -np.inf, 1e39, 1e300]),
)


@st.composite
def npy_bytes(draw):
    kind = draw(st.sampled_from(["array", "array", "bytes", "npy magic", "zip magic", "truncated"]))
    if kind == "array":
        return _npy_bytes(draw(arrays))
    junk = draw(st.binary(max_size=60))
    if kind == "npy magic":
        return b"\x93NUMPY\x01\x00" + junk
    if kind == "zip magic":
        return b"PK\x03\x04" + junk
    if kind == "truncated":
        full = _npy_bytes(np.arange(10.0))
        return full[: draw(st.integers(0, len(full) - 1))]
    return junk


@st.composite
def files(draw):
    """(suffix, bytes, expected header or None)."""
    kind = draw(st.sampled_from(["clean", "clean", "clean", "messy", "messy", "bytes", "npy"]))
    if kind in ("clean", "messy"):
        data, header = draw(delimited_text(clean=kind == "clean"))
        return draw(st.sampled_from([".csv", ".txt", ""])), data, header
    if kind == "npy":
        return ".npy", draw(npy_bytes()), None
    return draw(st.sampled_from([".csv", ".npy"])), draw(st.binary(max_size=200)), None


@st.composite
def load_options(draw, header):
    names = (header or []) + ["value", "zz", "0", "1"]
    columns = draw(
        st.one_of(st.none(), st.none(), st.lists(st.sampled_from(names), min_size=1, max_size=3))
    )
    time_column = draw(st.one_of(st.none(), st.none(), st.sampled_from(names)))
    fill = draw(st.sampled_from([None, None, None, "interpolate", "ffill", "zero", "mean"]))
    return {
        "columns": columns,
        "time_column": time_column,
        "fill": fill,
        "allow_missing": draw(st.booleans()),
    }


_counter = itertools.count()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _check_load(path: Path, options: dict, header: list[str] | None):
    note(f"file {path.name}: {path.read_bytes()[:300]!r}" if path.is_file() else f"path {path}")
    note(f"options {options}")
    try:
        series = io.load_series(path, **options)
    except InputError as error:
        assert str(error) and "\n" not in str(error)  # one sentence
        event("refused with InputError")
        return
    event("loaded")
    values = series.values
    assert isinstance(values, np.ndarray) and values.dtype == np.float32 and values.ndim == 2
    assert values.shape[0] >= 1 and len(series.columns) == values.shape[1]
    if options["columns"]:
        assert list(series.columns) == list(options["columns"])
    elif header is not None:
        assert list(series.columns) == [h for h in header if h != options["time_column"]]
    if options["time_column"] is not None and series.time is not None:
        assert len(series.time) == len(values)
    nan_ok = options["allow_missing"] and options["fill"] is None
    bad = np.isinf(values) | (np.isnan(values) & (not nan_ok))
    assert not bad.any(), f"non-finite values returned: {values}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=files(), data=st.data())
def test_load_series_refuses_bad_files_with_input_error_only(file, data, fuzz_dir):
    suffix, content, header = file
    path = fuzz_dir / f"f{next(_counter)}{suffix}"
    path.write_bytes(content)
    _check_load(path, data.draw(load_options(header), label="options"), header)


@settings(max_examples=20, deadline=None)
@given(
    target=st.sampled_from(["folder", "missing", "folder.csv", "missing.npy"]),
    data=st.data(),
)
def test_load_series_on_folders_and_missing_paths(target, data, fuzz_dir):
    path = fuzz_dir / f"p{next(_counter)}_{target}"
    if target.startswith("folder"):
        path.mkdir()
    _check_load(path, data.draw(load_options(None), label="options"), None)


# --------------------------------------------------------------------------- well-formed files

# time kind -> (pandas step, label format); "numbers": integer times
TIME_KINDS = {
    "daily": ("D", "%Y-%m-%d"),
    "hourly": ("h", "%Y-%m-%d %H:%M"),
    "monthly": ("MS", "%Y-%m"),
    "numbers": (None, None),
}
finite_values = st.floats(-1e18, 1e18, allow_nan=False, allow_infinity=False)


@st.composite
def well_formed_csv(draw):
    """A CSV with a time column of unique times and finite values: returns ``(text, time
    column, value columns, time labels, values [time, columns], kind, steps)``, the labels and
    values in time order (the file's rows may be in another order)."""
    kind = draw(st.sampled_from(sorted(TIME_KINDS)))
    n = draw(st.integers(1, 25))
    regular = st.just([1] * (n - 1))
    steps = draw(st.one_of(regular, st.lists(st.integers(1, 4), min_size=n - 1, max_size=n - 1)))
    at = np.concatenate([[0], np.cumsum(steps, dtype=np.int64)]).astype(int)
    unit, fmt = TIME_KINDS[kind]
    if kind == "numbers":
        labels = [str(t) for t in draw(st.integers(-(10**6), 10**6)) + at]
    else:
        start = pd.Timestamp(draw(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))))
        if unit == "MS":
            times = pd.DatetimeIndex(
                [start.replace(day=1) + pd.DateOffset(months=int(k)) for k in at]
            )
        else:
            times = start + pd.to_timedelta(at, unit=unit)
        labels = list(times.strftime(fmt))
    time_name = draw(st.sampled_from(["time", "date", "when"]))
    names = draw(st.lists(st.sampled_from(GOOD_NAMES[1:]), min_size=1, max_size=3, unique=True))
    values = draw(
        st.lists(
            st.lists(finite_values, min_size=len(names), max_size=len(names)),
            min_size=n,
            max_size=n,
        )
    )
    order = draw(st.sampled_from(["sorted", "sorted", "sorted", "reversed", "shuffled"]))
    rows = list(range(n))
    if order == "reversed":
        rows.reverse()
    elif order == "shuffled":
        rows = draw(st.permutations(rows))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [delimiter.join([time_name, *names])]
    lines += [delimiter.join([labels[r], *(repr(v) for v in values[r])]) for r in rows]
    text = draw(st.sampled_from(["", "\ufeff"])) + newline.join(lines)
    text += draw(st.sampled_from(["", newline]))
    return text, time_name, names, labels, values, kind, steps


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=well_formed_csv())
def test_well_formed_csv_loads_with_its_values_and_times_intact(table, fuzz_dir):
    text, time_name, names, labels, values, kind, steps = table
    path = fuzz_dir / f"w{next(_counter)}.csv"
    path.write_bytes(text.encode("utf-8"))
    note(f"file {path.name}: {text[:400]!r}")
    series = io.load_series(path, time_column=time_name)
    assert series.columns == tuple(names)
    expected = np.asarray(values, np.float64).astype(np.float32)  # as written, in time order
    assert series.values.dtype == np.float32
    np.testing.assert_array_equal(series.values, expected)
    assert series.time_labels() == labels  # every timestamp as written, in time order
    assert series.filled is None
    if kind != "numbers":
        _, fmt = TIME_KINDS[kind]
        assert isinstance(series.time, pd.DatetimeIndex)
        assert list(series.time) == list(pd.to_datetime(labels, format=fmt))
        if len(labels) >= 3 and all(step == 1 for step in steps):
            assert series.frequency == kind and series.gaps == ()
        if series.freq in ("D", "h"):  # gaps counted in days or hours: the steps left out
            assert sum(g for _, g in series.gaps) == sum(step - 1 for step in steps)
    else:
        assert len(series.time) == len(labels)


# --------------------------------------------------------------------------- loader regressions


@pytest.mark.parametrize(
    ("name", "content", "options", "match"),
    [
        pytest.param(
            "huge.csv",
            b"value\n1\n1e39\n",
            {},
            r"huge\.csv: .*column 'value', data row 2",
            id="csv-number-beyond-float32",
        ),
        pytest.param(
            "huge.csv",
            b"value\n1\nnan\n-1e39\n",
            {"allow_missing": True},
            r"huge\.csv: .*column 'value', data row 3",
            id="csv-number-beyond-float32-allow-missing",
        ),
        pytest.param(
            "huge.npy",
            _npy_bytes(np.array([1.0, 1e39])),
            {},
            r"huge\.npy: .*column '0', data row 2",
            id="npy-number-beyond-float32",
        ),
        pytest.param(
            "long.csv",
            b"value\n" + b"1" * 200_000 + b"\n",
            {},
            r"long\.csv",
            id="csv-field-beyond-the-csv-module-limit",
        ),
        pytest.param(
            "empty.npy",
            b"",
            {},
            r"empty\.npy",
            id="npy-empty-file",
        ),
        pytest.param(
            "zip.npy",
            b"PK\x03\x04",
            {},
            r"zip\.npy",
            id="npy-with-zip-magic",
        ),
        pytest.param(
            "npz.npy",
            (lambda b: (np.savez(b, x=np.arange(3.0)), b.getvalue())[1])(_io.BytesIO()),
            {},
            r"npz\.npy",
            id="npz-archive-named-npy",
        ),
        pytest.param(
            "header.npy",
            b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8,  \n",
            {},
            r"header\.npy",
            id="npy-header-unbalanced-brace",
        ),
    ],
)
def test_loader_regression(name, content, options, match, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        io.load_series(path, **options)


# --------------------------------------------------------------------------- command line

T = np.arange(120)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """Data files, a trained one-column run (linear_multi, window 5, horizon 2, 1 epoch, 1
    seed) and a few things that are not runs, for the argument fuzzer."""
    d = tmp_path_factory.mktemp("cli_fuzz")
    signal = np.sin(T / 5)
    texts = {
        "ok.csv": "time,value,other\n"
        + "".join(f"t{i},{v:.5f},{np.cos(i / 7):.5f}\n" for i, v in zip(T, signal, strict=True)),
        "gaps.csv": "time,value,other\n"
        + "".join(
            f"t{i},{'' if i in (40, 41, 90) else f'{v:.5f}'},1\n"
            for i, v in zip(T, signal, strict=True)
        ),
        "nan.csv": "value\n" + "1\n" * 30 + "nan\n" + "2\n" * 30,
        "empty.csv": "",
        "header.csv": "time,value\n",
        "text.csv": "value,other\n1,x\n",
        "short.csv": "time,value\n" + "".join(f"t{i},{i}\n" for i in range(12)),
        "afile": "x\n",
    }
    for name, text in texts.items():
        (d / name).write_text(text)
    np.save(d / "good.npy", np.stack([signal, signal**2], 1))
    np.save(d / "strings.npy", np.array(["a", "b"]))
    np.save(d / "cube.npy", np.zeros((4, 2, 2)))
    (d / "adir").mkdir()
    run = d / "run"
    options = "--column value --time-column time --window 5 --horizon 2 --epochs 1 --seeds 1"
    argv = ["train", "--model", "linear_multi", "--data", str(d / "ok.csv"), *options.split()]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    shutil.copytree(run, d / "existing")  # a train --out that already holds a run
    return d


# Each pool starts with invalid values: hypothesis's simplest draws are invalid, and a
# complete valid `train` (the only slow command) needs a fresh --out, which is capped below.
DATA = [
    "missing.csv",
    "empty.csv",
    "header.csv",
    "text.csv",
    "nan.csv",
    "strings.npy",
    "cube.npy",
    "adir",
    "short.csv",
    "gaps.csv",
    "ok.csv",
    "good.npy",
]
OPTIONS = {
    "train": {
        "--model": ["nope", "", "linear", "linear_multi"],
        "--data": DATA,
        "--column": ["zz", ",", "time", "other", "value,value", "value,other", "value", "0", "0,1"],
        "--target": ["zz", "other", "value,other", "value", "1"],
        "--time-column": ["nope", "value", "time"],
        "--window": ["0", "-3", "x", "500", "1.5", "5", "3"],
        "--horizon": ["0", "x", "50", "2", "1"],
        "--batch-size": ["0", "x", "4"],
        "--learning-rate": ["-1", "0", "nan", "inf", "x", "0.01"],
        "--clip-norm": ["0", "-1", "1"],
        "--fill": ["mean", "interpolate", "ffill", "zero"],
        "--resume": ["nowhere", "afile", "adir", "run"],
        "--plot": ["adir", "curves.png"],
    },
    "evaluate": {"--data": DATA, "--season": ["0", "x", "99", "2"]},
    "forecast": {
        "--data": DATA,
        "--steps": ["0", "x", "99", "3", "2", "1"],
        "--out": ["adir", "afile/f.csv", "f.csv"],
        "--plot": ["f.nope", "adir", "f.png"],
    },
    "impute": {"--data": DATA, "--out": ["adir", "i.csv"]},
    "models": {},
}
RUNS = ["nowhere", "afile", "adir", "run", "run", "run"]
JUNK = ["--bogus", "-", "--", "-x", "--data", "--steps=", "--quiet", "é", ""]
LITERAL = {
    "--model",
    "--column",
    "--target",
    "--time-column",
    "--window",
    "--horizon",
    "--batch-size",
    "--learning-rate",
    "--clip-norm",
    "--fill",
    "--season",
    "--steps",
}

FRESH_TRAININGS = 2  # complete valid trainings allowed per session (each takes a few seconds)
_fresh = itertools.count()


@st.composite
def argvs(draw, root: Path):
    """``(argv, drawn)``: a command line over the files of ``cli_env`` and what was drawn for
    it (``{"command", "options": {option: pool value}, "run", "out", "junk"}``)."""
    command = draw(st.sampled_from(["models", "impute", "forecast", "evaluate", "train"]))
    argv = [command]
    drawn = {"command": command, "options": {}, "run": None, "out": None, "junk": None}
    pool = OPTIONS[command]
    # a third of the lines draw from the end of each pool, where the valid values are, so
    # that lines the command accepts (and the oracle judges) are common
    careful = draw(st.integers(0, 2)) == 0
    if command == "train":
        epochs = draw(st.sampled_from(["1"] if careful else ["0", "x", "1"]))
        seeds = draw(st.sampled_from(["1"] if careful else ["0", "-2", "1"]))
        argv += ["--quiet", "--epochs", epochs, "--seeds", seeds]
        drawn["options"].update({"--epochs": epochs, "--seeds": seeds})
        outs = ["fresh"] if careful else ["existing", "afile", "afile/sub", "fresh"]
        out = draw(st.sampled_from(outs))
        if out == "fresh" and next(_fresh) >= FRESH_TRAININGS:
            out = "existing"  # budget spent: fails with "already holds a run", before training
        drawn["out"] = out
        argv += ["--out", str(root / (f"fresh{next(_counter)}" if out == "fresh" else out))]
    elif command != "models":
        drawn["run"] = "run" if careful else draw(st.sampled_from(RUNS))
        argv.append(str(root / drawn["run"]))
    chosen = draw(st.lists(st.sampled_from(sorted(pool)), max_size=4, unique=True)) if pool else []
    needed = {"train": ["--model", "--data"], "forecast": ["--steps"]}.get(command, [])
    if careful:  # the options a valid line of the command needs, first; no --resume with --out
        chosen = [*needed, *(o for o in chosen if o not in needed and o != "--resume")]
    for option in chosen:
        value = draw(st.sampled_from(pool[option][-2:] if careful else pool[option]))
        drawn["options"][option] = value
        argv += [option, value if option in LITERAL else str(root / value)]
    if not careful and draw(st.integers(0, 3)) == 0:
        drawn["junk"] = draw(st.sampled_from(JUNK))
        argv.insert(draw(st.integers(1, len(argv))), drawn["junk"])
    return argv, drawn


# --------------------------------------------------------------------------- the oracle

# What the data files of cli_env hold: {column: "numbers" | "gaps" (numbers with missing
# values) | "labels" (not numbers)}, and their rows. Files not listed load nowhere.
DATA_FILES = {
    "ok.csv": ({"time": "labels", "value": "numbers", "other": "numbers"}, 120),
    "gaps.csv": ({"time": "labels", "value": "gaps", "other": "numbers"}, 120),
    "nan.csv": ({"value": "gaps"}, 61),
    "text.csv": ({"value": "numbers", "other": "labels"}, 1),
    "short.csv": ({"time": "labels", "value": "numbers"}, 12),
    "good.npy": ({"0": "numbers", "1": "numbers"}, 120),
}
RUN = {"window": 5, "horizon": 2, "columns": ["value"], "time_column": "time"}  # cli_env's run
MODELS = {"linear": "one_step", "linear_multi": "multi_step"}
FIGURES = (".png", ".pdf", ".svg")


def _positive_int(text: str | None) -> int | None:
    """The value of a positive integer option, None when the text is not one."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if value >= 1 else None


def _positive_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return 0 < value < float("inf")


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def why_invalid(drawn: dict) -> list[str]:
    """Why the drawn command line breaks the documented constraints (an empty list: it may be
    valid). Only necessary conditions: a line that passes may still be refused for reasons
    the oracle does not model (a series too short for the validation part, say)."""
    command, options = drawn["command"], drawn["options"]
    wrong = []
    if drawn["junk"] is not None and drawn["junk"] != "--":  # "--" ends the options, POSIX
        if not (drawn["junk"] == "--quiet" and command == "train"):
            wrong.append(f"stray token {drawn['junk']!r}")
    for option in ("--window", "--horizon", "--batch-size", "--epochs", "--seeds", "--steps"):
        if option in options and _positive_int(options[option]) is None:
            wrong.append(f"{option} {options[option]!r} is no positive integer")
    for option in ("--learning-rate", "--clip-norm"):
        if option in options and not _positive_number(options[option]):
            wrong.append(f"{option} {options[option]!r} is no positive finite number")
    if "--fill" in options and options["--fill"] not in io.FILLS:
        wrong.append(f"--fill {options['--fill']!r} is none of {io.FILLS}")
    if "--plot" in options and not options["--plot"].endswith(FIGURES):
        wrong.append(f"--plot {options['--plot']!r} is no figure file")
    if command == "train":
        wrong += _train_invalid(options, drawn["out"])
    elif command != "models":
        wrong += _run_command_invalid(command, options, drawn["run"])
    return wrong


def _train_invalid(options: dict, out: str) -> list[str]:
    if "--resume" in options:
        return ["--resume with --out (a resumed run takes every setting from the run)"]
    wrong = [] if out == "fresh" else [f"--out {out!r} is a file, under one, or a run"]
    model, data = options.get("--model"), options.get("--data")
    if model not in MODELS:
        wrong.append(f"--model {model!r} is no zoo model")
    if data not in DATA_FILES:
        return [*wrong, f"--data {data!r} is no readable series"]
    columns, rows = DATA_FILES[data]
    time = options.get("--time-column")
    if time is not None and (data.endswith(".npy") or time not in columns):
        wrong.append(f"--time-column {time!r} is no column of {data}")
    names = (
        _names(options.get("--column"))
        if "--column" in options
        else [c for c in columns if c != time]
    )
    if not names:
        wrong.append("no input column")
    for name in names:
        if columns.get(name, "labels") == "labels":
            wrong.append(f"--column {name!r} is no numeric column of {data}")
        elif columns[name] == "gaps" and "--fill" not in options:
            wrong.append(f"column {name!r} of {data} has missing values and no --fill")
    targets = _names(options.get("--target")) or names[:1]
    if any(t not in names for t in targets):
        wrong.append(f"--target {targets} not among the inputs {names}")
    window = _positive_int(options.get("--window", "50"))
    horizon = _positive_int(options.get("--horizon", "10"))
    if MODELS.get(model) == "one_step":
        horizon = 1
    if window and horizon and rows < window + horizon:
        wrong.append(f"{data} has {rows} rows, fewer than window {window} + horizon {horizon}")
    return wrong


def _run_command_invalid(command: str, options: dict, run: str) -> list[str]:
    wrong = [] if run == "run" else [f"{run!r} is no run folder"]
    data = options.get("--data", "ok.csv")  # default: the file the run was trained on
    if data not in DATA_FILES:
        return [*wrong, f"--data {data!r} is no readable series"]
    columns, rows = DATA_FILES[data]
    if not all(c in columns for c in [*RUN["columns"], RUN["time_column"]]):
        wrong.append(f"--data {data} lacks the run's columns")
    elif command != "impute" and any(columns[c] == "gaps" for c in RUN["columns"]):
        wrong.append(f"--data {data} has missing values (only impute takes them)")
    if command == "evaluate":
        season = _positive_int(options.get("--season", "1"))
        if season is None or season >= rows:
            wrong.append(f"--season {options.get('--season')!r} is no season shorter than {data}")
    if command == "forecast":
        steps = _positive_int(options.get("--steps", "10"))
        if steps is None or steps > RUN["horizon"]:
            wrong.append(f"--steps {options.get('--steps', '10')!r} beyond the horizon")
        if rows < RUN["window"]:
            wrong.append(f"{data} is shorter than the window")
    if options.get("--out") in ("adir", "afile/f.csv"):
        wrong.append(f"--out {options['--out']!r} is a folder or under a file")
    return wrong


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_command_line_exits_with_0_or_2_and_accepts_only_valid_lines(data, cli_env):
    argv, drawn = data.draw(argvs(cli_env), label="argv")
    out, err = _io.StringIO(), _io.StringIO()
    cwd = os.getcwd()
    os.chdir(cli_env)  # any default relative output lands in the tmp folder
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exit_info:  # argparse: --help (0) or a usage error (2)
        code = exit_info.code
    finally:
        os.chdir(cwd)
    event(f"{argv[0]}: exit {code}")
    assert code in (0, 2), err.getvalue()
    if code == 0:  # what the command line accepted must have been valid
        assert why_invalid(drawn) == [], (argv, err.getvalue())
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jaxseq"), err.getvalue()
        assert "error: " in lines[0]
