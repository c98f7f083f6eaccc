"""Offline model for interactive tasks: the action picker (the transcript schema filler is in
``transcript.py``).

Action step (prompt with ``<goal>``, ``<tips>``, ``<history>``, ``<admissible_actions>``):
1. Tip actions. The tips are cut into blocks (one per past episode or workflow: a new block
   starts at a goal line, a "## ..." heading or a blank line); from every line the picker
   reads action steps ("> take x", "1. take x", "a -> b", "a; b") and keeps their order.
   Steps may hold placeholders ("take {mug} from {desk}" matches "take mug 2 from desk 1").
   Blocks are ranked by word overlap with the current goal and observation.
2. Follow the tips: among the admissible actions not yet taken in this episode, the ones a tip
   step names are candidates; the earliest step position wins (ties: the better block), so
   the agent replays the order of a similar solved episode. Moves ("move", "go") are only
   followed when nothing else is, since they depend on the map.
3. Otherwise a weak generic policy: carry out a recipe read in the history ("slice the x"),
   put a held object somewhere (the receptacle is voted by the tips' "put <object> in <place>"
   pairs whose object shares words with this one: memory generalises to unseen objects;
   without tips the first receptacle in the list), take objects not taken yet, open closed
   things, read, explore the least visited direction, then anything not done yet.
Without tips the policy rarely solves tasks that need knowledge (TWC: where things belong),
so a memory that returns the right experience visibly raises the success rate.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ACTION_LINE = re.compile(r"^\s*>\s*(.+?)\s*$")
GOAL_LINE = re.compile(r"(?:your task is to\s*:?|^\s*task\s*:|^\s*goal\s*:)\s*(.+)", re.I)
_STEP_LINE = re.compile(r"^\s*(?:step\s*)?(?:\d+[.):]|[-*\u2022])\s*(.+?)\s*$", re.I)
_LABEL = re.compile(r"^\s*(?:steps?|actions?|plan|workflow|procedure|trajectory|pattern)"
                    r"[^:]{0,30}:\s*(.+)$", re.I)
_BLOCK_START = re.compile(r"^\s*(?:#+\s|your task is to|task\s*:|goal\s*:|\[)", re.I)
_PUT = re.compile(r"\b(?:put|place|insert|move)\s+(?:the\s+|a\s+|an\s+|some\s+)?(.+?)\s+"
                  r"(?:in|on|into|onto|to)\s+(?:the\s+|a\s+|an\s+)?(.+?)\s*(?:[.;,)]|$)", re.I)
_PLACEHOLDER = re.compile(r"\{([^{}]{1,40})\}")
_WORD = re.compile(r"[a-z0-9]+")
_ABSTRACT = frozenset("object obj item thing receptacle recep place location container target "
                      "x y z a b o r something somewhere".split())
_STOP = frozenset("a an the and or of to in on at for with from by is are you your it its "
                  "there this that some see also part room one another then".split())
_MOVE = re.compile(r"^(?:move|go|walk|run|head)\s+(?:to\s+(?:the\s+)?)?(?:north|south|east|west|"
                   r"up|down|northeast|northwest|southeast|southwest|[nsewud])$", re.I)
INFO_ONLY = ("look", "inventory", "examine ", "look at ", "check ", "help", "wait")
PROGRESS_SKIP = INFO_ONLY + ("open ", "close ", "read ", "go to ")
_DIRECTION = re.compile(r"\b(slice|chop|dice|roast|fry|grill|bake|boil)\s+(?:the\s+)?"
                        r"([a-z][a-z -]+?)(?=\s*(?:[.,;]|$|\s{2}|\s+and\s|"
                        r"\s+(?:(?:slice|chop|dice|roast|fry|grill|bake|boil)\s+the|prepare)\b))",
                        re.I)
# Actions a recipe decides (cutting, cooking, finishing): never copied from other episodes.
_RECIPE_VERBS = ("slice ", "chop ", "dice ", "cook ", "prepare ", "eat ", "put ", "drop ")
_RECIPE_TASK = re.compile(r"\b(?:cookbook|recipe)\b", re.I)


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s'-]", " ", text.lower()).split())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _between(text: str, tag: str) -> str:
    match = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", text, re.S)
    return match.group(1) if match else ""


# ---------------------------------------------------------------------------- tips


@dataclass
class TipBlock:
    """One past episode or workflow in the tips: its text and its steps in order."""

    text: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def _steps_of(line: str) -> list[str]:
    match = ACTION_LINE.match(line)
    if match:
        return [match.group(1)]
    body = line
    for pattern in (_STEP_LINE, _LABEL):
        found = pattern.match(body)
        if found:
            body = found.group(1)
    parts = re.split(r"\s*(?:->|=>|\u2192|;)\s*", body)
    return [p.strip().strip(".") for p in parts if p.strip()]


def parse_tips(tips: str) -> list[TipBlock]:
    """Blocks of the tips with their action steps (see the module docstring)."""
    blocks: list[TipBlock] = [TipBlock()]
    for line in tips.splitlines():
        if not line.strip():
            if blocks[-1].text:
                blocks.append(TipBlock())
            continue
        if _BLOCK_START.match(line) and blocks[-1].steps:
            blocks.append(TipBlock())
        blocks[-1].text.append(line)
        if not (GOAL_LINE.search(line) or line.lstrip().startswith("#")):  # headers: no steps
            blocks[-1].steps.extend(_steps_of(line))
    return [b for b in blocks if b.text]


def _step_pattern(step: str) -> re.Pattern[str] | None:
    """A regex for a step with placeholders ("{mug}" -> "mug 3" or "mug"), else None."""
    if "{" not in step:
        return None
    out, last = [], 0
    for match in _PLACEHOLDER.finditer(step):
        out.append(re.escape(norm(step[last:match.start()])))
        name = norm(match.group(1))
        if name in ("n", "num", "number"):
            out.append(r"\d+")
        elif name in _ABSTRACT:  # "{object}": any name; "{mug}": a mug
            out.append(r"[\w'-]+(?: [\w'-]+){0,3}")
        else:
            out.append(rf"{re.escape(name)}(?: \d+)?")
        last = match.end()
    out.append(re.escape(norm(step[last:])))
    text = r"\s*".join(p for p in out if p)
    try:
        return re.compile(rf"^{text}$")
    except re.error:
        return None


def _matches(action: str, step: str) -> bool:
    a, s = norm(action), norm(step)
    if not a or not s:
        return False
    if a == s:
        return True
    pattern = _step_pattern(step)
    if pattern is not None and pattern.match(a):
        return True
    # a step written as a sentence that names the action verbatim ("then put x in y")
    return len(a.split()) >= 2 and f" {a} " in f" {s} "


# ---------------------------------------------------------------------------- policy


@dataclass
class State:
    goal: str
    history: list[str]
    admissible: list[str]

    @property
    def done(self) -> list[str]:
        return [m.group(1) for ln in self.history if (m := ACTION_LINE.match(ln))]

    @property
    def observations(self) -> list[str]:
        return [ln for ln in self.history if not ACTION_LINE.match(ln)]


def is_move(action: str) -> bool:
    """A directional move ("move west", "go north"): its meaning depends on the map."""
    return bool(_MOVE.match(action.strip()))


def has_prefix(action: str, prefixes: tuple[str, ...]) -> bool:
    """The action is one of ``prefixes`` or starts with one ("open " matches "open box")."""
    low = action.lower()
    return any(low == p.strip() or low.startswith(p) for p in prefixes)


def _follow_tips(state: State, blocks: list[TipBlock], blocked: Any) -> str | None:
    context = _words(state.goal + " " + " ".join(state.observations[:1]))
    ranked = sorted(range(len(blocks)),
                    key=lambda i: (-len(context & _words(" ".join(blocks[i].text))), i))
    rank = {b: r for r, b in enumerate(ranked)}
    done = {norm(a) for a in state.done}
    best: tuple[int, int, int, str] | None = None
    for action in state.admissible:
        if norm(action) in done or blocked(action):
            continue
        for index, block in enumerate(blocks):
            for position, step in enumerate(block.steps):
                if _matches(action, step):
                    key = (int(is_move(action)), position, rank[index], action)
                    if best is None or key < best:
                        best = key
                    break
    if best is None or best[0]:  # only moves are left: explore instead (maps differ)
        return None
    return best[3]


def _put_votes(tips: str) -> list[tuple[set[str], str]]:
    """(object words, receptacle) for every "put <object> in <receptacle>" in the tips."""
    pairs = []
    for line in tips.splitlines():
        for match in _PUT.finditer(line):
            place = norm(re.sub(r"\s\d+$", "", match.group(2)))
            if place:
                pairs.append((_words(re.sub(r"\s\d+\b", "", match.group(1))), place))
    return pairs


def _choose_put(puts: list[str], tips: str, opened: list[str]) -> str:
    """Receptacle voted by the tips; without votes, one this agent opened (things tend to
    go inside), else the first in the list."""
    votes = _put_votes(tips)
    inside = [a for a in puts if any(norm(a).endswith(" " + o) for o in opened)]
    best, best_score = (inside or puts)[0], 0.0
    for action in puts:
        match = _PUT.search(action)
        if not match:
            continue
        obj = _words(re.sub(r"\s\d+\b", "", match.group(1)))
        place = norm(re.sub(r"\s\d+$", "", match.group(2)))
        score = sum(len(obj & words) / (len(obj | words) or 1)
                    for words, target in votes if target == place)
        if score > best_score:
            best, best_score = action, score
    return best


@dataclass
class Recipe:
    """A recipe read in the history: the ingredient text and the directions in order."""

    ingredients: str
    directions: list[tuple[str, str]]


def read_recipe(state: State) -> Recipe | None:
    """The recipe shown by an observation ("Ingredients: ... Directions: ..."), if any."""
    for line in state.observations:
        low = line.lower()
        if "ingredients:" in low and "directions:" in low:
            ingredients = low.split("ingredients:", 1)[1].split("directions:", 1)[0]
            steps = low.split("directions:", 1)[1]
            return Recipe(ingredients, [(v, norm(o)) for v, o in _DIRECTION.findall(steps)])
    return None


def _is_ingredient(obj: str, recipe: Recipe) -> bool:
    return f" {norm(obj)} " in f" {norm(recipe.ingredients)} "


def _recipe_step(state: State, recipe: Recipe, tips: str) -> str | None:
    """Next recipe action: take ingredients and the knife, follow the directions in order
    (cooking verbs map to an appliance learned from the tips), then prepare and eat."""
    done = {norm(a) for a in state.done}
    fresh = {norm(a): a for a in state.admissible if norm(a) not in done}
    for key, action in fresh.items():
        if key.startswith("take ") and _is_ingredient(key[5:], recipe):
            return action
    cutting = any(v in ("slice", "chop", "dice") for v, _ in recipe.directions)
    if cutting and "take knife" in fresh:
        return fresh["take knife"]
    learned = _cook_votes(tips)
    for verb, obj in recipe.directions:
        direct = f"{verb} {obj}"
        if direct in done or any(d.startswith(f"cook {obj} in ") and verb not in
                                 ("slice", "chop", "dice") for d in done):
            continue
        if direct in fresh:
            return fresh[direct]
        if verb in ("slice", "chop", "dice"):
            return None  # the knife or the ingredient is still missing: look for it
        cooks = [a for key, a in fresh.items() if key.startswith(f"cook {obj} in ")]
        if not cooks:
            return None  # not possible yet (ingredient or tool missing): look for it
        place = learned.get(verb)
        return next((a for a in cooks if place and norm(a).endswith(" " + place)), cooks[0])
    for final in ("prepare meal", "eat meal"):
        if final in fresh:
            return fresh[final]
    return None


def _cook_votes(tips: str) -> dict[str, str]:
    """verb -> appliance, learned from tips that show "roast the x" and "cook x in oven"."""
    votes: dict[str, Counter[str]] = {}
    low = tips.lower()
    for obj, place in re.findall(r"cook ([a-z][a-z -]+?) in ([a-z][a-z ]+?)(?=\s*(?:[.;\n]|$))",
                                 low):
        for verb in re.findall(rf"\b(roast|fry|grill|bake|boil)\s+(?:the\s+)?{re.escape(obj)}",
                               low):
            votes.setdefault(verb, Counter())[place.strip()] += 1
    return {verb: counts.most_common(1)[0][0] for verb, counts in votes.items()}


def _rank_by_goal(options: list[str], goal: set[str]) -> list[str]:
    """Options naming more goal words first (stable)."""
    return sorted(options, key=lambda a: -len(_words(a) & goal))


def _generic(state: State, tips: str, blocked: Any) -> str:
    done = [norm(a) for a in state.done]
    fresh = [a for a in state.admissible if norm(a) not in done and not blocked(a)]
    goal = _words(state.goal)
    puts = [a for a in fresh if _PUT.search(a) and not is_move(a)]
    # A goal that names objects ("put a mug in the coffeemachine") only allows puts into the
    # receptacle it names; a generic goal ("put things where they belong") allows any.
    named = [a for a in puts if (put := _PUT.search(a)) and _words(put.group(2)) & goal]
    if named or (puts and not any(_words(a) & goal for a in puts)):
        opened = [norm(a)[5:] for a in state.done if norm(a).startswith("open ")]
        return _choose_put(named or puts, tips, opened)
    for prefixes in (("read ",), ("open ",), ("take ", "pick up ", "get ")):
        options = [a for a in fresh if has_prefix(a, prefixes) and "door" not in a.lower()]
        if options:
            return _rank_by_goal(options, goal)[0]
    other = [a for a in fresh if not has_prefix(a, INFO_ONLY + ("close ", "go to ")) and not is_move(a)
             and not _PUT.search(a)]
    if other and _words(_rank_by_goal(other, goal)[0]) & goal:
        return _rank_by_goal(other, goal)[0]
    moves = [a for a in state.admissible if is_move(a) or has_prefix(a, ("go to ",))]
    if moves:  # explore: the least visited place, not straight back
        counts = Counter(done)
        last = done[-1] if done else ""
        return min(moves, key=lambda a: (counts[norm(a)], norm(a) == last,
                                         -len(_words(a) & goal)))
    if other:
        return other[0]
    return fresh[0] if fresh else state.admissible[0]


def pick_action(prompt: str) -> str:
    """The offline reply to an action prompt: one admissible action (see the docstring)."""
    admissible = [ln.strip() for ln in _between(prompt, "admissible_actions").splitlines()
                  if ln.strip()]
    if not admissible:
        return "look"
    tips = _between(prompt, "tips")
    state = State(goal=_between(prompt, "goal").strip(),
                  history=[ln for ln in _between(prompt, "history").splitlines() if ln.strip()],
                  admissible=admissible)
    blocks = parse_tips(tips) if tips.strip() else []
    recipe = read_recipe(state)
    if recipe is not None:
        step = _recipe_step(state, recipe, tips)
        if step:
            return step
    if recipe is not None or _RECIPE_TASK.search(state.goal):
        # A cooking task: the recipe alone says what to cut, cook and take.
        def blocked(action: str) -> bool:
            low = norm(action)
            if has_prefix(low, _RECIPE_VERBS):
                return True
            return recipe is not None and low.startswith("take ") and \
                low != "take knife" and not _is_ingredient(low[5:], recipe)
    else:
        def blocked(action: str) -> bool:
            return False
    return _follow_tips(state, blocks, blocked) or _generic(state, tips, blocked)
