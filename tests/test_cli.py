"""The command line end to end on a small CSV: train, evaluate, forecast, plot, resume, impute."""

import csv
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxseq.app import forecasting, workflow
from jaxseq.app.cli import main
from jaxseq.app.runs import Run

T = np.arange(400)
SIGNAL = np.sin(T / 6.0) + 0.5 * np.sin(T / 17.0)


def _write(path, values, *, other=True, gaps=()):
    with open(path, "w") as f:
        f.write("time,value,other\n" if other else "time,value\n")
        for i, v in enumerate(values):
            cell = "" if i in gaps else f"{v:.6f}"
            f.write(f"t{i},{cell},{np.cos(i / 9):.6f}\n" if other else f"t{i},{cell}\n")
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def trained(workdir):
    data = _write(workdir / "series.csv", SIGNAL)
    run = workdir / "runs" / "gru"
    code = main(
        [
            "train",
            "--model",
            "gru_seq2seq",
            "--data",
            str(data),
            "--column",
            "value,other",
            "--target",
            "value",
            "--time-column",
            "time",
            "--window",
            "20",
            "--horizon",
            "4",
            "--epochs",
            "2",
            "--seeds",
            "2",
            "--out",
            str(run),
            "--plot",
            str(workdir / "curves.png"),
            "--quiet",
        ]
    )
    assert code == 0
    return data, run


@pytest.mark.slow
def test_train_writes_a_run(trained, workdir):
    _, run = trained
    for name in ("config.json", "scaler.json", "history.json"):
        assert (run / name).exists()
    assert Run(run).latest_epoch() == 2
    assert (workdir / "curves.png").stat().st_size > 0
    config = Run(run).config
    assert config.columns == ["value", "other"] and config.targets == ["value"]


@pytest.mark.slow
def test_evaluate_reports_units_and_baselines(trained, capsys):
    _, run = trained
    assert main(["evaluate", str(run), "--season", "5"]) == 0
    out = capsys.readouterr().out
    for word in (
        "valid",
        "test",
        "gru_seq2seq",
        "naive",
        "seasonal_naive",
        "MASE",
        "sMAPE",
        "RMSE",
        "MAE",
    ):
        assert word in out


@pytest.mark.slow
def test_forecast_csv_and_plot(trained, workdir):
    data, run = trained
    out, plot = workdir / "f.csv", workdir / "f.png"
    assert (
        main(
            [
                "forecast",
                str(run),
                "--data",
                str(data),
                "--steps",
                "4",
                "--out",
                str(out),
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4 and rows[0]["step"] == "1"
    for row in rows:
        seeds = [float(row["value_seed0"]), float(row["value_seed1"])]
        assert float(row["value_mean"]) == pytest.approx(np.mean(seeds), abs=1e-5)
        assert float(row["value_min"]) <= float(row["value_mean"]) <= float(row["value_max"])
    assert plot.stat().st_size > 0


def test_forecast_equals_the_model_on_the_last_window(trained):
    """The CSV's numbers are the model's own prediction from the series' last window, unscaled."""
    data, run_dir = trained
    run = Run(run_dir)
    forecast, series = forecasting.forecast_run(run, str(data), 4)
    model, state = workflow.load_run_state(run)
    x = run.scaler.transform(series.values[-20:])[None]
    pred = np.asarray(jax.vmap(model.apply, in_axes=(0, None))(state.variables, x))[:, 0, -1]
    expected = pred * run.scaler.scale[0] + run.scaler.mean[0]
    np.testing.assert_allclose(forecast.per_seed[:, :, 0], expected, rtol=1e-5, atol=1e-5)


def test_resumed_training_equals_uninterrupted(workdir):
    data = _write(workdir / "short.csv", SIGNAL[:200], other=False)
    common = [
        "--model",
        "linear_multi",
        "--data",
        str(data),
        "--column",
        "value",
        "--window",
        "10",
        "--horizon",
        "3",
        "--epochs",
        "3",
        "--seeds",
        "2",
        "--quiet",
    ]
    assert main(["train", *common, "--out", str(workdir / "full")]) == 0
    config = workflow.make_config(
        "linear_multi", str(data), ["value"], None, window=10, horizon=3, seeds=2, epochs=3
    )

    def stop_after_first(model, epoch, metrics):
        if epoch == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        workflow.train_run(config, workdir / "cut", progress=stop_after_first)
    assert Run(workdir / "cut").latest_epoch() == 1
    assert main(["train", "--resume", str(workdir / "cut"), "--quiet"]) == 0
    _, full = workflow.load_run_state(Run(workdir / "full"))
    _, resumed = workflow.load_run_state(Run(workdir / "cut"))
    jax.tree_util.tree_map(np.testing.assert_array_equal, full, resumed)


def test_impute_fills_removed_values(workdir):
    gaps = set(range(300, 306)) | set(range(350, 352))
    clean = _write(workdir / "clean.csv", SIGNAL, other=False)
    holed = _write(workdir / "holed.csv", SIGNAL, other=False, gaps=gaps)
    run = workdir / "imp"
    assert (
        main(
            [
                "train",
                "--model",
                "linear_multi",
                "--data",
                str(clean),
                "--column",
                "value",
                "--time-column",
                "time",
                "--window",
                "24",
                "--horizon",
                "4",
                "--epochs",
                "40",
                "--learning-rate",
                "0.02",
                "--seeds",
                "2",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    out = workdir / "imputed.csv"
    assert main(["impute", str(run), "--data", str(holed), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    filled = [i for i, r in enumerate(rows) if r["filled"] == "1"]
    assert filled == sorted(gaps)
    values = np.array([float(r["value"]) for r in rows])
    error = np.sqrt(np.mean((values[filled] - SIGNAL[filled]) ** 2))
    assert error < 0.1 * SIGNAL.std()  # a linear model continues a sum of sines closely
    untouched = [i for i in range(len(rows)) if i not in gaps]
    np.testing.assert_allclose(values[untouched], SIGNAL[untouched], atol=1e-5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "nope", "--data", "{csv}"], "unknown model 'nope'"),
        (["train", "--model", "linear", "--data", "{dir}/none.csv"], "no such file"),
        (["train", "--model", "linear", "--data", "{csv}", "--column", "zz"], "no column 'zz'"),
        (
            ["train", "--model", "linear", "--data", "{csv}", "--window", "0"],
            "window must be an integer >= 1, got 0",
        ),
        (
            ["train", "--model", "linear", "--data", "{csv}", "--learning-rate", "-1"],
            "expected a positive number",
        ),
        (["train", "--data", "{csv}"], "--model required"),
        (
            [
                "train",
                "--model",
                "linear",
                "--data",
                "{csv}",
                "--column",
                "value",
                "--window",
                "500",
            ],
            "too short for window 500",
        ),
        (["evaluate", "{dir}"], "is not a jaxseq run folder"),
        (["forecast", "{dir}/nothing"], "is not a jaxseq run folder"),
        (["experiments", "--models", "nope"], "unknown model 'nope'"),
        (["bench", "--workloads", "W9"], "unknown workload 'W9'"),
        (["bench", "--workloads", "W3", "--peers", "mxnet"], "unknown peer 'mxnet'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, message, workdir, capsys):
    data = _write(workdir / "errs.csv", SIGNAL[:100])
    assert _exit_code([a.format(csv=data, dir=workdir) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        return exit_info.code


def test_no_traceback_from_the_installed_command(workdir):
    bad = workdir / "bad.csv"
    bad.write_text("a,b\n1,x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "jaxseq", "train", "--model", "linear", "--data", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr
        == "jaxseq train: error: bad.csv: column 'b' is not numeric (data row 1 holds 'x')\n"
    )


def test_help_for_every_subcommand(capsys):
    for command in ("models", "train", "evaluate", "forecast", "impute", "experiments", "bench"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: jaxseq " + command in capsys.readouterr().out


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly():
    """`jaxseq models | head`: the reader goes before the output is written; the command stops
    with SIGPIPE's status and no traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader has gone before anything is written
    done = subprocess.run(
        [sys.executable, "-m", "jaxseq", "models"], stdout=write, stderr=subprocess.PIPE, text=True
    )
    os.close(write)
    assert done.returncode == 141
    assert done.stderr == ""


@pytest.mark.slow
def test_a_second_compare_on_the_same_shapes_compiles_nothing_new(tmp_path):
    """The command line's persistent compilation cache (jaxseq.app.compile_cache): the first
    run fills it, the second adds no compiled program (every one was loaded from disk)."""
    data = tmp_path / "s.csv"
    with data.open("w") as f:
        f.write("y\n" + "\n".join(f"{np.sin(t / 4) + 0.01 * t:.5f}" for t in range(120)) + "\n")
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["JAXSEQ_CACHE"] = str(cache)
    # every program cached, however fast it compiles: with the default threshold (0.5 s) a
    # small program near it is stored or not depending on the machine's load
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    argv = [sys.executable, "-m", "jaxseq", "compare", "--data", str(data), "--horizon", "3"]
    argv += ["--window", "12", "--models", "linear_multi,gru_seq2seq", "--seeds", "2"]
    argv += ["--max-steps", "20", "--no-classical", "--jobs", "1", "--quiet"]

    def entries():
        return {p.name for p in cache.rglob("*") if p.is_file()}

    subprocess.run([*argv, "--out", str(tmp_path / "a")], env=env, check=True, capture_output=True)
    first = entries()
    assert len(first) >= 2  # at least each network's epoch
    subprocess.run([*argv, "--out", str(tmp_path / "b")], env=env, check=True, capture_output=True)
    assert entries() == first


def test_the_compilation_cache_can_be_turned_off(monkeypatch):
    from jaxseq.app import compile_cache

    monkeypatch.setenv("JAXSEQ_CACHE", "off")
    assert compile_cache.enable() is None


def test_the_compilation_cache_is_bounded_and_so_locked(monkeypatch, tmp_path):
    """A size limit makes JAX lock each cache read and write (no half-written entry is read
    by another process); the workers inherit it through the environment."""
    import jax

    from jaxseq.app import compile_cache

    names = ("jax_compilation_cache_dir", "jax_compilation_cache_max_size")
    before = {n: getattr(jax.config, n) for n in names}
    monkeypatch.setenv("JAXSEQ_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_MAX_SIZE", raising=False)
    try:
        assert compile_cache.enable() == tmp_path / "cache"
        assert jax.config.jax_compilation_cache_max_size == int(compile_cache.MAX_BYTES) > 0
        assert os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"] == compile_cache.MAX_BYTES
    finally:
        for name, value in before.items():
            jax.config.update(name, value)


def test_entries_of_an_unbounded_cache_get_their_access_time(tmp_path):
    """JAX's bounded cache fails every write while an entry lacks its access-time file, as
    the entries of an unbounded cache (an older jaxseq) do: `bound` stamps them."""
    import jax

    from jaxseq.app import compile_cache

    before = jax.config.jax_compilation_cache_max_size
    old = tmp_path / "jit_f-0123-cache"
    old.write_bytes(b"compiled")
    (tmp_path / "jit_g-4567-cache").write_bytes(b"compiled")
    (tmp_path / "jit_g-4567-atime").write_bytes((7).to_bytes(8, "little"))
    try:
        compile_cache.bound(tmp_path)
        assert jax.config.jax_compilation_cache_max_size == int(compile_cache.MAX_BYTES)
    finally:
        jax.config.update("jax_compilation_cache_max_size", before)
    stamp = (tmp_path / "jit_f-0123-atime").read_bytes()
    assert int.from_bytes(stamp, "little") == old.stat().st_mtime_ns
    assert (tmp_path / "jit_g-4567-atime").read_bytes() == (7).to_bytes(8, "little")


def test_a_bounded_cache_stores_beside_an_unbounded_caches_entries(tmp_path):
    """JAX itself, in a child process: a folder holding an entry without its access-time file
    (an unbounded cache's) takes every new program once `bound` has stamped it."""
    code = (
        "import sys, jax, jax.numpy as jnp; from jaxseq.app import compile_cache; "
        "folder = sys.argv[1]; "
        "jax.config.update('jax_compilation_cache_dir', folder); "
        "jax.config.update('jax_persistent_cache_min_compile_time_secs', 0); "
        "compile_cache.bound(folder); "
        "jax.jit(lambda x: jnp.sin(x) * 3.25)(jnp.ones(3)).block_until_ready()"
    )
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "jit_old-0-cache").write_bytes(b"x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    subprocess.run([sys.executable, "-c", code, str(folder)], env=env, check=True)
    stored = {p.name for p in folder.glob("*-cache")} - {"jit_old-0-cache"}
    assert any(name.startswith("jit__lambda") for name in stored)
