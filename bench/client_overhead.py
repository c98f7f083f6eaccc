"""Client-side CPU per chat call: the typed ``openai`` call vs the path evolve uses (issue #6).

Run: ``python bench/client_overhead.py [--calls 300] [--prompt-words 300] [--in-flight 128]
[--burst-calls 1536]``.

Against the benchmark fake endpoint with 0 ms latency (``_fake_llm.py``, in a child process so
its CPU is not counted), ``--calls`` sequential chat completions of a QA-sized prompt are sent
three ways, side by side in one run:

- ``typed create``: ``client.chat.completions.create(...)`` (params transform + response model);
- ``evolve``: ``OpenAIChatModel.complete`` (the same ``openai`` client, raw ``client.post`` with
  the reply as bytes and our own JSON reading, plus retry policy and limiter);
- ``http floor``: a bare POST with the HTTP client library the ``openai`` client is built on
  (``httpx2``, or ``httpx`` for older releases), no openai machinery at all.

Per way: CPU time of this process per call (``time.process_time``; the GIL-bound part that
limits how many concurrent evaluations one orchestrator can drive) and wall time per call, and
the CPU ratio to ``typed create``. Every way must return the same text (checked).

Burst table: against a 200 ms endpoint, ``--burst-calls`` calls with ``--in-flight`` of them
in flight at once (a batch of evaluations), through ``OpenAIChatModel`` with its requests
spread over several clients (the default, ``client_ring``) and with one client for all of
them (``max_clients=1``, one connection pool), three times each, interleaved: CPU of this process per
call, wall time, the ideal ``calls / in-flight x latency`` and the clients used.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _fake_llm import FakeEndpoint, load_text, print_table, ratio, use_dummy_key

from evolve.llm.client_ring import MAX_CLIENTS
from evolve.llm.openai_chat import OpenAIChatModel, make_client

BURST_LATENCY_S = 0.2


def _http_library() -> Any:
    try:
        import httpx2 as library  # what openai 3.x is built on
    except ImportError:
        import httpx as library
    return library


def _measure(call: Callable[[], str], calls: int) -> tuple[float, float, str]:
    for _ in range(20):  # warm the connection pool and any lazy imports
        text = call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        call()
    return ((time.process_time() - cpu) / calls * 1000, (time.perf_counter() - wall) / calls * 1000,
            text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--prompt-words", type=int, default=300)
    parser.add_argument("--in-flight", type=int, default=128)
    parser.add_argument("--burst-calls", type=int, default=1536)
    args = parser.parse_args()
    use_dummy_key()
    messages = [
        {"role": "system", "content": "Answer the question from the memory context. " * 10},
        {"role": "user", "content": "Question: when did Alice move to Lisbon?\nContext:\n"
         + " ".join(f"word{i % 97}" for i in range(args.prompt_words))},
    ]
    print(f"client_overhead: {args.calls} sequential calls, {load_text()}", flush=True)
    with FakeEndpoint(0.0) as endpoint:
        client = make_client(endpoint.url, "sk-bench-dummy", 60)
        model = OpenAIChatModel(endpoint.model, base_url=endpoint.url, api_key="sk-bench-dummy")
        plain = _http_library().Client(base_url=endpoint.url, timeout=60,
                                       headers={"Authorization": "Bearer sk-bench-dummy"})
        body = {"model": endpoint.model, "messages": messages, "temperature": 0.0}
        ways: list[tuple[str, Callable[[], str]]] = [
            ("typed create", lambda: client.chat.completions.create(**body)  # type: ignore[arg-type]
             .choices[0].message.content or ""),
            ("evolve", lambda: model.complete(messages).text),
            ("http floor", lambda: plain.post("/chat/completions", json=body)
             .json()["choices"][0]["message"]["content"]),
        ]
        results = [(name, *_measure(call, args.calls)) for name, call in ways]
    base = results[0][1]
    texts = {text for *_, text in results}
    print_table(["way", "cpu ms/call", "wall ms/call", "cpu vs typed create"],
                [[name, f"{cpu:.2f}", f"{wall:.2f}", ratio(cpu, base)]
                 for name, cpu, wall, _ in results],
                "client CPU per chat call (0 ms endpoint in another process)")
    print("same text from every way: " + ("yes" if len(texts) == 1 else f"NO ({len(texts)})"))
    _burst(messages, args.in_flight, args.burst_calls)
    print(f"after: {load_text()}")


def _complete(model: OpenAIChatModel, messages: list[dict[str, str]], _: int) -> str:
    return model.complete(messages).text


def _burst(messages: list[dict[str, str]], in_flight: int, calls: int) -> None:
    rows = []
    with FakeEndpoint(BURST_LATENCY_S) as endpoint, ThreadPoolExecutor(in_flight) as pool:
        for attempt in range(3):
            for name, clients in (("client ring", MAX_CLIENTS), ("one client", 1)):
                model = OpenAIChatModel(endpoint.model, base_url=endpoint.url,
                                        api_key="sk-bench-dummy", concurrency=in_flight,
                                        max_clients=clients)
                call = functools.partial(_complete, model, messages)
                list(pool.map(call, range(2 * in_flight)))  # warm the pools
                cpu, wall = time.process_time(), time.perf_counter()
                list(pool.map(call, range(calls)))
                rows.append([f"{name} ({attempt + 1})",
                             f"{(time.process_time() - cpu) / calls * 1000:.2f}",
                             f"{time.perf_counter() - wall:.2f}",
                             f"{calls / in_flight * BURST_LATENCY_S:.2f}",
                             str(len(model._clients))])
    print_table(["way", "cpu ms/call", "wall s", "ideal s", "clients"], rows,
                f"burst: {calls} calls, {in_flight} in flight, "
                f"{BURST_LATENCY_S * 1000:.0f} ms endpoint")


if __name__ == "__main__":
    main()
