"""What the benchmark scripts share: one fresh process per variant, peak RSS, machine facts, output.

Every variant of a benchmark runs as ``python SCRIPT --worker SPEC.json`` in a process
of its own, started through a tiny launcher (``python -c LAUNCHER``) whose only child is
that worker. The launcher reports ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``:
the peak resident memory of the worker and anything it spawned. A long-lived parent
cannot do this itself — its ``RUSAGE_CHILDREN`` peak is the maximum over *all* children
so far, so a big variant would hide a smaller one run after it.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MRC_NER_SHARED_DATA", REPO.parent / "shared" / "data"))

# The launcher: run argv[1:], its stdout sent to our stderr so our stdout holds only the
# JSON line with its exit code and peak RSS (ru_maxrss is KiB on Linux, bytes on macOS).
LAUNCHER = r"""
import json, resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdout=sys.stderr)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if sys.platform == "darwin":
    kb //= 1024
print(json.dumps({"rc": rc, "peak_rss_kb": kb}))
"""


def thread_env(threads: int) -> dict[str, str]:
    """The environment for a worker: thread counts pinned, tokenizers' own pool off, no hub calls."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    return env


def run_worker(
    script: Path, spec: dict[str, Any], *, threads: int, label: str, timeout: float | None = None
) -> dict[str, Any]:
    """Run one variant in a fresh process; its result dict plus ``peak_rss_mb``.

    The worker reads ``spec`` (JSON) and writes its result to ``spec["result_path"]``.
    A failing worker raises ``RuntimeError`` with the tail of its output.
    """
    with tempfile.TemporaryDirectory(prefix="mrc-ner-bench-") as tmp:
        spec = {**spec, "result_path": str(Path(tmp) / "result.json")}
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        cmd = [sys.executable, "-c", LAUNCHER, sys.executable, str(script), "--worker", str(spec_path)]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=thread_env(threads),
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its worker: the group we started
            proc.communicate()
            raise RuntimeError(f"{label}: still running after {timeout:.0f} s, stopped") from None
        except BaseException:  # Ctrl-C: the worker runs in its own session and would not see it
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        tail = stderr[-3000:]
        try:
            launch = json.loads(stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            raise RuntimeError(f"{label}: the launcher failed (exit {proc.returncode}):\n{tail}") from None
        if launch["rc"] != 0:
            raise RuntimeError(f"{label}: the worker failed (exit {launch['rc']}):\n{tail}")
        result = json.loads(Path(spec["result_path"]).read_text(encoding="utf-8"))
    result["peak_rss_mb"] = round(launch["peak_rss_kb"] / 1024, 1)
    return result


def write_result(spec: dict[str, Any], result: dict[str, Any]) -> None:
    """Worker side: hand the result back to :func:`run_worker`."""
    Path(spec["result_path"]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def read_spec(path: str) -> dict[str, Any]:
    """Worker side: the spec written by :func:`run_worker`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def set_threads(threads: int) -> int:
    """Pin torch's intra-op threads (and a single inter-op thread); returns the count in effect."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (parallel work has started)
        pass
    return torch.get_num_threads()


def own_peak_rss_mb() -> float:
    """This process's peak RSS so far (MB): taken after imports, it is the baseline under a variant's peak."""
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round((kb / 1024 if sys.platform == "darwin" else kb) / 1024, 1)


def median(xs: Sequence[float]) -> float:
    """The median (the middle one of the repeats)."""
    return float(statistics.median(xs))


def default_threads() -> int:
    """``OMP_NUM_THREADS`` if set, else the cores this process may use (without importing torch)."""
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def machine_info(threads: int) -> dict[str, Any]:
    """The facts a reader needs to compare figures: CPU, cores, memory, versions, torch threads, load,
    and the code (:mod:`mrc_ner.training.provenance`, what every compare cell records too)."""
    from mrc_ner.training.provenance import code_version, machine_facts

    return {
        **machine_facts(threads),
        "code": code_version(),
        # other processes competing for the cores make every figure slower: check this is low
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def select_sentences(path: str | Path, n: int, max_chars: int | None = None) -> list:
    """The first ``n`` non-blank sentences of a corpus with at most ``max_chars`` characters (None: any length)."""
    from mrc_ner.corpus.readers import read_corpus

    out = []
    for s in read_corpus(path).sentences:
        if s.text.strip() and (max_chars is None or len(s.text) <= max_chars):
            out.append(s)
            if len(out) >= n:
                break
    return out


def dump_sentences(sentences: Sequence, path: Path) -> None:
    """Write sentences (text, tokens, gold spans) for a worker: every variant reads the very same ones."""
    rows = [
        {
            "text": s.text,
            "tokens": s.tokens,
            "spans": [[sp.start, sp.end, sp.label] for sp in s.spans],
            "char_level": s.char_level,
            "id": s.id,
        }
        for s in sentences
    ]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def load_sentences(path: str | Path) -> list:
    """The sentences written by :func:`dump_sentences`."""
    from mrc_ner.corpus.model import Sentence, Span

    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        Sentence(
            r["text"], [tuple(t) for t in r["tokens"]], [Span(*x) for x in r["spans"]], r["id"], 0, r["char_level"]
        )
        for r in rows
    ]


def import_modeling(model_type: str) -> None:
    """Import transformers' modeling module for ``model_type`` (lazy otherwise: seconds that would count as loading)."""
    import importlib

    name = model_type.replace("-", "_")
    try:
        importlib.import_module(f"transformers.models.{name}.modeling_{name}")
    except ImportError:
        pass


def fail(msg: str) -> None:
    """One red ``error:`` line on stderr, exit code 2 (bad input, as the CLI does)."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {msg}", soft_wrap=True)
    raise SystemExit(2)


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def rich_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]):
    """A rich table, first column left-aligned, the figures right-aligned."""
    from rich.table import Table

    t = Table(title=title)
    for i, h in enumerate(headers):
        t.add_column(h, justify="left" if i < 2 else "right")
    for r in rows:
        t.add_row(*r)
    return t


def fmt(x: float | None, digits: int = 1) -> str:
    """A figure for a table, ``—`` for none."""
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def add_fold_arguments(ap) -> None:
    """``--corpus``, ``--folds``, ``--fold-seed`` and ``--dev-docs``: the folds of the compare run a script reads."""
    ap.add_argument("--corpus", type=Path, required=True, help="the documents directory the run used")
    ap.add_argument("--folds", required=True, help="the run's --folds spec (published or k=N)")
    ap.add_argument("--fold-seed", type=int, default=0, help="the run's --fold-seed")
    ap.add_argument("--dev-docs", default="1", help="the run's --dev-docs")


def folds_by_name(args) -> dict[str, Any]:
    """The run's folds by name, built as ``mrc-ner compare`` builds them from the arguments above."""
    from mrc_ner.commands._options import dev_docs_value
    from mrc_ner.errors import InputError
    from mrc_ner.experiments.compare import load_folds

    try:
        folds = load_folds(args.folds, args.corpus, seed=args.fold_seed, dev_docs=dev_docs_value(args.dev_docs))
    except InputError as e:
        fail(str(e))
    return {f.name: f for f in folds}


def fold_of_cell(folds: dict[str, Any], run: str) -> Any:
    """The fold of a cell's run directory name (``k5-0``, or ``k5-0.seed7`` under ``--seeds``); None if unknown."""
    from mrc_ner.experiments.compare import fold_of_run

    return folds.get(fold_of_run(run))


#: the help of a script's records argument (:func:`set_files` reads it)
RECORDS_HELP = (
    "a benchmarks/<set> directory of compare cell records; sets joined by + "
    "(A+B: A's cells, then B's for the folds and methods A lacks)"
)


def set_files(spec: str | Path, pattern: str, runs: Collection[str] | None = None) -> list[Path]:
    """The files matching ``pattern`` (e.g. ``*/*.json``) in a set of committed records, in path order.

    ``spec`` is one ``benchmarks/<set>`` directory, or several joined by ``+``: the first
    set's files, then each later set's files whose ``<fold>/<name>`` the earlier ones lack.
    So ``benchmarks/cbp_k5_conv8+benchmarks/cbp_k5_conv`` is the five-fold set with the
    re-trained cells in place of the ones they replace. Every set must exist.
    ``runs``: only files under these run directories (``split``, ``split.seed43``, ``k5-0``); default all.
    """
    chosen: dict[tuple[str, ...], Path] = {}
    for part in str(spec).split("+"):
        directory = Path(part)
        if not directory.is_dir():
            fail(f"{directory}: no such set of records")
        for path in sorted(directory.glob(pattern)):
            key = path.relative_to(directory).parts
            if runs is None or key[0] in runs:
                chosen.setdefault(key, path)
    return [chosen[key] for key in sorted(chosen)]


def set_label(spec: str | Path) -> str:
    """A set's name for tables: the directory name, or the names joined by ``+``.

    >>> set_label("benchmarks/cbp_k5_conv8+benchmarks/cbp_k5_conv")
    'cbp_k5_conv8+cbp_k5_conv'
    """
    return "+".join(Path(part).name for part in str(spec).split("+"))
