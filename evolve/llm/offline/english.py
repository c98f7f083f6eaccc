"""General English word knowledge of the offline model (nothing specific to any task).

Irregular verb forms (so that "ran" matches "run"), number words, a few groups of common
near-synonyms that ordinary questions and statements use for the same thing ("do for a
living" / "work"), words that ask for a current value ("now", "these days"), and the small
closed classes the span extractor needs (determiners, prepositions, conjunctions). None of it
is taken from a task's data: a test checks that no entry of the synthetic generator's pools
appears in the offline model's sources.
"""

from __future__ import annotations

# Groups of words used for the same thing (compared after stemming; irregular forms folded).
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"adopt", "adopted", "got", "get", "bring", "brought", "rescue", "rescued"}),
    frozenset({"move", "moved", "relocate", "relocated", "settle", "live", "based", "reside",
               "rent", "renting", "apartment", "flat", "house", "home"}),
    frozenset({"name", "named", "called", "call"}),
    frozenset({"visit", "visited", "came", "come", "stay", "stayed"}),
    frozenset({"start", "started", "begin", "began", "take", "took", "pick", "picked",
               "join", "joined", "learn", "learning", "enroll", "enrol", "enrolled", "sign",
               "signed", "try", "tried"}),
    frozenset({"trip", "travel", "traveled", "travelled", "flew", "fly", "vacation", "holiday",
               "tour", "journey", "getaway"}),
    frozenset({"job", "work", "career", "profession", "occupation", "living", "employed",
               "hired", "position"}),
    frozenset({"hobby", "hobbies", "activity", "activities", "pastime", "interest"}),
    frozenset({"relative", "relatives", "family"}),
    frozenset({"pet", "pets", "animal", "animals"}),
    frozenset({"buy", "bought", "purchase", "purchased"}),
    frozenset({"city", "town", "place", "hometown"}),
)

IRREGULAR = {
    "ran": "run", "went": "go", "gone": "go", "got": "get", "gotten": "get", "had": "have",
    "has": "have", "took": "take", "taken": "take", "made": "make", "saw": "see", "seen": "see",
    "bought": "buy", "met": "meet", "gave": "give", "given": "give", "won": "win",
    "began": "begin", "begun": "begin", "left": "leave", "found": "find", "wrote": "write",
    "written": "write", "sang": "sing", "sung": "sing", "flew": "fly", "flown": "fly",
    "drove": "drive", "driven": "drive", "ate": "eat", "eaten": "eat", "caught": "catch",
    "built": "build", "taught": "teach", "brought": "bring", "came": "come", "felt": "feel",
    "kept": "keep", "lost": "lose", "paid": "pay", "sold": "sell", "spent": "spend",
    "swam": "swim", "swum": "swim", "thought": "think", "told": "tell", "was": "be",
    "were": "be", "been": "be", "is": "be", "are": "be", "am": "be", "did": "do", "done": "do",
    "does": "do", "threw": "throw", "knew": "know", "grew": "grow", "drew": "draw",
    "fell": "fall", "held": "hold", "read": "read", "rode": "ride", "said": "say",
    "sent": "send", "slept": "sleep", "stood": "stand", "understood": "understand",
    "wore": "wear", "heard": "hear", "became": "become", "chose": "choose", "broke": "break",
    "forgot": "forget", "hid": "hide", "led": "lead", "lit": "light", "meant": "mean",
    "shot": "shoot", "woke": "wake",
}

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a": 1, "an": 1,
    "a couple of": 2, "couple": 2, "several": 3, "few": 3,
}

# Words that ask for the value in force now (the latest one).
LATEST_CUES = ("now", "currently", "current", "latest", "most recent", "most recently",
               "these days", "at the moment", "at present", "nowadays", "newest", "still")
# Words that ask for an earlier value.
EARLIER_CUES = ("before", "previously", "used to", "originally", "first", "earliest",
                "formerly")
# Words by which a sentence speaks against what it names ("I am hopeless with a needle",
# "she'd hate the ferry"): a yes/no question about it is answered "No".
NEGATIVE_POLARITY = frozenset("hopeless useless terrible awful hate hated hates dread dreaded "
                              "quit quitting stopped unable impossible killing anymore afraid "
                              "scared refuse refused".split())
DETERMINERS = frozenset("a an the my our your his her their its this that these those some "
                        "any another every each no".split())
PREPOSITIONS = frozenset("in to at near from on by with for of around into onto over under "
                         "about after before during since until through across along "
                         "outside inside behind beside between among".split())
LOCATIVE = frozenset("in to at near from around outside inside".split())
CONJUNCTIONS = frozenset("and but or so because while when where which who that since "
                         "although though then".split())
# Function words that may start a clause after a matched verb and never are an answer.
PARTICLES = frozenset("up out off down on over back away as into".split())
