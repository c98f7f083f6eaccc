"""Compare the offline embedders on speed and retrieval quality (not a test; run by hand).

    python bench/embedders.py [--names hashing,wordllama,hybrid,static64,minilm] [--n 2000]

Speed: texts/s embedding ``--n`` sentences of ~100 characters in one batch (after a warm-up),
latency of a one-text call (what a program's ``toolkit.embed`` / ``chroma.query`` pays), and
the cold load time measured in a fresh process (import + model load + first embed).

Quality, two retrieval sets:
- ``synth R@5``: questions of the built-in ``dialog-synth`` task (size small) against every
  dialogue line of their conversation (lines carry their session date, like the evidence);
  recall@5 of the gold evidence lines, averaged over questions that have evidence.
- ``para R@1`` / ``para R@5``: 100 programmatic paraphrase pairs -- 10 people x 10 relations,
  questions worded with synonyms of the passage ("occupation" vs "works as"); all 100 passages
  compete, and each person has 10 passages, so matching the name alone does not suffice.

Figures measured on the 2-core development machine while other jobs ran (load average ~3;
speed figures vary by +-50% from run to run, recall figures are exact):

    name        dim  load_s  texts/s  1-text ms  synth R@5  para R@1  para R@5
    hashing    1024    0.10    23796       0.04      0.622     0.200     0.520
    wordllama   256    0.36    17083       0.11      0.560     0.520     0.750
    hybrid     1280    0.38    10017       0.16      0.633     0.480     0.710
    static64     64    1.82    14863       0.24      0.302     0.240     0.520
    minilm      384    9.12       48     125.42      0.658     0.800     1.000

(MiniLM on an idle machine: ~300 texts/s, 5.7 s cold load.)

Choice of the ``offline`` default: ``hybrid`` = wordllama + hashing with equal weights. Among
the torch-free options it has the best recall on the lexical synthetic task (the exact names,
cities and numbers that hashing catches) and nearly wordllama's recall on paraphrases (the
synonyms that hashing cannot see); it still embeds ~10k texts/s on 2 cores and loads in
< 0.5 s from the wheels, so the offline quickstart does not notice it. MiniLM is the most
semantic but 30-200x slower and needs torch (not a project dependency); static64 is fast but
weakest; hashing alone is the dependency-free fallback when wordllama is missing.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

import numpy as np

from evolve.llm.embedder_factory import make_embedder

NAMES = ("hashing", "wordllama", "hybrid", "static64", "minilm")

_WORDS = (
    "garden morning coffee river train city market winter summer friend music teacher doctor "
    "kitchen window mountain library concert weekend holiday project meeting office bicycle "
    "dinner sister brother recipe painting museum harbour festival journey evening weather "
    "printer letter station ticket bakery cousin neighbour lantern meadow"
).split()


def speed_corpus(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences of roughly 100 characters.

    Two words in three come from a small common vocabulary, one in three is a random
    pseudo-word, so per-word caches cannot turn the run into pure lookups.
    """
    rng = random.Random(seed)
    syllables = ("ka", "lo", "mi", "ren", "tas", "vu", "por", "el", "sin", "dar", "qui", "no")
    out = []
    for _ in range(n):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 100:
            if rng.random() < 2 / 3:
                words.append(rng.choice(_WORDS))
            else:
                words.append("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
        out.append(" ".join(words).capitalize() + ".")
    return out


def cold_load_seconds(name: str) -> float:
    code = (
        "import time; t = time.perf_counter();"
        "from evolve.llm.embedder_factory import make_embedder;"
        f"make_embedder({name!r}).embed(['warm up']);"
        "print(time.perf_counter() - t)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


# -- quality sets ------------------------------------------------------------------------------
def synth_set() -> list[tuple[list[str], list[tuple[str, set[int]]]]]:
    """Per conversation: (passages, [(question, indices of evidence passages)])."""
    try:
        from evolve.tasks.registry import make_task

        task = make_task("dialog-synth", {"size": "small"})
    except ImportError:  # registry not there yet: build the task directly
        from evolve.tasks.synth.dialog_synth import DialogSynthTask

        task = DialogSynthTask(size="small")
    groups = []
    for group in task.groups("all"):
        passages: list[str] = []
        for episode in group.episodes:
            lines = episode.text.splitlines()
            header = lines[0] if lines and lines[0].startswith("[") else ""
            passages += [f"{header} {line}".strip() for line in lines[1:] if line.strip()]
        where = {p: i for i, p in enumerate(passages)}
        queries = []
        for item in group.items:
            gold = {where[e] for e in item.evidence if e in where}
            if gold:
                queries.append((item.question, gold))
        groups.append((passages, queries))
    return groups


_PEOPLE = ("Alice", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Julia")
_RELATIONS = (  # (passage template, question template, values)
    ("{n} works as a {v} at the clinic downtown.", "What is {n}'s occupation?",
     ("nurse", "surgeon", "pharmacist", "dentist", "radiologist")),
    ("{n} owns a small {v} called Biscuit.", "Which animal does {n} keep as a companion?",
     ("dog", "cat", "parrot", "rabbit", "hamster")),
    ("{n} resides in a flat in {v}.", "In which town is {n}'s home?",
     ("Lisbon", "Oslo", "Madrid", "Vienna", "Prague")),
    ("On weekends {n} enjoys {v}.", "What pastime does {n} like on Saturdays and Sundays?",
     ("hiking", "painting", "fishing", "knitting", "climbing")),
    ("{n} drives a red {v}.", "What vehicle does {n} have?",
     ("van", "truck", "sedan", "motorbike", "convertible")),
    ("{n}'s sister, {v}, teaches maths.", "Who is {n}'s female sibling?",
     ("Maria", "Sofia", "Elena", "Nora", "Lena")),
    ("{n} was born in {v}.", "In which year did {n} come into the world?",
     ("1984", "1990", "1979", "1995", "1988")),
    ("{n} cannot stand eating {v}.", "Which dish does {n} dislike?",
     ("mushrooms", "olives", "liver", "oysters", "broccoli")),
    ("{n} studied {v} at university.", "What did {n} major in at college?",
     ("physics", "history", "economics", "biology", "law")),
    ("{n} is terrified of {v}.", "What frightens {n}?",
     ("spiders", "heights", "thunder", "snakes", "crowds")),
)


def paraphrase_set() -> tuple[list[str], list[tuple[str, set[int]]]]:
    passages, queries = [], []
    for p, person in enumerate(_PEOPLE):
        for r, (passage, question, values) in enumerate(_RELATIONS):
            value = values[(p + r) % len(values)]
            queries.append((question.format(n=person), {len(passages)}))
            passages.append(passage.format(n=person, v=value))
    return passages, queries


def recall_at(embedder, passages: list[str], queries: list[tuple[str, set[int]]], k: int) -> float:
    docs = embedder.embed(passages)
    qs = embedder.embed([q for q, _ in queries])
    top = np.argsort(-(qs @ docs.T), axis=1, kind="stable")[:, :k]
    return float(np.mean([len(gold & set(row.tolist())) / len(gold) for row, (_, gold) in zip(top, queries, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", default=",".join(NAMES))
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    corpus = speed_corpus(args.n)
    synth = synth_set()
    para_passages, para_queries = paraphrase_set()
    header = f"{'name':<10} {'dim':>5} {'load_s':>7} {'texts/s':>8} {'1-text ms':>10} {'synth R@5':>10} {'para R@1':>9} {'para R@5':>9}"
    print(header)
    for name in args.names.split(","):
        try:
            embedder = make_embedder(name)
            embedder.embed(["warm up"])
        except Exception as exc:  # a missing optional backend is a row, not a crash
            print(f"{name:<10} unavailable: {exc}")
            continue
        load = cold_load_seconds(name)
        start = time.perf_counter()
        embedder.embed(corpus)
        rate = len(corpus) / (time.perf_counter() - start)
        start = time.perf_counter()
        for text in corpus[:50]:
            embedder.embed([text])
        one_ms = (time.perf_counter() - start) / 50 * 1000
        synth_r5 = float(np.mean([recall_at(embedder, p, q, 5) for p, q in synth]))
        para_r1 = recall_at(embedder, para_passages, para_queries, 1)
        para_r5 = recall_at(embedder, para_passages, para_queries, 5)
        print(
            f"{name:<10} {embedder.dim:>5} {load:>7.2f} {rate:>8.0f} {one_ms:>10.2f}"
            f" {synth_r5:>10.3f} {para_r1:>9.3f} {para_r5:>9.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
