"""Response cache: an unchanged request is never paid twice.

Keys are sha256 digests of a canonical JSON rendering of the request:
``{kind, model, endpoint, revision, messages, json_mode, temperature, max_tokens, extra_body,
salt}`` for chat and ``(model, text)`` for embeddings.

Decision: the endpoint's base URL *is* part of a chat key (schema 2; schema 1 left it out).
Local servers answer to any model name -- llama.cpp serves whatever GGUF it was started with
under whatever alias -- so two servers both called "local", or a model swapped behind an
alias, would otherwise replay each other's answers. ``revision`` is a label the user gives
(``[models] revision``, ``--model-revision``) to tell apart weights the URL and name cannot;
``extra_body`` (sampling fields such as ``top_k``) changes the answer, so it is in the key too.
The API key is never part of a key. ``salt`` is how a caller asks for a fresh sample of an
identical prompt (e.g. the meta-agent at temperature > 0 wanting two different mutations).

Old files: a schema-1 file opens fine; its chat entries simply never match a schema-2 key
(they read as misses, and are paid for once more), and its embedding entries, whose keys did
not change, still hit.

Storage: one SQLite file (WAL journal, busy timeout) shared safely by threads (one connection
behind a lock) and by processes (each opens its own connection; WAL lets readers and one writer
proceed together). ``path=None`` keeps everything in memory for the life of the object.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evolve.llm.base import Message
from evolve.llm.cache_errors import CacheFileError

SCHEMA_VERSION = 2
_CHUNK = 400  # SQLite's bound-parameter limit is >= 999; stay well below it


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/evolve/responses.sqlite`` (``~/.cache/evolve/...`` by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "evolve" / "responses.sqlite"


def _digest(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chat_key(
    model: str,
    messages: Sequence[Message],
    *,
    json_mode: bool = False,
    temperature: float = 0.0,
    max_tokens: int | None = None,
    kind: str = "chat",
    salt: str | None = None,
    endpoint: str | None = None,
    revision: str = "",
    extra_body: Mapping[str, Any] | None = None,
) -> str:
    """Cache key of a chat request (see the module docstring for what is in it)."""
    return _digest(
        {
            "v": SCHEMA_VERSION,
            "kind": kind,
            "model": model,
            "endpoint": endpoint.rstrip("/") if endpoint else None,
            "revision": revision or "",
            "messages": [dict(m) for m in messages],
            "json_mode": bool(json_mode),
            "temperature": float(temperature),  # 0 and 0.0 must collide
            "max_tokens": None if max_tokens is None else int(max_tokens),
            "extra_body": dict(extra_body or {}),
            "salt": salt,
        }
    )


def embed_key(model: str, text: str) -> str:
    """Cache key of one text embedded by ``model`` (unchanged since schema 1)."""
    return _digest({"v": 1, "kind": "embed", "model": model, "text": text})


@dataclass(frozen=True)
class CachedChat:
    """A stored chat answer with the token counts it was paid for originally."""

    text: str
    tokens_in: int
    tokens_out: int
    truncated: bool = False  # the reply was cut at max_tokens


_SCHEMA = """
CREATE TABLE IF NOT EXISTS chat (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT NULL,
    tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, created REAL NOT NULL,
    truncated INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS embed (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""


class ResponseCache:
    """Persistent (SQLite) or in-memory cache of chat completions and embeddings; thread-safe."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path in (None, ":memory:") else Path(path)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self.hits = 0
        self.misses = 0
        with self._lock, self._file_errors():
            self._connect()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path) if self.path else ':memory:'})"

    # -- connection ----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """The connection for this process (reopened after a fork: never share one across)."""
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        if self.path is None:  # (a forked child starts an empty one: SQLite forbids sharing)
            conn = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        _upgrade(conn)
        conn.commit()
        self._conn, self._pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _file_errors(self) -> Iterator[None]:
        """Re-raise what the user can fix (a damaged or unreadable file, a full disk) as a
        ``CacheFileError`` naming this cache's file; our own misuse of SQLite stays a bug."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if type(exc) not in (sqlite3.DatabaseError, sqlite3.OperationalError):
                raise  # IntegrityError, ProgrammingError, ...
            raise CacheFileError.from_sqlite(self.path, exc) from exc
        except OSError as exc:  # creating the cache's directory
            raise CacheFileError.from_os(self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- chat ----------------------------------------------------------------------------------
    def get_chat(self, key: str) -> CachedChat | None:
        with self._lock, self._file_errors():
            row = self._connect().execute(
                "SELECT text, tokens_in, tokens_out, truncated FROM chat WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return CachedChat(text=row[0], tokens_in=int(row[1]), tokens_out=int(row[2]),
                          truncated=bool(row[3]))

    def put_chat(self, key: str, model: str, text: str, tokens_in: int, tokens_out: int,
                 *, truncated: bool = False) -> None:
        with self._lock, self._file_errors():
            conn = self._connect()
            conn.execute(
                "INSERT OR REPLACE INTO chat(key, model, text, tokens_in, tokens_out, created,"
                " truncated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, text, int(tokens_in), int(tokens_out), time.time(),
                 int(bool(truncated))),
            )
            conn.commit()

    # -- embeddings ----------------------------------------------------------------------------
    def get_embeddings(self, model: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """Stored vectors for ``texts`` in order; ``None`` where a text has none yet."""
        keys = [embed_key(model, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock, self._file_errors():
            conn = self._connect()
            unique = list(dict.fromkeys(keys))
            for lo in range(0, len(unique), _CHUNK):
                chunk = unique[lo : lo + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, blob in conn.execute(
                    f"SELECT key, vec FROM embed WHERE key IN ({marks})", chunk
                ):
                    found[key] = np.frombuffer(blob, dtype="<f4").copy()
            hits = sum(1 for k in keys if k in found)
            self.hits += hits
            self.misses += len(keys) - hits
        return [found.get(k) for k in keys]

    def put_embeddings(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype="<f4")
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        rows = [
            (embed_key(model, t), model, int(v.shape[0]), v.tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock, self._file_errors():
            conn = self._connect()
            conn.executemany(
                "INSERT OR REPLACE INTO embed(key, model, dim, vec) VALUES (?, ?, ?, ?)", rows
            )
            conn.commit()

    # -- inspection ----------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Entry counts and this object's hit/miss counters."""
        with self._lock:
            conn = self._connect()
            chats = conn.execute("SELECT COUNT(*) FROM chat").fetchone()[0]
            embeds = conn.execute("SELECT COUNT(*) FROM embed").fetchone()[0]
            return {"chat": chats, "embed": embeds, "hits": self.hits, "misses": self.misses}


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a file of an older schema up to this one (schema 1 had no ``truncated``)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(chat)")}
    if "truncated" not in columns:
        conn.execute("ALTER TABLE chat ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0")
    conn.execute("INSERT OR REPLACE INTO meta(k, v) VALUES ('schema_version', ?)",
                 (str(SCHEMA_VERSION),))
