"""The offline stand-in model: each step on its own, then the acceptance figures on the
synthetic task with simulated memory programs run in-process through the real prompts."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable

import pytest

from evolve.agent.prompts import answer_messages, extraction_messages, query_messages
from evolve.llm.base import ChatModel
from evolve.llm.offline import NOT_MENTIONED, OfflineModel
from evolve.tasks.synth.dialog_synth import DialogSynthTask

MODEL = OfflineModel()
EPISODE = """[1:56 pm on 8 May, 2023]
Ana: Hey Ben! How have you been?
Ben: Pretty good, thanks. It has been a busy stretch.
Ana: Guess what. I adopted a dog named Biscuit last Saturday!
Ben: Aww, congratulations!
Ana: I also work as a nurse at the clinic now.
Ben: My sister Maya lives in Porto these days."""


ASK = ("Answer with a short phrase. Resolve relative dates against the date of their line; "
       "the latest value wins when facts changed.")


def _ask(question: str, memory: str, instruction: str = ASK) -> str:
    qmsgs = query_messages("Make a lookup.", [{"name": "question", "type": "str"}], question)
    qjson = MODEL.complete(qmsgs, json_mode=True).text
    return MODEL.complete(answer_messages(qmsgs, qjson, always_on="", retrieved=memory,
                                          instruction=instruction, question=question)).text


# ---------------------------------------------------------------- model contract


def test_is_a_deterministic_chat_model_with_token_estimates():
    assert isinstance(MODEL, ChatModel) and MODEL.name == "offline"
    messages = extraction_messages("Extract.", [{"name": "summary", "type": "str"}], EPISODE)
    first, second = MODEL.complete(messages), MODEL.complete(messages, temperature=1.0)
    assert first.text == second.text
    assert first.tokens_in >= len(messages[1]["content"]) // 4 > 0
    assert first.tokens_out == max(1, len(first.text) // 4)


# ---------------------------------------------------------------- extraction and query


def test_extraction_fills_every_field_by_role_and_type():
    fields = [
        {"name": "facts", "type": "list[str]", "description": "facts stated"},
        {"name": "event_date", "type": "str"},
        {"name": "speakers", "type": "list[str]"},
        {"name": "keywords", "type": "list[str]"},
        {"name": "raw_text", "type": "str"},
        {"name": "summary", "type": "str"},
        {"name": "important", "type": "bool"},
        {"name": "importance", "type": "int"},
        {"name": "score", "type": "float"},
        {"name": "mood", "type": "Optional[str]"},
        {"name": "blob", "type": "str", "description": "the key facts, one per line"},
    ]
    out = json.loads(MODEL.complete(extraction_messages("Extract.", fields, EPISODE),
                                    json_mode=True).text)
    assert set(out) == {f["name"] for f in fields}
    assert "[8 May, 2023] Ana: I adopted a dog named Biscuit last Saturday" in out["facts"]
    assert "[8 May, 2023] Ben: My sister Maya lives in Porto these days" in out["facts"]
    assert not any("How have you been" in f or "congratulations" in f for f in out["facts"])
    assert out["event_date"] == "8 May, 2023"
    assert out["speakers"] == ["Ana", "Ben"]
    assert {"Biscuit", "Maya", "nurse", "dog", "porto"} <= set(out["keywords"])
    assert out["raw_text"] == EPISODE
    assert "Biscuit" in out["summary"] and "8 May, 2023" in out["summary"]
    assert out["important"] is False and out["importance"] == 0 and out["score"] == 0.0
    assert "Biscuit" in out["blob"]


def test_query_fills_question_keywords_names_and_type():
    fields = [{"name": "question", "type": "str"}, {"name": "keywords", "type": "list[str]"},
              {"name": "speaker", "type": "Optional[str]"}, {"name": "when", "type": "Optional[str]"},
              {"name": "question_type", "type": "str"}, {"name": "top_k", "type": "int"}]
    out = json.loads(MODEL.complete(query_messages(
        "Q", fields, "Where does Ana live now?"), json_mode=True).text)
    assert out["question"] == "Where does Ana live now?"
    assert out["keywords"][0] == "Ana" and "live" in out["keywords"]
    assert {"based", "apartment"} <= set(out["keywords"])  # synonyms help keyword retrieval
    assert out["speaker"] == "Ana" and out["when"] is None
    assert out["question_type"] == "knowledge-update" and out["top_k"] == 5
    when = json.loads(MODEL.complete(query_messages(
        "Q", fields, "When did Ana adopt Biscuit?"), json_mode=True).text)
    assert when["question_type"] == "temporal"


# ---------------------------------------------------------------- answering


@pytest.mark.parametrize("question,expected", [
    ("When did Ana adopt Biscuit?", "6 May 2023"),  # 8 May 2023 is a Monday
    ("What is the name of Ana's dog?", "Biscuit"),
    ("What kind of animal is Biscuit?", "dog"),
    ("What does Ana do for a living?", "nurse"),
    ("What is the name of Ben's sister?", "Maya"),
    ("Where does Ben's sister Maya live?", "Porto"),
    ("What is the name of Ben's dog?", NOT_MENTIONED),  # Ana's dog, not Ben's
    ("Where does Ben live?", NOT_MENTIONED),  # the sentence is about his sister
    ("What is the name of Ana's cat?", NOT_MENTIONED),
    ("When did Ana run a marathon?", NOT_MENTIONED),
])
def test_answers_from_a_raw_session(question, expected):
    assert _ask(question, EPISODE) == expected


def test_count_question_without_a_countable_noun_in_memory_abstains_not_crashes():
    # Found on real LoCoMo: "How many children ..." over evidence that names a son and "kids"
    # but no number made answer_question call max() on nothing (ValueError, exit 1).
    memory = ("[3 March, 2024]\nRosa: My son fell off his bike at the park yesterday.\n"
              "Rosa: The little ones were shaken up, but they are brave kids.")
    for question in ("How many children does Rosa have?", "How many times did Rosa fall?"):
        answer = _ask(question, memory)
        assert isinstance(answer, str) and answer


@pytest.mark.parametrize("phrase,expected", [
    ("yesterday", "7 May 2023"), ("two weeks ago", "24 April 2023"),
    ("three days ago", "5 May 2023"), ("last Sunday", "7 May 2023"),
    ("last Monday", "1 May 2023"), ("this morning", "8 May 2023"),
    ("last month", "April 2023"), ("last week", "the week before 8 May 2023"),
    ("last summer", "the summer of 2022"), ("last winter", "the winter of 2022"),
    ("this spring", "the spring of 2023"),
])
def test_relative_dates_resolve_against_the_line_date(phrase, expected):
    memory = f"[8 May, 2023] Ana: I went to a jazz concert {phrase}."
    assert _ask("When did Ana go to a jazz concert?", memory) == expected


def test_dates_come_from_the_nearest_preceding_header_or_are_missing():
    memory = ("[3 March, 2023]\nBen: Nice weather.\n[9 June, 2023]\n"
              "Ben: Some small talk.\nAna: I ran a half marathon yesterday.")
    assert _ask("When did Ana run a half marathon?", memory) == "8 June 2023"
    assert _ask("When did Ana run a half marathon?",
                "Ana: I ran a half marathon yesterday.") == "yesterday"


def test_knowledge_update_takes_the_latest_value():
    dated = ("[20 June, 2023] Ana: We finally moved to Porto last Saturday!\n"
             "[2 March, 2023] Ana: I live in Lisbon these days.")
    assert _ask("Where does Ana live now?", dated) == "Porto"
    assert _ask("Which cities has Ana lived in?", dated) == "Lisbon, Porto"
    undated = "Ana: We finally moved to Porto!\nAna: I live in Lisbon these days."
    assert _ask("Where does Ana live now?", undated) == "Lisbon"  # last one wins without dates


def test_list_questions_aggregate_supported_values():
    memory = ("Ana: I took up pottery last week.\nBen: I started chess lessons.\n"
              "Ana: I picked up rock climbing yesterday, it is so relaxing.\n"
              "Ana: I watched a climbing film.")
    assert _ask("What hobbies has Ana taken up?", memory) == "pottery, rock climbing"


def test_robust_to_json_dumps_summaries_and_cut_chunks():
    dump = json.dumps([{"date": "8 May, 2023", "facts": [
        "[8 May, 2023] Ana: I adopted a dog named Biscuit last Saturday"]}])
    assert _ask("When did Ana adopt Biscuit?", dump) == "6 May 2023"
    summary = "Ana adopted a dog named Biscuit on 6 May 2023. Ana works as a nurse."
    assert _ask("When did Ana adopt Biscuit?", summary) == "6 May 2023"
    assert _ask("What does Ana do for a living?", summary) == "nurse"
    chunk = "ted a dog named Biscuit last Saturday!\nBen: Aww, I love that."
    assert _ask("What is the name of Ana's dog?", chunk) == NOT_MENTIONED  # speaker was cut
    assert _ask("When did Ana adopt Biscuit?", "") == NOT_MENTIONED


@pytest.mark.parametrize("question,expected", [
    ("Where is Ana living these days?", "Porto"),
    ("What is Ana's current city?", "Porto"),
    ("Which town did Ana move to?", "Porto"),
    ("Where did Ana live before?", "Lisbon"),  # "before" asks for the earlier value
    ("What's Ana's cat called?", "Luna"),
    ("Who is Ana's sister?", "Maya"),
    ("What does Ana's sister do?", "dentist"),
    # no world knowledge: nothing in the text says a dog or a cat is a pet
    ("How many pets does Ana have?", NOT_MENTIONED),
    ("How many cities has Ana lived in?", "2"),
    ("When was Luna adopted?", "7 May 2023"),
    ("Where did Ana run a half marathon?", "Madrid"),
    ("Does Ana have a cat?", "Yes"),
    ("Who works as a chef?", "Ben"),
])
def test_other_phrasings(question, expected):
    memory = ("[2 March, 2023]\nAna: I live in Lisbon these days.\n"
              "Ana: My sister Maya works as a dentist and really enjoys it.\n"
              "[8 May, 2023]\nAna: I adopted a dog named Biscuit last Saturday!\n"
              "Ana: We brought home a cat yesterday and named it Luna.\n"
              "Ben: I work as a chef at a place downtown.\n"
              "Ana: I ran a half marathon in Madrid last Sunday.\n"
              "[20 June, 2023]\nAna: We finally moved to Porto yesterday!")
    assert _ask(question, memory) == expected


# ---------------------------------------------------------------- generic and judge prompts


def _user(text: str, json_mode: bool = False) -> str:
    return MODEL.complete([{"role": "user", "content": text}], json_mode=json_mode).text


def test_generic_summary_keeps_dates_and_speakers():
    out = _user("Summarize these notes for the question: What is the name of Ana's dog?\n"
                + EPISODE)
    assert "[8 May 2023] Ana: Guess what." not in out
    assert "[8 May 2023] Ana: I adopted a dog named Biscuit last Saturday!" in out.splitlines()
    assert "Hey Ben" not in out


def test_generic_json_yes_no_and_answer():
    facts = json.loads(_user("Extract the facts as a JSON list.\n" + EPISODE))
    assert "[8 May 2023] Ana: I adopted a dog named Biscuit last Saturday!" in facts
    assert all("How have you been" not in f for f in facts)
    assert "facts" in json.loads(_user("Extract the facts.\n" + EPISODE, json_mode=True))
    assert _user("Answer yes or no: does Ana have a dog named Biscuit?\n" + EPISODE) == "yes"
    assert _user("Answer yes or no: did Ben climb Everest?\n" + EPISODE) == "no"
    assert _user("Using the notes, answer the question.\nQuestion: When did Ana adopt "
                 "Biscuit?\n" + EPISODE) == "6 May 2023"


def test_judge_prompts_by_overlap():
    met = json.loads(_user("<criterion>Recommends seeing a doctor about chest pain"
                           "</criterion>\n<response>You should see a doctor soon about the "
                           "chest pain.</response>\nReturn JSON with explanation and "
                           "criteria_met."))
    assert met["criteria_met"] is True and met["explanation"]
    unmet = json.loads(_user("Criterion: Mentions the tax deadline in April.\n"
                             "Response: Drink water and rest.\nReply with criteria_met."))
    assert unmet["criteria_met"] is False


# ---------------------------------------------------------------- acceptance on dialog-synth

STOP = set("a an the and or of to in on at for with is are was were do does did has have had "
           "what when where which who how now".split())
KI_FIELDS = [{"name": "facts", "type": "list[str]", "description": "facts stated in the episode"},
             {"name": "date", "type": "str", "description": "date of the episode"}]
Q_FIELDS = [{"name": "question", "type": "str", "description": "the question"},
            {"name": "keywords", "type": "list[str]", "description": "search keywords"}]


def _toks(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP}


class _Memory:
    """A simulated memory program: ``write(item, raw)``, ``read(query) -> str``."""

    def __init__(self) -> None:
        self.docs: list[str] = []

    def top(self, query: dict, k: int) -> list[str]:
        wanted = _toks(query["question"] + " " + " ".join(query.get("keywords") or []))
        ranked = sorted(range(len(self.docs)),
                        key=lambda i: (-len(wanted & _toks(self.docs[i])), i))
        return [self.docs[i] for i in ranked[:k]]


class NoMemory(_Memory):
    def write(self, item, raw): pass
    def read(self, query): return ""


class FullLast3000(_Memory):
    def write(self, item, raw): self.docs.append(raw)
    def read(self, query): return "\n".join(self.docs)[-3000:]


class AllSessions(_Memory):
    def write(self, item, raw): self.docs.append(raw)
    def read(self, query): return "\n".join(self.docs)


class Chunks500Top5(_Memory):  # fixed 500-char cuts: only the first chunk keeps the date
    def write(self, item, raw): self.docs += [raw[i:i + 500] for i in range(0, len(raw), 500)]
    def read(self, query): return "\n\n".join(self.top(query, 5))


class FactsDatedTop10(_Memory):
    def write(self, item, raw): self.docs += item["facts"]
    def read(self, query): return "\n".join(self.top(query, 10))


class FactsUndatedTop10(FactsDatedTop10):
    def write(self, item, raw):
        self.docs += [re.sub(r"^\[[^\]]*\]\s*", "", f) for f in item["facts"]]


class FactsNoSpeakerTop10(FactsDatedTop10):
    def write(self, item, raw):
        self.docs += [re.sub(r"\] [A-Z][a-z]+: ", "] ", f) for f in item["facts"]]


DESIGNS: dict[str, Callable[[], _Memory]] = {
    "no-memory": NoMemory, "full-last-3000": FullLast3000, "chunks-500-top5": Chunks500Top5,
    "facts-undated-top10": FactsUndatedTop10, "facts-no-speaker-top10": FactsNoSpeakerTop10,
    "facts-dated-top10": FactsDatedTop10, "all-sessions": AllSessions,
}


def run_protocol(task, design: Callable[[], _Memory] | None, model=MODEL
                 ) -> tuple[dict[str, float], list[str]]:
    """Extraction -> write, query -> read -> answer for every item; ``design=None`` = oracle
    (retrieved text = the gold evidence lines). Returns (per-category mean F1 with "all",
    answers in item order)."""
    scores: dict[str, list[float]] = defaultdict(list)
    answers: list[str] = []
    for group in task.groups("all"):
        memory = design() if design else None
        for episode in group.episodes:
            raw = model.complete(extraction_messages("Extract the facts.", KI_FIELDS,
                                                     episode.text), json_mode=True).text
            if memory:
                memory.write(json.loads(raw), episode.text)
        for item in group.items:
            qmsgs = query_messages("Make a lookup.", Q_FIELDS, item.question)
            qjson = model.complete(qmsgs, json_mode=True).text
            retrieved = memory.read(json.loads(qjson)) if memory else "\n".join(item.evidence)
            answer = model.complete(answer_messages(
                qmsgs, qjson, always_on="", retrieved=retrieved,
                instruction=ASK, question=item.question)).text
            answers.append(answer)
            scores[item.category].append(task.score(item, answer).score)
    table = {c: sum(v) / len(v) for c, v in sorted(scores.items())}
    table["all"] = sum(sum(v) for v in scores.values()) / sum(len(v) for v in scores.values())
    return table, answers


@pytest.fixture(scope="module")
def small_task() -> DialogSynthTask:
    return DialogSynthTask(size="small", seed=0)


@pytest.fixture(scope="module")
def results(small_task) -> dict[str, dict[str, float]]:
    out = {"oracle": run_protocol(small_task, None)[0]}
    for name, design in DESIGNS.items():
        out[name] = run_protocol(small_task, design)[0]
    print("\nper-category official F1 (dialog-synth small, seed 0, offline model)")
    print(f"{'design':24s}" + "".join(f"{c:>7s}" for c in ("1", "2", "3", "4", "5", "all")))
    for name, row in out.items():
        print(f"{name:24s}" + "".join(f"{row[c]:7.2f}" for c in ("1", "2", "3", "4", "5", "all")))
    return out


def test_a_oracle_evidence_answers_nearly_everything(results):
    oracle = results["oracle"]
    assert oracle["all"] >= 0.9
    assert all(oracle[c] >= 0.75 for c in "12345"), oracle


def test_b_no_memory_only_wins_adversarial(results):
    empty = results["no-memory"]
    assert all(empty[c] <= 0.1 for c in "1234"), empty
    assert empty["5"] >= 0.95


def test_c_memory_design_matters(results):
    designs = {k: v["all"] for k, v in results.items() if k not in ("oracle", "no-memory")}
    assert max(designs.values()) - min(designs.values()) >= 0.15, designs
    dated, undated = results["facts-dated-top10"], results["facts-undated-top10"]
    no_speaker, chunks = results["facts-no-speaker-top10"], results["chunks-500-top5"]
    everything = results["all-sessions"]
    # dates kept -> temporal and knowledge-update improve
    assert dated["2"] >= undated["2"] + 0.3 and dated["3"] > undated["3"]
    # speakers kept -> the subject can be found
    assert dated["2"] > no_speaker["2"] and dated["3"] > no_speaker["3"]
    # more (and more faithful) relevant evidence -> better temporal / update answers
    assert everything["2"] > chunks["2"] and everything["3"] > chunks["3"]
    assert everything["3"] > results["full-last-3000"]["3"]


def test_d_determinism_same_seed_same_answers_other_seed_other_data():
    first = run_protocol(DialogSynthTask(size="tiny", seed=0), FactsDatedTop10)
    second = run_protocol(DialogSynthTask(size="tiny", seed=0), FactsDatedTop10)
    assert first == second
    other = DialogSynthTask(size="tiny", seed=1)
    questions = lambda t: [it.question for g in t.groups("all") for it in g.items]  # noqa: E731
    assert questions(other) != questions(DialogSynthTask(size="tiny", seed=0))


def test_instruction_requests_change_answers():
    """Instruction moves are real moves: the reader does what the instruction asks for."""
    memory = ("[8 May, 2023] Tomasz: I repaired an old sailboat last Friday.\n"
              "[3 March, 2023] Tomasz: I rent a loft in Gdynia.\n"
              "[9 July, 2023] Tomasz: I rent a cabin in Tromso these days.")
    when = "When did Tomasz repair an old sailboat?"
    assert _ask(when, memory) == "5 May 2023"
    assert _ask(when, memory, "Answer with a short phrase.") == "8 May 2023"  # not resolved
    assert _ask(when, memory, ASK + " Write dates as YYYY-MM-DD.") == "2023-05-05"
    assert _ask(when, memory, ASK + " Dates as Month D, YYYY.") == "May 5, 2023"
    where = "Which town does Tomasz rent in?"
    assert _ask(where, memory) == "Tromso"  # the latest value wins when asked to
    assert _ask(where, memory, "Answer with a short phrase.") == "Gdynia"  # else first told
    assert _ask("Which towns has Tomasz rented in?", memory,
                ASK + " Separate list items with semicolons.") == "Gdynia; Tromso"
    long = _ask("What did Tomasz repair?", memory, "Answer the question.")
    assert long != "an old sailboat" and "sailboat" in long  # no brevity asked: a clause
    assert _ask("What did Tomasz repair?", memory) == "old sailboat"


def test_extraction_and_query_instructions_change_the_records():
    """Item and query instruction moves are real moves too."""
    fields = [{"name": "facts", "type": "list[str]"}]
    episode = ("[8 May, 2023]\nTomasz: I repaired an old sailboat last Friday.\n"
               "Tomasz: I started drinking more tea and walking daily.")

    def facts(instruction: str) -> list[str]:
        return json.loads(MODEL.complete(extraction_messages(instruction, fields, episode),
                                         json_mode=True).text)["facts"]

    plain = facts("Extract the facts.")
    assert "[8 May, 2023] Tomasz: I repaired an old sailboat last Friday" in plain
    resolved = facts("Extract the facts; resolve 'yesterday' against the session date. "
                     "Skip small talk.")
    assert "[8 May, 2023] Tomasz: I repaired an old sailboat on 5 May 2023" in resolved
    assert len(plain) == 2 and len(resolved) == 1  # the tea remark is small talk
    q_fields = [{"name": "keywords", "type": "list[str]"}]

    def keywords(instruction: str) -> list[str]:
        return json.loads(MODEL.complete(query_messages(instruction, q_fields,
                                                        "Where does Tomasz live?"),
                                         json_mode=True).text)["keywords"]

    assert "based" in keywords("List keywords with synonyms and word variants.")
    assert keywords("List only the few words that identify the passage.") == ["Tomasz", "live"]
