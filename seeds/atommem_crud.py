"""AtomMem-style atomic CRUD memory: every write is a create/update/delete/no-op per atomic fact.

Paper: AtomMem (Huo et al.), arXiv:2601.08323 (2026)

Design: AtomMem ("Learnable Dynamic Agentic Memory with Atomic Memory Operation") replaces
hand-written memory workflows by four atomic operations over a set of memory entries: Create,
Read, Update, Delete; a (trained) policy decides which to apply. Here each episode is cut into
atomic facts (one claim each); for every atom the memory first READs the entries about the
same subject and slot and its nearest entries, then one decision per atom is taken: CREATE a
new entry, UPDATE an entry in place (its text is replaced and its version counter grows; no
copy of the old value is kept), DELETE an entry the atom shows to be no longer true, or NOOP
when the atom is already known. The decision comes from ONE toolkit LLM call for the whole
episode (the policy); when the reply is not the JSON asked for, deterministic rules decide:
distance <= DUPLICATE_DIST -> NOOP; a negation cue (NEGATION: "no longer", "sold", "quit")
about the same subject that repeats a content word of an entry -> DELETE that entry and
CREATE the atom; same subject and same single-valued slot (SLOTS: job, home) -> UPDATE;
otherwise CREATE.

Stores: the live entries in a toolkit.chroma collection (cosine space) with metadata (date,
version, subject, slot), plus an operation log (self.ops: (op, entry id, text)) for inspection.
Write: atoms = item.facts split into single sentences (fallback: first-person raw lines,
else informative ones), each keeping its "[date] Speaker:" prefix; READ + decide + apply as
above. Read: vector search over the live entries; TOP_K best as "- [date] fact".
Prompting: INSTRUCTION_KNOWLEDGE_ITEM asks for one atomic fact per entry with full names;
INSTRUCTION_RESPONSE says entries are current (updated in place).

Strengths: memory stays compact and consistent (no stale duplicates); deletes are explicit.
Weaknesses: in-place updates forget the old value (questions about history lose); a wrong
UPDATE destroys a fact; the rule policy only knows the slots it is given.

Toolkit LLM calls: at most 1 per write (only when an atom has stored neighbours), 0 per read.
"""

import json
import re
from dataclasses import dataclass

from ._shared import (
    _SPEAKER,
    _WORD,
    Query,
    _cosine_collection,
    _dated_lines,
    _extracted,
    _fallback,
    _list_field,
    _query_text,
    _split_date,
)

# --- design parameters ---
TOP_K = 20  # entries returned per read
NEIGHBOURS = 3  # stored entries READ for each atom before deciding
DUPLICATE_DIST = 0.06  # cosine distance under which an atom is already known (NOOP)
RELATED_DIST = 0.7  # nearest entries farther than this are not READ for an atom
USE_LLM_POLICY = True  # ask the toolkit LLM for the CRUD decisions (1 call per write)
SLOTS = {  # single-valued attributes: a newer value UPDATEs the entry in place
    "job": r"\b(?:works?|working|worked|employed|hired|job|career|profession)\b",
    "home": r"\b(?:live[sd]?|living|moved|moving|relocated)\b",
}
NEGATION = r"\b(?:no longer|not anymore|any ?more|stopped|quit|gave up|sold|lost)\b"
SPLIT_SENTENCES = True  # cut multi-sentence facts into atoms
FALLBACK_LINES = 8  # raw lines used as atoms when the agent extracted none
MAX_ATOM_CHARS = 300  # one atom is clipped to this length
MAX_CHARS = 3000  # read() budget (hard cap 3000)
# --- end design parameters ---

TOOLKIT_LLM_CALLS = {"write": 1, "read": 0}

INSTRUCTION_KNOWLEDGE_ITEM = (
    "List in 'facts' the atomic facts of the episode: one claim per entry (who did what, "
    "where, when), with full names instead of pronouns, keeping time expressions as said. "
    "Split compound statements. Include changes ('Ana moved to Oslo', 'Ben no longer owns a "
    "car'). Skip small talk."
)
INSTRUCTION_QUERY = (
    "Copy the question verbatim into 'question'. In 'keywords' list the people, objects and "
    "topics the answer is about."
)
INSTRUCTION_RESPONSE = (
    "Answer with a short phrase (names, dates, numbers), not a full sentence. Entries are "
    "current: outdated ones were updated in place or deleted. Resolve relative dates against "
    "the date of the entry. If the memory does not contain the answer, answer 'not mentioned'."
)
ALWAYS_ON_KNOWLEDGE = ""

_RELATIVE = re.compile(
    r"\b(?:[Mm]y|[Hh]is|[Hh]er|[A-Z]\w+'s) (?:[a-z]+ )?(?:sister|brother|mother|father|mom|dad|"
    r"aunt|uncle|cousin|nephew|niece|grandmother|grandfather|grandma|grandpa|son|daughter|"
    r"wife|husband|partner|friend|neighbou?r|boss|colleague) ([A-Z][a-z]+)")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z])")
_OPS = ("CREATE", "UPDATE", "DELETE", "NOOP")
_COMMON = frozenset(
    "have has had been with that this they them their there what when where which about "
    "longer anymore more just really still some very your from into over went gave sold lost "
    "quit stopped".split())


@dataclass
class KnowledgeItem:
    facts: list[str] = _list_field("atomic facts, one claim per entry, with full names")


def _atoms(text: str) -> list[str]:
    """Single-claim pieces of one fact; each keeps the fact's "Speaker:" prefix."""
    match = _SPEAKER.match(text)
    prefix, body = (f"{match.group(1)}: ", match.group(2)) if match else ("", text)
    pieces = _SENTENCE.split(body) if SPLIT_SENTENCES else [body]
    return [f"{prefix}{p.strip()}"[:MAX_ATOM_CHARS] for p in pieces if len(p.split()) >= 2]


def _subject(text: str) -> str:
    """Whom an atom is about: a named relative ("my sister Maya"), else the speaker or the
    leading name."""
    relative = _RELATIVE.search(text)
    if relative:
        return relative.group(1).lower()
    match = _SPEAKER.match(text)
    if match:
        return match.group(1).lower()
    words = _WORD.findall(text)
    return words[0].lower() if words and words[0][0].isupper() else ""


def _content(text: str) -> set[str]:
    """Content words after the speaker prefix (names and nouns a contradiction repeats)."""
    match = _SPEAKER.match(text)
    body = match.group(2) if match else text
    return {w.lower() for w in _WORD.findall(body) if len(w) > 3} - _COMMON


def _slot(text: str) -> str:
    for name, pattern in SLOTS.items():
        if re.search(pattern, text, re.IGNORECASE):
            return name
    return ""


def _parse_decisions(reply: str, n_atoms: int, known: set[str]) -> dict[int, tuple[str, str]]:
    """{atom index: (op, target id)} from the policy's JSON reply; {} when unusable."""
    text = str(reply or "")
    start = text.find("{")
    if start < 0:
        return {}
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return {}
    ops = value.get("operations") if isinstance(value, dict) else None
    out: dict[int, tuple[str, str]] = {}
    for op in ops if isinstance(ops, list) else []:
        if not isinstance(op, dict):
            continue
        name = str(op.get("op", op.get("event", ""))).upper()
        index = str(op.get("atom", op.get("fact", ""))).lstrip("a").lstrip("n")
        target = str(op.get("target", op.get("id", "")))
        if name not in _OPS or not index.isdigit() or int(index) >= n_atoms:
            continue
        if name in ("UPDATE", "DELETE") and target not in known:
            continue
        out[int(index)] = (name, target)
    return out


class KnowledgeBase:
    """A set of atomic entries changed only through CRUD operations."""

    def __init__(self, toolkit):
        self.toolkit = toolkit
        self.entries = _cosine_collection(toolkit, "atommem_entries")
        self.next_id = 0
        self.ops: list[tuple[str, str, str]] = []  # (op, entry id, text): the operation log

    # -- write ---------------------------------------------------------------------------
    def write(self, item: KnowledgeItem, raw_text: str) -> None:
        lines, date = _dated_lines(raw_text)
        facts = _extracted(item.facts)
        if not facts:
            facts = _fallback(lines, FALLBACK_LINES)
        atoms, dates, seen = [], [], set()
        for fact in facts:
            text, when = _split_date(fact, date)
            for atom in _atoms(text):
                if atom.lower() not in seen:
                    seen.add(atom.lower())
                    atoms.append(atom)
                    dates.append(when)
        if not atoms:
            return
        vectors = self.toolkit.embed(atoms)  # one embedding call per write
        near = self._read_neighbours(atoms, vectors)
        decisions = {}
        if USE_LLM_POLICY and any(near):
            decisions = self._policy(atoms, near)
        for index, atom in enumerate(atoms):
            op, target = decisions.get(index) or self._rule(atom, near[index])
            self._apply(op, target, atom, dates[index], vectors[index])

    def _read_neighbours(self, atoms: list[str], vectors: list) -> list[list[tuple]]:
        """READ: for every atom, the entries about the same subject and slot plus its
        nearest entries, as (id, text, distance)."""
        if self.entries.count() == 0:
            return [[] for _ in vectors]
        found = self.entries.query(query_embeddings=vectors, n_results=NEIGHBOURS)
        out = []
        for atom, ids, docs, dists in zip(atoms, found["ids"], found["documents"],
                                          found["distances"], strict=True):
            near = [(i, d or "", float(x)) for i, d, x in zip(ids, docs, dists, strict=True)
                    if float(x) <= RELATED_DIST]
            subject, slot = _subject(atom), _slot(atom)
            if subject and slot:
                same = self.entries.get(where={"$and": [{"subject": subject}, {"slot": slot}]})
                near += [(i, d or "", RELATED_DIST) for i, d in zip(same["ids"],
                                                                   same["documents"],
                                                                   strict=True)
                         if all(i != n[0] for n in near)]
            out.append(near)
        return out

    def _policy(self, atoms, near) -> dict[int, tuple[str, str]]:
        shown = {}
        for entries in near:
            for entry_id, text, _ in entries:
                shown[entry_id] = text
        prompt = (
            "You manage a memory of atomic facts with four operations: CREATE (store a new "
            "fact), UPDATE (replace the text of an existing entry: the new fact changes it), "
            "DELETE (remove an existing entry that is no longer true), NOOP (already known).\n"
            "Existing entries:\n" + "\n".join(f"[{k}] {v}" for k, v in shown.items())
            + "\n\nNew atomic facts:\n" + "\n".join(f"[a{i}] {a}" for i, a in enumerate(atoms))
            + "\n\nChoose one operation per new fact. Reply with JSON only: "
            '{"operations": [{"atom": "a0", "op": "UPDATE", "target": "e3"}]}'
        )
        try:
            reply = self.toolkit.llm_completion([{"role": "user", "content": prompt}],
                                                json_mode=True)
        except Exception as exc:  # the rule policy takes over
            self.toolkit.logger.warning(f"CRUD policy call failed: {exc}")
            return {}
        return _parse_decisions(reply, len(atoms), set(shown))

    @staticmethod
    def _rule(atom: str, near: list[tuple[str, str, float]]) -> tuple[str, str]:
        if not near:
            return "CREATE", ""
        if near[0][2] <= DUPLICATE_DIST:
            return "NOOP", near[0][0]
        subject = _subject(atom)
        if not subject:
            return "CREATE", ""
        slot = _slot(atom)
        negated = re.search(NEGATION, atom, re.IGNORECASE)
        for entry_id, text, _ in near:
            if _subject(text) != subject:
                continue
            if negated and not re.search(NEGATION, text, re.IGNORECASE) \
                    and _content(atom) & _content(text):  # it contradicts what it names
                return "DELETE", entry_id
            if slot and _slot(text) == slot:
                return "UPDATE", entry_id
        return "CREATE", ""

    def _apply(self, op: str, target: str, atom: str, date: str, vector: list) -> None:
        if op == "NOOP":
            self.ops.append(("NOOP", target, atom))
            return
        if op == "UPDATE" and self.entries.get(ids=[target])["ids"]:
            meta = self.entries.get(ids=[target])["metadatas"][0] or {}
            self.entries.update(ids=[target], documents=[atom], embeddings=[vector], metadatas=[{
                "date": date, "version": int(meta.get("version", 1)) + 1,
                "subject": _subject(atom), "slot": _slot(atom)}])
            self.ops.append(("UPDATE", target, atom))
            return
        if op == "DELETE" and target:
            self.entries.delete(ids=[target])
            self.ops.append(("DELETE", target, atom))
            # the atom itself ("Ben sold his car") is still news: it is created below
        entry_id = f"e{self.next_id}"
        self.next_id += 1
        self.entries.add(ids=[entry_id], documents=[atom], embeddings=[vector], metadatas=[{
            "date": date, "version": 1, "subject": _subject(atom), "slot": _slot(atom)}])
        self.ops.append(("CREATE", entry_id, atom))

    # -- read ----------------------------------------------------------------------------
    def read(self, query: Query) -> str:
        text = _query_text(query)
        if not text or self.entries.count() == 0:
            return ""
        found = self.entries.query(query_texts=[text], n_results=TOP_K)
        out, used = [], 0
        for doc, meta in zip(found["documents"][0], found["metadatas"][0], strict=True):
            meta = meta or {}
            line = f"- [{meta['date']}] {doc}" if meta.get("date") else f"- {doc}"
            if used + len(line) + 1 > MAX_CHARS:
                continue
            out.append(line)
            used += len(line) + 1
        return "\n".join(out)[:MAX_CHARS]
