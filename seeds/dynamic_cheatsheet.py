"""Dynamic Cheatsheet: one curated cheatsheet revised after every episode, plus a little retrieval.

Paper: Dynamic Cheatsheet (Suzgun et al.), arXiv:2504.07952 (2025)

Design: Dynamic Cheatsheet (Suzgun et al. 2025): instead of storing experiences, a curator
keeps one compact, evolving text of the most useful insights and rewrites it after each new
experience; the whole cheatsheet is given to the agent. We add DC-RS's idea of retrieving a few
similar past inputs: a small FTS5 search over the raw turns fills the rest of the budget.

Stores: the cheatsheet as a list of bullet entries (at most CHEATSHEET_CHARS characters), and
every dialogue turn in an FTS5 table for the retrieval part.
Write: new notes = item.notes (or the longest first-person lines of the raw text), dated with
the session date. ONE toolkit LLM call asks the curator to return the revised cheatsheet inside
<cheatsheet> tags. The revision is accepted only if it parses into bullets, fits the size, and
keeps at least KEEP_RATIO of the words of both the old entries and the new notes; otherwise the
deterministic merge is used: append the new notes, drop exact duplicates, then drop the oldest
entries until the cheatsheet fits.
Read: the full cheatsheet, then the RETRIEVE_K best-matching turns (with their session date) in
what remains of MAX_CHARS. 0 LLM calls at read.

Strengths: always-on, query-independent knowledge; the curator can merge, update and
generalise; cheap reads. Weaknesses: the fixed size forces forgetting (the deterministic merge
forgets the oldest notes first); the curator can drop or distort facts; one LLM call per write.

Toolkit LLM calls: 1 per write, 0 per read.
"""

import re
from dataclasses import dataclass

from ._shared import (
    _FIRST_PERSON,
    _HEADER,
    _episode_lines,
    _list_field,
    _match_expression,
    _query_text,
    _session_date,
    _split_date,
    _text_field,
)

# --- design parameters ---
CHEATSHEET_CHARS = 2000  # maximum size of the cheatsheet
RETRIEVE_K = 5  # raw turns retrieved at read time
USE_LLM_CURATOR = True  # revise with one LLM call per write (else: deterministic merge)
KEEP_RATIO = 0.5  # share of old and new words an LLM revision must keep to be accepted
DATE_NOTES = True  # prefix notes with their session date
FALLBACK_LINES = 5  # raw lines used as notes when the agent extracted none
MAX_NOTE_CHARS = 220  # one entry is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 1, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'notes' what is worth keeping on a cheatsheet from this episode: durable facts "
    "about people (jobs, homes, family, pets, plans, preferences, dated events), changes to "
    "earlier facts, and reusable strategies. One short self-contained sentence per note, with "
    "full names; keep time expressions as said."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' list the names, objects and "
    "topics a matching passage would mention."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Use the "
    "cheatsheet first and the excerpts to confirm; dated notes: resolve relative dates against "
    "the date given, and the latest note wins when facts changed. If the memory does not "
    "contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_SHEET = re.compile(r"<cheatsheet>(.*?)</cheatsheet>", re.DOTALL | re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9]+")
_STOP = frozenset(
    "a an the and or but if of to in on at for with from by about as is am are was were be been "
    "being do does did have has had i you he she it we they me him her us them my your his its "
    "our their this that these those what which who whom whose when where why how there here "
    "so not no yes just very really oh ok okay yeah can could would should will may might "
    "must any some all now currently current latest recent recently ever still".split())


@dataclass
class KnowledgeItem:
    notes: list[str] = _list_field("cheatsheet-worthy facts or strategies, one sentence each")


@dataclass
class Query:
    question: str = _text_field("the question, verbatim")
    keywords: list[str] = _list_field("names, objects and topics asked about")


def _terms(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}


def _size(entries: list[str]) -> int:
    return sum(len(e) + 3 for e in entries)


def _coverage(reference: list[str], text: str) -> float:
    wanted = _terms(" ".join(reference))
    return len(wanted & _terms(text)) / len(wanted) if wanted else 1.0


class KnowledgeBase:
    """A curated cheatsheet plus a small turn index."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.db = toolkit.db
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS dc_turns USING fts5("
                        "body, header UNINDEXED, tokenize='porter unicode61')")
        self.db.commit()
        self.entries: list[str] = []

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines = _episode_lines(raw_text)
        header = lines[0] if lines and _HEADER.match(lines[0]) else ""
        body = lines[1:] if header else lines
        date = _session_date(lines)
        notes = [" ".join(str(n).split())[:MAX_NOTE_CHARS] for n in (item.notes or [])]
        notes = [n for n in notes if n and n.lower() not in {"filler", "none"}]
        if not notes:
            personal = [ln for ln in body if _FIRST_PERSON.search(ln)]
            longest = set(sorted(personal, key=len, reverse=True)[:FALLBACK_LINES])
            notes = [ln[:MAX_NOTE_CHARS] for ln in body if ln in longest]
        fresh = []
        for note in notes:
            text, when = _split_date(note, date)
            fresh.append(f"[{when}] {text}" if DATE_NOTES and when else text)
        merged = self._merge(self.entries, fresh)
        revised = self._curate(fresh, date) if USE_LLM_CURATOR and fresh else None
        self.entries = revised if revised is not None else merged
        if body:
            self.db.executemany("INSERT INTO dc_turns(body, header) VALUES (?, ?)",
                                [(ln, header) for ln in body])
            self.db.commit()

    @staticmethod
    def _merge(old: list[str], fresh: list[str]) -> list[str]:
        """Deterministic curation: append, de-duplicate, forget the oldest beyond the size."""
        seen, entries = set(), []
        for entry in [*old, *fresh]:
            key = " ".join(sorted(_terms(re.sub(r"^\[[^\]]*\]\s*", "", entry))))
            if key and key not in seen:
                seen.add(key)
                entries.append(entry)
        while entries and _size(entries) > CHEATSHEET_CHARS:
            entries.pop(0)
        return entries

    def _curate(self, fresh: list[str], date: str) -> list[str] | None:
        sheet = "\n".join(f"- {e}" for e in self.entries) or "(empty)"
        prompt = (
            "You curate a cheatsheet: the compact memory an assistant reads before answering "
            "questions about past conversations.\n\n"
            f"Current cheatsheet:\n{sheet}\n\n"
            f"New notes from the session of {date or 'an unknown date'}:\n"
            + "\n".join(f"- {n}" for n in fresh)
            + f"\n\nRevise the cheatsheet: keep entries that are still useful, update entries "
            "the new notes change (newest wins, mention the change), add the new information, "
            "merge duplicates, keep each entry's [date] prefix. At most "
            f"{CHEATSHEET_CHARS} characters. Reply with the revised cheatsheet between "
            "<cheatsheet> and </cheatsheet>, one '- ' bullet per entry."
        )
        try:
            reply = str(self.toolkit.llm_completion([{"role": "user", "content": prompt}]) or "")
        except Exception as exc:  # the deterministic merge takes over
            self.toolkit.logger.warning(f"curator call failed: {exc}")
            return None
        match = _SHEET.search(reply)
        if not match:
            return None
        entries = [ln.strip()[2:].strip() for ln in match.group(1).split("\n")
                   if ln.strip().startswith(("- ", "* "))]
        entries = [e[:MAX_NOTE_CHARS] for e in entries if e]
        text = "\n".join(entries)
        if not entries or _size(entries) > CHEATSHEET_CHARS * 1.2:
            return None
        if _coverage(fresh, text) < KEEP_RATIO or _coverage(self.entries, text) < KEEP_RATIO:
            return None
        while _size(entries) > CHEATSHEET_CHARS:
            entries.pop(0)
        return entries

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        entries = list(self.entries)
        out = ("Cheatsheet:\n" + "\n".join(f"- {e}" for e in entries)) if entries else ""
        expression = _match_expression(
            _query_text(query), _STOP)
        if expression and RETRIEVE_K > 0:
            rows = self.db.execute(
                "SELECT header, body FROM dc_turns WHERE dc_turns MATCH ? "
                "ORDER BY bm25(dc_turns) LIMIT ?", (expression, RETRIEVE_K)).fetchall()
            excerpts = []
            used = len(out) + 22
            for header, body in rows:
                line = f"{header} {body}".strip()
                if used + len(line) + 1 > MAX_CHARS:
                    continue
                excerpts.append(line)
                used += len(line) + 1
            if excerpts:
                out = (out + "\n\n" if out else "") + "Related excerpts:\n" + "\n".join(excerpts)
        return out[:MAX_CHARS]
