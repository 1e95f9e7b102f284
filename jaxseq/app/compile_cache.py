"""JAX's persistent compilation cache, on by default for the command line.

A network's first epoch is mostly XLA compilation (seconds per model on a CPU; a comparison
compiles a dozen models). With the cache on, a second ``jaxseq compare`` (or ``train``,
``panel``, ...) on the same shapes loads every compiled program from disk instead
(``compare.md``'s stage line shows the compilation seconds).

The folder is ``$JAXSEQ_CACHE``, else ``$XDG_CACHE_HOME/jaxseq/xla`` (``~/.cache/jaxseq/xla``);
``JAXSEQ_CACHE=off`` turns it off. A ``JAX_COMPILATION_CACHE_DIR`` you set yourself wins. The
settings go into the environment as well, so worker processes (``compare --jobs``) share the
cache. Library users opt in with JAX's own ``jax.config.update("jax_compilation_cache_dir",
...)``.

The cache is bounded (:data:`MAX_BYTES`, least recently used entries evicted), which also
makes JAX take a file lock around every read and write: without it a process can read an
entry another is still writing, and XLA aborts the reader while deserialising it (seen with
two test workers compiling the same program at once).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "JAXSEQ_CACHE"
OFF = ("off", "0", "no", "false")
#: programs that compile faster than this are not worth a disk read
MIN_COMPILE_SECONDS = "0.5"
#: the cache's size on disk before the least recently used programs are evicted
MAX_BYTES = str(2 * 1024**3)
# the file names of JAX's bounded cache (jax._src.lru_cache): an entry and its access time
_ENTRY, _STAMP = "-cache", "-atime"


def default_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jaxseq" / "xla"


def enable() -> Path | None:
    """Turn the cache on for this process and its workers; the folder, or None when off."""
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() in OFF:
        return None
    folder = Path(os.environ.get("JAX_COMPILATION_CACHE_DIR") or setting or default_folder())
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: run without the cache rather than fail
        return None
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", MIN_COMPILE_SECONDS)
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", MAX_BYTES)
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update(
        "jax_persistent_cache_min_compile_time_secs",
        float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]),
    )
    bound(folder, int(os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"]))
    return folder


def bound(folder: Path, max_bytes: int = int(MAX_BYTES)) -> None:
    """Bound the cache in ``folder`` to ``max_bytes`` (JAX then locks every read and write).

    JAX's eviction reads an access-time file beside every entry and fails each write while one
    is missing, as it is for entries an unbounded cache wrote (an older jaxseq, or JAX's
    default). Each such entry gets one here, stamped with its file's modification time, so that
    a folder filled before keeps working.
    """
    import jax

    for entry in Path(folder).glob(f"*{_ENTRY}"):
        stamp = entry.with_name(entry.name[: -len(_ENTRY)] + _STAMP)
        if not stamp.exists():
            try:
                stamp.write_bytes(entry.stat().st_mtime_ns.to_bytes(8, "little"))
            except OSError:  # another process evicted it meanwhile, or a read-only folder
                pass
    jax.config.update("jax_compilation_cache_max_size", max_bytes)
