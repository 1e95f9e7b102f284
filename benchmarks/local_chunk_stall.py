"""Does training one GRU per series, many series at once, finish? By chunk size.

``jaxseq.app.panel.training.fit_local`` on the chapter's synthetic series (200 steps, window
24, horizon 10, 3 seeds, one epoch of ``gru_seq2seq``), with ``chunk`` series per compiled
program, in a fresh process each. A run *stalls* when its CPU time stops growing for
``--quiet-seconds`` while it has not finished (every thread waiting: what
``experiments/local_models.py`` met with the GRU); it is then killed. Progress is read from
``/proc`` (Linux), not wall time, so a slow shared machine is not taken for a stall.

Run: ``python benchmarks/local_chunk_stall.py [--chunks 64,128] [--tries 2]``; writes
``results/local_chunk_stall.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import sys
from jaxseq import data
from jaxseq.app.panel import table as panel_table, training as panel_training
n = int(sys.argv[1])
arrays = data.generate_time_series(n, 200, seed=7)[..., 0]
glob = panel_training.fit_panel(
    panel_table.from_arrays(list(arrays)), model="gru_seq2seq", window=24,
    horizon=10, valid_size=20, test_size=20, seeds=3, epochs=1)
panel_training.fit_local(glob, chunk=n)
print("done", flush=True)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(chunk: int, quiet: float) -> tuple[str, float]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(chunk)], stdout=subprocess.PIPE)
    last, since = -1.0, time.monotonic()
    while proc.poll() is None:
        time.sleep(2)
        try:
            used = cpu_seconds(proc.pid)
        except (FileNotFoundError, ProcessLookupError):
            break
        if used > last:
            last, since = used, time.monotonic()
        elif time.monotonic() - since > quiet:
            proc.kill()
            proc.wait()
            return "stalled", last
    out = proc.stdout.read().decode() if proc.stdout else ""
    return ("finished" if "done" in out else f"failed (exit {proc.returncode})"), last


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="64,128")
    parser.add_argument("--tries", type=int, default=2)
    parser.add_argument("--quiet-seconds", type=float, default=45.0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    lines = [
        "# One GRU per series, a chunk of series at once: finished or stalled",
        "",
        "`gru_seq2seq`, 3 seeds, one epoch, the chunk's series all in one compiled program "
        f"(`fit_local(chunk=n)` on n series); stalled: no CPU time for {args.quiet_seconds:g} s "
        "before finishing. `python benchmarks/local_chunk_stall.py`.",
        "",
        "| chunk (series) | try | outcome | CPU seconds used |",
        "|---|---|---|---|",
    ]
    for chunk in (int(c) for c in args.chunks.split(",")):
        for k in range(1, args.tries + 1):
            outcome, used = one_run(chunk, args.quiet_seconds)
            print(chunk, k, outcome, used, flush=True)
            lines.append(f"| {chunk} | {k} | {outcome} | {used:.1f} |")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "local_chunk_stall.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
