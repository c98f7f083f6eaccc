"""The exported harness itself: namespaces, persistence, delete, export/import, two
processes on one file, and the campaign's extraction/query steps with an OpenAI client.

The package is the quickstart's best program exported (``test_adapters.exported``), imported
in this process from its directory.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fakes import FakeOpenAIServer
from test_adapters import exported  # noqa: F401 - the module-scoped fixture

openai = pytest.importorskip("openai")

SECRET = "zebracorn-7781 lives at the lighthouse"


@pytest.fixture(scope="module")
def pkg(exported: tuple[Path, str]) -> ModuleType:  # noqa: F811
    out, package = exported
    sys.path.insert(0, str(out))
    importlib.invalidate_caches()
    return importlib.import_module(package + ".harness")


def _bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_namespaces_are_isolated_and_survive_a_restart(pkg: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    harness = pkg.Harness(str(path))
    harness.add(f"user: {SECRET}", namespace="a")
    harness.add("user: I keep bees in the garden", namespace="b")
    before = harness.read("where does zebracorn live?", namespace="a")
    assert "zebracorn" in before
    assert "zebracorn" not in harness.read("where does zebracorn live?", namespace="b")
    assert harness.read("where does zebracorn live?", namespace="nobody") == ""
    harness.close()
    reopened = pkg.Harness(str(path))
    assert reopened.read("where does zebracorn live?", namespace="a") == before
    assert [r.raw_text for r in reopened.list("b")] == ["user: I keep bees in the garden"]
    reopened.close()


def test_delete_removes_the_memory_from_the_program_and_the_file(pkg: ModuleType,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    harness = pkg.Harness(str(path))
    secret = harness.add(f"user: {SECRET}", namespace="a")
    harness.add("user: the lighthouse keeper is called Ode", namespace="a")
    assert b"zebracorn" in _bytes(path)
    assert harness.delete(secret.id) and not harness.delete(secret.id)
    assert "zebracorn" not in harness.read("who lives at the lighthouse?", namespace="a")
    assert "Ode" in harness.read("who is the lighthouse keeper?", namespace="a")
    harness.close()
    assert b"zebracorn" not in _bytes(path)  # secure_delete + WAL checkpoint


def _doors(harness: ModuleType, count: int, namespace: str = "a") -> None:
    for i in range(count):
        harness.add(f"user: fact {i}: the code word for door {i} is word{i * 13}",
                    namespace=namespace)


DOOR_QUESTIONS = ("what is the code word for door 3?", "which door has word91?", "door 11?")


def test_a_restart_restores_the_snapshot_and_replays_only_newer_writes(
        pkg: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pkg, "SNAPSHOT_MIN_ROWS", 5)
    path = tmp_path / "m.sqlite"
    harness = pkg.Harness(str(path))
    _doors(harness, 12)  # snapshots at 5 and 10 memories (doubling), then at close
    assert harness.store.snapshot_info("a")[1:3] == (10, 10)
    before = [harness.read(q, namespace="a") for q in DOOR_QUESTIONS]
    hits = [[h.row.id for h in harness.search(q, namespace="a").hits] for q in DOOR_QUESTIONS]
    harness.close()
    reopened = pkg.Harness(str(path))
    assert [reopened.read(q, namespace="a") for q in DOOR_QUESTIONS] == before
    assert [[h.row.id for h in reopened.search(q, namespace="a").hits]
            for q in DOOR_QUESTIONS] == hits
    assert reopened.replayed == 0  # nothing replayed: the snapshot holds all 12 writes
    reopened.add("user: fact 99: the code word for door 99 is zz", namespace="a")
    third = pkg.Harness(str(path))  # `reopened` is still open: no snapshot of the 13th write
    assert third.read("door 99?", namespace="a") == reopened.read("door 99?", namespace="a")
    assert third.replayed == 1
    full = pkg.Harness(str(path))  # the snapshot's state equals a full replay's
    with full.store.transaction():
        full.store.drop_snapshot("a")
    assert [full.read(q, namespace="a") for q in DOOR_QUESTIONS] == \
        [third.read(q, namespace="a") for q in DOOR_QUESTIONS]
    assert full.replayed == 13
    for h in (reopened, third, full):
        h.close()


def test_namespaces_evicted_from_the_process_are_snapshotted_and_restored(
        pkg: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pkg, "SNAPSHOT_MIN_ROWS", 3)
    harness = pkg.Harness(str(tmp_path / "m.sqlite"), max_loaded=1)
    _doors(harness, 4, "a")  # snapshot at 3; the 4th write is not in it
    _doors(harness, 1, "b")  # evicts "a" inside add's transaction: no snapshot can nest there
    assert harness.store.snapshot_info("a")[1] == 3
    replayed = harness.replayed
    assert "word39" in harness.read("what is the code word for door 3?", namespace="a")
    assert harness.replayed == replayed + 1  # restored, only the 4th write replayed
    harness.read("door 0?", namespace="b")  # evicts "a" outside a transaction: snapshotted
    assert harness.store.snapshot_info("a")[1] == 4
    harness.close()


def test_a_stale_or_hostile_snapshot_is_never_used(pkg: ModuleType, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    monkeypatch.setattr(pkg, "SNAPSHOT_MIN_ROWS", 1)
    path = tmp_path / "m.sqlite"
    harness = pkg.Harness(str(path))
    secret = harness.add(f"user: {SECRET}", namespace="a")
    _doors(harness, 3)
    assert harness.snapshot("a") and b"zebracorn" in _bytes(path)
    assert harness.delete(secret.id)
    assert harness.store.snapshot_info("a") is None  # the delete took the snapshot with it
    assert "zebracorn" not in harness.read("who lives at the lighthouse?", namespace="a")
    harness.close()  # snapshot of the 3 memories left (the read rebuilt the namespace)
    assert b"zebracorn" not in _bytes(path)
    reopened = pkg.Harness(str(path))
    assert "zebracorn" not in reopened.read("who lives at the lighthouse?", namespace="a")
    assert reopened.replayed == 0
    reopened.close()
    store = pkg.Store(str(path), pkg.METADATA["program_id"])
    store._conn.execute("UPDATE snapshots SET count = count + 1")  # rows it does not describe
    store.close()
    stale = pkg.Harness(str(path))
    assert "word26" in stale.read("what is the code word for door 2?", namespace="a")
    assert stale.replayed == 3
    stale.close()
    snapshot = importlib.import_module(pkg.__package__ + ".snapshot")
    hostile = pickle.dumps({"kb": __import__("os").system})
    with pytest.raises(snapshot.SnapshotError, match="may not name"):
        snapshot.load(pkg.Memory(), (0).to_bytes(8, "little") + hostile)
    import numpy.testing as numpy_testing  # numpy is allowed by name, not as a whole

    hostile = pickle.dumps({"kb": numpy_testing.assert_equal})
    with pytest.raises(snapshot.SnapshotError, match="may not name"):
        snapshot.load(pkg.Memory(), (0).to_bytes(8, "little") + hostile)


def test_export_and_import_of_a_namespace_rebuild_the_same_memory(pkg: ModuleType,
                                                                  tmp_path: Path) -> None:
    source = pkg.Harness(str(tmp_path / "one.sqlite"))
    for i in range(5):
        source.add(f"user: fact {i}: the code word for door {i} is word{i * 13}", namespace="a")
    records = json.loads(json.dumps(source.export_namespace("a")))  # JSON-safe
    target = pkg.Harness(str(tmp_path / "two.sqlite"))
    assert target.import_namespace("copy", records) == 5
    question = "what is the code word for door 3?"
    assert target.read(question, namespace="copy") == source.read(question, namespace="a")
    assert "word39" in target.read(question, namespace="copy")
    source.close()
    target.close()


def test_a_second_process_sees_writes_and_deletes(pkg: ModuleType, tmp_path: Path,
                                                 exported: tuple[Path, str]) -> None:  # noqa: F811
    path = tmp_path / "shared.sqlite"
    here = pkg.Harness(str(path))
    here.add("user: the boat is painted teal", namespace="a")
    assert "teal" in here.read("what colour is the boat?", namespace="a")
    out, package = exported
    script = (f"import sys; sys.path.insert(0, {str(out)!r}); "
              f"from {package}.harness import Harness; h = Harness({str(path)!r}); "
              "h.add('user: the kite is orange', namespace='a'); "
              "[h.delete(r.id) for r in h.list('a') if 'teal' in r.raw_text]; h.close()")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    after = here.read("what colour is the boat or the kite?", namespace="a")
    assert "orange" in after and "teal" not in after
    here.close()


def _responder(request: dict) -> str:
    last = request["messages"][-1]["content"]
    if "Oslo" in last and request.get("response_format"):
        # sloppy but usable: prose, a fence, single quotes and a trailing comma
        return "Sure!\n```json\n{'facts': ['Ana Lind moved to Oslo in May'], 'lessons': [],}\n```"
    if request.get("response_format"):
        return json.dumps({"question": "where did Ana move?", "keywords": ["Oslo", "moved"]})
    return "Oslo"


def test_extraction_and_query_steps_use_the_client_with_the_campaign_prompts(
        pkg: ModuleType, tmp_path: Path) -> None:
    prompts = importlib.import_module(pkg.__package__ + ".prompts")
    with FakeOpenAIServer(responder=_responder) as server:
        client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
        harness = pkg.Harness.from_openai(client, str(tmp_path / "m.sqlite"), "fake-chat")
        raw = "[8 May 2023]\nAna: I moved to Oslo last week!"
        row = harness.add(raw, namespace="a")
        # the best program's KnowledgeItem keeps the fields it declares (a 'lessons' key the
        # program does not have is dropped, as in the campaign)
        assert row.item["facts"] == ["Ana Lind moved to Oslo in May"]
        assert row.item.get("lessons", []) == []
        found = harness.search("Where did Ana move?", namespace="a")
        assert "Ana Lind moved to Oslo" in found.context
        sent = [r["json"]["messages"] for r in server.requests if r["path"].startswith("/chat")]
        assert sent[0] == prompts.extraction_messages(raw)
        assert sent[1] == prompts.query_messages("Where did Ana move?")
        assert harness.system_prompt().endswith(
            json.loads((Path(prompts.__file__).parent / "prompts.json").read_text())[
                "instruction_response"].strip())
        harness.close()
    with pytest.raises(ValueError):  # what the package parsed before: strict JSON only
        json.loads("{'facts': ['x'], 'lessons': [],}")
    assert prompts.parse_json_object("{'facts': ['x'], 'lessons': [],}") == {
        "facts": ["x"], "lessons": []}


def test_a_store_of_another_program_is_refused(pkg: ModuleType, tmp_path: Path) -> None:
    store_module = importlib.import_module(pkg.__package__ + ".store")
    path = tmp_path / "m.sqlite"
    store_module.Store(str(path), "another-program").close()
    with pytest.raises(store_module.StoreMismatch, match="another"):
        pkg.Harness(str(path))


def test_the_int8_prefilter_serves_big_collections_and_returns_the_exact_answer(
        pkg: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("usearch")
    import numpy as np

    ann = importlib.import_module(pkg.__package__ + ".ann")
    chroma = importlib.import_module(pkg.__package__ + "._runtime.chroma")
    monkeypatch.setattr(ann, "INDEX_MIN_ROWS", 500)
    assert isinstance(pkg.Memory().toolkit.chroma, ann.IndexedChromaClient)  # what programs get
    rng = np.random.default_rng(0)
    # structured, not random: 30 tight clusters, so many rows are nearly as close as the k-th,
    # and exact duplicates, so the tie order (insertion order) is tested too
    centres = rng.standard_normal((30, 64)).astype(np.float32)
    rows = centres[rng.integers(0, 30, 3000)] + 0.05 * rng.standard_normal((3000, 64)).astype(
        np.float32)
    rows[2000:2100] = rows[100:200]
    indexed = ann.IndexedCollection("c", None, {"hnsw:space": "cosine"})
    exact = chroma.Collection("c", None, {"hnsw:space": "cosine"})
    for store in (indexed, exact):
        for start in range(0, 3000, 250):
            store.add(ids=[str(i) for i in range(start, start + 250)],
                      embeddings=rows[start:start + 250],
                      documents=[f"doc {i}" for i in range(start, start + 250)],
                      metadatas=[{"even": i % 2 == 0} for i in range(start, start + 250)])
    queries = np.concatenate([centres[:10] + 0.05 * rng.standard_normal((10, 64)),
                              rows[100:105]]).astype(np.float32)
    for k in (10, 150):
        for query in queries:
            assert indexed.query(query_embeddings=[query], n_results=k) == \
                exact.query(query_embeddings=[query], n_results=k)
    assert indexed.prefiltered == 2 * len(queries)  # every query took the pre-filter
    assert indexed._int8 is not None and indexed._int8.size == 3000
    # a proof that cannot hold widens the candidates up to the full scan: still exact
    monkeypatch.setattr(ann, "KERNEL_MARGIN", 10.0)
    assert indexed.query(query_embeddings=[queries[0]], n_results=10) == \
        exact.query(query_embeddings=[queries[0]], n_results=10)
    assert indexed.widened > 0
    monkeypatch.setattr(ann, "KERNEL_MARGIN", 1e-4)
    filtered = {"even": True}
    assert indexed.query(query_embeddings=[queries[1]], n_results=10, where=filtered) == \
        exact.query(query_embeddings=[queries[1]], n_results=10, where=filtered)
    before = indexed.prefiltered
    indexed.add(ids=["new"], embeddings=[rows[7]], documents=["new"])  # kept up per add
    exact.add(ids=["new"], embeddings=[rows[7]], documents=["new"])
    assert indexed.query(query_embeddings=[rows[7]], n_results=5) == \
        exact.query(query_embeddings=[rows[7]], n_results=5)
    assert indexed.prefiltered == before + 1 and indexed._int8.size == 3001
    monkeypatch.setattr(ann, "INDEX_MIN_ROWS", 10**9)  # below the threshold: the exact path
    assert indexed.query(query_embeddings=queries[:3], n_results=10) == \
        exact.query(query_embeddings=queries[:3], n_results=10)
    assert indexed.prefiltered == before + 1


def test_threads_writing_many_namespaces_keep_each_one_whole(pkg: ModuleType,
                                                            tmp_path: Path) -> None:
    import threading

    harness = pkg.Harness(str(tmp_path / "m.sqlite"))

    def writer(user: str) -> None:
        for i in range(8):
            harness.add(f"user: {user} item {i} is {user}thing{i}", namespace=user)
            harness.read(f"what is {user} item {i}?", namespace=user)

    threads = [threading.Thread(target=writer, args=(f"u{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(4):
        texts = [r.raw_text for r in harness.list(f"u{k}")]
        assert len(texts) == 8 and all(f"u{k} item" in t for t in texts)
        read = harness.read("what is item 3?", namespace=f"u{k}")
        assert not any(f"u{j}thing" in read for j in range(4) if j != k)
    harness.close()
