"""Shared helpers of the benchmarks: a latency-bound fake LLM endpoint, /proc readings, tables.

The fake endpoint is the test suite's ``FakeOpenAIServer`` (``tests/fakes/openai_server.py``,
imported by putting ``tests/`` on ``sys.path``) with a responder made for benchmarks:

- task-agent prompts (extraction, query, answer) and toolkit calls are answered by the
  deterministic ``OfflineModel``, so scores are those of an offline run;
- meta-agent reflection prompts get a small valid SEARCH/REPLACE patch: an empty SEARCH that
  appends ``BENCH_VARIANT = "<hash>"`` to the parent, the hash being taken from the prompt.
  Replies are therefore a pure function of the request: repeated runs (and cache replays) see
  the same children whatever the timing;
- follow-ups (unusable patch, gate fix, runtime repair) get the program of the prompt back as
  a full program with such a variant line, so a campaign never stalls on them.

``FakeEndpoint`` runs that server in a child process by default: answering with the offline
model costs CPU, and a remote endpoint does not compete for the client's GIL. The child is
started with ``spawn``, so the calling script must be a file whose top-level code sits under
``if __name__ == "__main__"`` (``in_process=True`` has no such condition). Every POST
sleeps ``latency_s`` before it is answered (the server's own latency emulation).

Contract: ``FakeEndpoint(latency_s).start()`` -> ``.url`` (OpenAI base URL), ``.model``,
``.stats()`` -> ``{"chat": n, "embeddings": n, "meta": n, "max_in_flight": n}`` counted since
start or the last ``.reset()``; ``.stop()`` (or a ``with`` block) ends it.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

# The offline embedder imports ``wordllama``, whose ``__init__`` calls
# ``logging.basicConfig(level=INFO)``; the HTTP client then logs every request to stderr.
# Configuring the root logger first turns that call into a no-op.
logging.basicConfig(level=logging.WARNING)

TESTS_DIR = Path(__file__).resolve().parents[1] / "tests"
FAKE_MODEL = "fake-chat"
FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _server_class() -> Any:
    if str(TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(TESTS_DIR))
    from fakes.openai_server import FakeOpenAIServer

    return FakeOpenAIServer


def _fence_after(text: str, heading: str) -> str | None:
    """The first ```python block after ``heading`` in ``text`` (None if absent)."""
    at = text.find(heading)
    if at < 0:
        return None
    match = FENCE.search(text, at)
    return match.group(1) if match else None


class BenchResponder:
    """Answers a chat request body: offline model for task prompts, patches for meta prompts.

    Replies are a pure function of the request, so task-prompt replies are memoised (keyed by
    the messages and the JSON mode): the same extraction and query prompts recur in every
    child's evaluation, and the offline model's CPU on this machine's two cores -- which a
    remote endpoint would not take from the client -- would otherwise grow with the number of
    evaluations run at once. The client still gets every request answered after the latency.
    """

    def __init__(self) -> None:
        from evolve.llm.offline import OfflineModel

        self.offline = OfflineModel()
        self.meta = 0
        self._lock = threading.Lock()
        self._memo: dict[str, str] = {}

    def __call__(self, request: dict[str, Any]) -> str:
        messages = request.get("messages") or []
        last = str(messages[-1].get("content") or "") if messages else ""
        first_user = next((str(m.get("content") or "") for m in messages
                           if m.get("role") == "user"), "")
        digest = hashlib.sha256(last.encode("utf-8")).hexdigest()[:10]
        if "You improve a memory program" in last:
            self._count_meta()
            return ("DIAGNOSIS:\nbenchmark responder: no real diagnosis\n\n"
                    f"COMMIT MESSAGE: bench variant {digest}\n\n"
                    f"<<<<<<< SEARCH\n=======\nBENCH_VARIANT = \"{digest}\"\n>>>>>>> REPLACE\n")
        follow_up = None
        if last.startswith("Your answer could not be used"):
            follow_up = _fence_after(first_user, "The current program")
        elif "A memory program you wrote was rejected" in last:
            follow_up = _fence_after(last, "## The rejected program")
        elif "broke a runtime limit" in last:
            follow_up = _fence_after(last, "## The program")
        if follow_up is not None:
            self._count_meta()
            return (f"COMMIT MESSAGE: bench full program {digest}\nPROGRAM:\n```python\n"
                    f"{follow_up.rstrip()}\nBENCH_VARIANT = \"{digest}\"\n```\n")
        json_mode = (request.get("response_format") or {}).get("type") == "json_object"
        key = hashlib.sha256(repr((messages, json_mode)).encode("utf-8")).hexdigest()
        text = self._memo.get(key)
        if text is None:
            text = self.offline.complete(messages, json_mode=json_mode).text
            self._memo[key] = text
        return text

    def _count_meta(self) -> None:
        with self._lock:
            self.meta += 1


def _stats(server: Any, responder: BenchResponder) -> dict[str, int]:
    return {"chat": server.counts["/chat/completions"], "embeddings": server.counts["/embeddings"],
            "meta": responder.meta, "max_in_flight": server.max_in_flight}


def _serve(conn: Any, latency_s: float, model: str) -> None:
    """Child process: run the server and answer ``stats`` / ``reset`` / ``stop`` commands."""
    responder = BenchResponder()
    server = _server_class()(models=(model,), responder=responder, latency_s=latency_s).start()
    conn.send(server.url)
    try:
        while True:
            try:
                command = conn.recv()
            except EOFError:
                break  # the parent went away
            if command == "stats":
                conn.send(_stats(server, responder))
            elif command == "reset":
                server.reset()
                responder.meta = 0
                conn.send(True)
            else:
                break
    finally:
        server.stop()


class FakeEndpoint:
    """The benchmark fake endpoint (see the module docstring); a context manager."""

    def __init__(self, latency_s: float = 0.2, model: str = FAKE_MODEL,
                 in_process: bool = False) -> None:
        self.latency_s = latency_s
        self.model = model
        self.in_process = in_process
        self.url = ""
        self._server: Any = None
        self._responder: BenchResponder | None = None
        self._process: Any = None
        self._conn: Any = None

    def start(self) -> FakeEndpoint:
        if self.in_process:
            self._responder = BenchResponder()
            self._server = _server_class()(models=(self.model,), responder=self._responder,
                                           latency_s=self.latency_s).start()
            self.url = self._server.url
            return self
        # spawn, not fork: the bench process has threads (fork would copy held locks)
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, self.latency_s, self.model),
                                    daemon=True)
        self._process.start()
        deadline = time.monotonic() + 60
        while not self._conn.poll(0.2):
            if not self._process.is_alive() or time.monotonic() > deadline:
                code = self._process.exitcode
                self.stop()
                raise RuntimeError(f"fake endpoint did not start (child exit code {code})")
        self.url = self._conn.recv()
        return self

    def stats(self) -> dict[str, int]:
        if self._server is not None:
            assert self._responder is not None
            return _stats(self._server, self._responder)
        self._conn.send("stats")
        return self._conn.recv()

    def reset(self) -> None:
        if self._server is not None:
            self._server.reset()
            assert self._responder is not None
            self._responder.meta = 0
            return
        self._conn.send("reset")
        self._conn.recv()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._process is not None:
            try:
                self._conn.send("stop")
            except (OSError, BrokenPipeError):
                pass
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()  # only the child this object started
                self._process.join(5)
            self._process = None

    def __enter__(self) -> FakeEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def use_dummy_key() -> None:
    """The OpenAI client wants a key; the fake server accepts any (never a real one here)."""
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-dummy")


# -- measurements and output ----------------------------------------------------------------------

def proc_status_kb(pid: int | str, key: str) -> int | None:
    """A ``kB`` figure (``VmRSS``, ``VmHWM``, ...) of ``/proc/<pid>/status``; None if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (children, grandchildren, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # the name may hold spaces and parens
        parents.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


def ratio(a: float | None, b: float | None, digits: int = 2) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.{digits}f}x"


def print_table(headers: list[str], rows: list[list[Any]], title: str = "") -> None:
    """A plain fixed-width table (left-aligned first column, right-aligned others)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True)))

    if title:
        print(title)
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))
    sys.stdout.flush()


# -- campaigns --------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart.toml"


def endpoint_overrides(endpoint: FakeEndpoint, concurrency: int = 32) -> list[str]:
    """Config overrides sending the task and reflector roles to ``endpoint`` (LLM meta-agent
    answering with patches)."""
    return [f"models.task={endpoint.model}", f"models.reflector={endpoint.model}",
            f"models.base_url={endpoint.url}", f"models.concurrency={concurrency}",
            "search.mutation=patch"]


def run_campaign(run_dir: Path, overrides: list[str], campaign_class: Any = None) -> Any:
    """Run the quickstart campaign with ``overrides`` into a fresh ``run_dir``; returns
    ``(outcome, campaign, seconds)``."""
    import time

    from evolve.campaign.loop import Campaign
    from evolve.config.load import load_config

    config = load_config(QUICKSTART, overrides)
    started = time.monotonic()
    campaign = (campaign_class or Campaign)(config, run_dir, config_dir=QUICKSTART.parent,
                                            progress=False)
    outcome = campaign.run()
    return outcome, campaign, time.monotonic() - started


def query_run(run_dir: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` over a finished run's lineage database (read-only DuckDB)."""
    import duckdb

    con = duckdb.connect(str(Path(run_dir) / "lineage.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


LINEAGE_SQL = """
SELECT p.id, p.parent_ids, p.iteration, p.gate_status, e.score
FROM programs p LEFT JOIN evaluations e ON e.program_id = p.id AND e.split = 'static'
ORDER BY p.iteration, p.id
"""


def lineage_rows(run_dir: Path) -> list[tuple]:
    """(id, parent_ids, iteration, gate status, static score) of every program, in a fixed
    order: what two runs of the same campaign must agree on."""
    return [(pid, tuple(parents or ()), it, gate, None if score is None else round(score, 9))
            for pid, parents, it, gate, score in query_run(run_dir, LINEAGE_SQL)]


def compare_runs(a: Path, b: Path) -> str:
    """"identical (N programs)" or a description of the first difference."""
    rows_a, rows_b = lineage_rows(a), lineage_rows(b)
    if rows_a == rows_b:
        return f"identical ({len(rows_a)} programs, same ids, parents, iterations, scores)"
    only_a = set(rows_a) - set(rows_b)
    only_b = set(rows_b) - set(rows_a)
    return (f"DIFFERENT: {len(rows_a)} vs {len(rows_b)} programs; {len(only_a)} rows only in "
            f"the first, {len(only_b)} only in the second; e.g. {sorted(only_a)[:1]} vs "
            f"{sorted(only_b)[:1]}")
