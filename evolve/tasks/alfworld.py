"""ALFWorld task ``alfworld``: household text games from user-supplied game files (optional).

Needs the ``alfworld`` extra (``pip install 'evolve-memory[alfworld]'``: ``alfworld`` and
``textworld[pddl]``) and a directory in the released ``json_2.1.1`` layout::

    PATH/<split dir>/<task dir>/<trial dir>/traj_data.json + game.tw-pddl

Split directories (arguments): expert episodes (memory) from ``memory_dir`` (default
``train``, falling back to ``valid_train`` when absent), val items from ``valid_seen``, test
items from ``valid_unseen``, train items from ``train_dir`` (none by default). Games under
``movable``/``Sliced`` directories and games marked unsolvable are skipped, as ALFWorld does.
Expert episodes come from the package's hand-coded expert (``expert=handcoded``), or from the
PDDL planner (``expert=planner``); only expert runs that reach the goal are kept.
Scoring: binary success within ``max_steps``; categories are the six task types (pick, clean,
heat, cool, look-at, pick-two). Games are loaded lazily, in environment worker processes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .base import AgentMode, Episode, EvalItem, Group, ScoreResult, Split, TaskArg
from .envs import EnvPool, ExpertRun, Observation, play_expert
from .transcripts import score_outcome, transcript_head

TASK_TYPES: dict[str, str] = {
    "pick_and_place_simple": "pick",
    "pick_clean_then_place_in_recep": "clean",
    "pick_heat_then_place_in_recep": "heat",
    "pick_cool_then_place_in_recep": "cool",
    "look_at_obj_in_light": "look-at",
    "pick_two_obj_and_place": "pick-two",
}
CATEGORY_NAMES = {short: long for long, short in TASK_TYPES.items()}
_BANNER = re.compile(r"-=\s*Welcome to TextWorld, ALFRED!\s*=-", re.I)
_TASK = re.compile(r"your task is to\s*:\s*(.+)", re.I | re.S)


class AlfworldEnvironment:
    """``envs.Environment`` over ALFWorld's TextWorld PDDL games (worker side)."""

    def __init__(self, expert: str = "handcoded") -> None:
        self.expert = expert
        self._env: Any = None
        self._gamefile = ""
        self._goal = ""

    @staticmethod
    def _make(gamefile: str, expert: str | None = None) -> Any:
        import textworld
        from alfworld.agents.environment.alfred_tw_env import (
            AlfredDemangler,
            AlfredExpert,
            AlfredInfos,
        )
        from textworld.envs.pddl import PddlEnv

        infos = textworld.EnvInfos(won=True, admissible_commands=True, facts=expert is not None,
                                   policy_commands=expert == "planner",
                                   extras=["gamefile", "expert_plan"] if expert else ["gamefile"])
        env: Any = AlfredInfos(AlfredDemangler(PddlEnv(infos), shuffle=False))
        if expert is not None:
            env = AlfredExpert(env, expert)
        env.load(gamefile)
        return env

    @staticmethod
    def _observation(state: Any, goal: str, first: bool = False) -> Observation:
        text = str(state.feedback or "")
        if first:
            text = _TASK.split(_BANNER.sub("", text))[0].strip()
        won = bool(state["won"])
        return Observation(text=text, admissible=tuple(state["admissible_commands"] or ()),
                           goal=goal, score=1.0 if won else 0.0, done=won, won=won)

    def reset(self, gamefile: str) -> Observation:
        self.close()
        self._gamefile = gamefile
        self._env = self._make(gamefile)
        state = self._env.reset()
        match = _TASK.search(str(state.feedback or ""))
        self._goal = match.group(1).strip() if match else ""
        return self._observation(state, self._goal, first=True)

    def step(self, action: str) -> Observation:
        state, _score, _done = self._env.step(action)
        return self._observation(state, self._goal)

    def expert_actions(self, limit: int = 80) -> list[str]:
        """Play the expert on a separate copy of the game; its actions in order."""
        random.seed(0)  # the hand-coded expert breaks ties with random.choice
        env = self._make(self._gamefile, self.expert)
        try:
            state = env.reset()
            if self.expert == "planner":
                return [str(a) for a in state["extra.expert_plan"] or []]
            actions: list[str] = []
            while not state["won"] and len(actions) < limit:
                action = str(state["extra.expert_plan"][0])
                actions.append(action)
                state, _score, _done = env.step(action)
            return actions if state["won"] else []
        finally:
            env.close()

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


def check_available() -> None:
    """UsageError with the fix when the optional extra is missing."""
    missing = [name for name in ("alfworld", "textworld", "fast_downward")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError("task alfworld needs the alfworld extra (missing: "
                         f"{', '.join(missing)}): pip install 'evolve-memory[alfworld]' "
                         "(or pip install alfworld 'textworld[pddl]')")


def find_games(directory: Path, task_types: set[str] | None = None) -> list[Path]:
    """Playable ``game.tw-pddl`` files under ``directory`` (sorted; see the docstring)."""
    games = []
    for traj in sorted(directory.rglob("traj_data.json")):
        folder = traj.parent
        game = folder / "game.tw-pddl"
        if "movable" in str(folder) or "Sliced" in str(folder) or not game.is_file():
            continue
        try:
            kind = json.loads(traj.read_text(encoding="utf-8")).get("task_type", "")
            solvable = json.loads(game.read_text(encoding="utf-8")).get("solvable", True)
        except (OSError, ValueError):
            continue
        if kind in TASK_TYPES and solvable and (task_types is None or
                                                TASK_TYPES[kind] in task_types):
            games.append(game)
    return games


def _task_type(game: Path) -> str:
    kind = json.loads((game.parent / "traj_data.json").read_text(encoding="utf-8"))["task_type"]
    return TASK_TYPES[kind]


class AlfworldTask:
    """The ``alfworld`` task (see the module docstring)."""

    name = "alfworld"
    mode: AgentMode = "interactive"
    category_names = dict(CATEGORY_NAMES)

    def __init__(self, path: str, *, memory_dir: str = "train", val_dir: str = "valid_seen",
                 test_dir: str = "valid_unseen", train_dir: str = "",
                 sizes: dict[str, int | None] | None = None, task_types: set[str] | None = None,
                 seed: int = 0, expert: str = "handcoded", max_steps: int = 50,
                 step_timeout: float = 60.0, workers: int = 2) -> None:
        check_available()
        self.root = Path(path).expanduser()
        if not self.root.is_dir():
            raise UsageError(f"task alfworld: game directory not found: {self.root}")
        memory = self.root / memory_dir
        if not memory.is_dir() and memory_dir == "train":
            memory = self.root / "valid_train"
        self.dirs = {"episodes": memory, "val": self.root / val_dir,
                     "test": self.root / test_dir,
                     "train": self.root / train_dir if train_dir else None}
        self.sizes = {"episodes": 100, "val": None, "test": None, "train": None, **(sizes or {})}
        self.task_types, self.seed, self.expert = task_types, seed, expert
        self.max_steps, self.step_timeout, self.workers = max_steps, step_timeout, workers
        self._games: dict[str, list[Path]] = {}
        for part, directory in self.dirs.items():
            if directory is None:
                self._games[part] = []
                continue
            found = find_games(directory, task_types) if directory.is_dir() else []
            if not found and part != "train":
                raise UsageError(f"task alfworld: no ALFWorld games (traj_data.json + "
                                 f"game.tw-pddl) under {directory}")
            self._games[part] = self._pick(found, self.sizes.get(part))
        self._runs: dict[str, list[tuple[Path, ExpertRun]]] | None = None

    def _pick(self, games: list[Path], count: int | None) -> list[Path]:
        if count is None or count >= len(games):
            return games
        key = {g: hashlib.sha256(f"{self.seed}\x1f{g.relative_to(self.root)}".encode()).hexdigest()
               for g in games}
        return sorted(sorted(games, key=key.__getitem__)[:count])

    def _generate(self) -> dict[str, list[tuple[Path, ExpertRun]]]:
        plan = [(part, game) for part, games in self._games.items() for game in games]
        options = {"expert": self.expert}
        with EnvPool(self.workers, step_timeout=self.step_timeout) as pool:
            def one(game: Path) -> ExpertRun:
                with pool.lease("alfworld", options) as env:
                    return play_expert(env, {"gamefile": str(game)}, self.max_steps * 2)

            with ThreadPoolExecutor(max(1, self.workers)) as threads:
                runs = list(threads.map(one, [game for _, game in plan]))
        out: dict[str, list[tuple[Path, ExpertRun]]] = {p: [] for p in self._games}
        for (part, game), run in zip(plan, runs, strict=True):
            if part != "episodes" or run.won:
                out[part].append((game, run))
        return out

    def runs(self) -> dict[str, list[tuple[Path, ExpertRun]]]:
        if self._runs is None:
            self._runs = self._generate()
        return self._runs

    def _id(self, game: Path) -> str:
        return "alfworld/" + str(game.parent.relative_to(self.root))

    def _item(self, game: Path, run: ExpertRun) -> EvalItem:
        return EvalItem(
            id=self._id(game),
            question="\n".join(transcript_head(run.goal, run.first_observation)),
            gold=f"reach the goal within {self.max_steps} steps; expert path "
                 f"({len(run.steps)} steps): " + "; ".join(a for a, _ in run.steps),
            category=_task_type(game), evidence=(run.transcript,),
            meta={"env": "alfworld", "env_options": {"expert": self.expert},
                  "reset": {"gamefile": str(game)}, "max_steps": self.max_steps,
                  "step_timeout": self.step_timeout})

    def groups(self, split: Split) -> list[Group]:
        if split not in ("train", "val", "test", "all"):
            raise UsageError(f"unknown split {split!r}; choose from: train, val, test, all")
        runs = self.runs()
        parts = ("train", "val", "test") if split == "all" else (split,)
        items = tuple(self._item(g, r) for part in parts for g, r in runs[part])
        if not items:
            return []
        episodes = tuple(Episode(self._id(g), r.transcript,
                                 {"task_type": _task_type(g), "expert_steps": len(r.steps)})
                         for g, r in runs["episodes"])
        return [Group("alfworld", episodes, items)]

    def score(self, item: EvalItem, answer: str) -> ScoreResult:
        """``answer`` is the episode outcome JSON written by the interactive player."""
        return score_outcome(answer)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.root),
                "dirs": {k: str(v) if v else None for k, v in self.dirs.items()},
                "games": {k: len(v) for k, v in self._games.items()}, "expert": self.expert,
                "task_types": sorted(self.task_types) if self.task_types else "all",
                "seed": self.seed, "max_steps": self.max_steps}


def _count(name: str, value: str) -> int | None:
    from .splits import parse_int

    return None if value.strip() in ("", "all") else parse_int(name, value, minimum=0)


def make_alfworld(args: dict[str, str]) -> AlfworldTask:
    """Registry factory: ``args`` hold the ``ALFWORLD_ARGS`` names, defaults filled in."""
    from .splits import parse_int, parse_seconds

    kinds = args["task_types"].strip()
    task_types = None if kinds in ("", "all") else \
        {k.strip() for k in kinds.split(",") if k.strip()}
    if task_types is not None and not task_types <= set(CATEGORY_NAMES):
        raise UsageError(f"task alfworld: bad value for task_types: {kinds!r}; choose from: "
                         f"{', '.join(CATEGORY_NAMES)} (comma-separated) or all")
    timeout = parse_seconds("alfworld", "step_timeout", args["step_timeout"])
    return AlfworldTask(
        args["path"], memory_dir=args["memory_dir"], val_dir=args["val_dir"],
        test_dir=args["test_dir"], train_dir=args["train_dir"],
        sizes={"episodes": _count("episodes", args["episodes"]),
               "val": _count("val", args["val"]), "test": _count("test", args["test"]),
               "train": _count("train", args["train"])},
        task_types=task_types, seed=parse_int("seed", args["seed"]), expert=args["expert"],
        max_steps=parse_int("max_steps", args["max_steps"], minimum=1), step_timeout=timeout,
        workers=parse_int("workers", args["workers"], minimum=1))


ALFWORLD_ARGS = (
    TaskArg("path", "directory in the json_2.1.1 layout (required)", None),
    TaskArg("memory_dir", "split directory whose expert runs are the memory (train, else "
            "valid_train)", "train"),
    TaskArg("val_dir", "split directory of the val games", "valid_seen"),
    TaskArg("test_dir", "split directory of the test games", "valid_unseen"),
    TaskArg("train_dir", "split directory of the train games (empty: none)", ""),
    TaskArg("episodes", "expert episodes written into memory (a count or all)", "100"),
    TaskArg("val", "val games (a count or all)", "all"),
    TaskArg("test", "test games (a count or all)", "all"),
    TaskArg("train", "train games (a count or all)", "all"),
    TaskArg("task_types", "task types to keep: pick, clean, heat, cool, look-at, pick-two "
            "(comma-separated) or all", "all"),
    TaskArg("seed", "seed of the deterministic choice of games when counts are given", "0"),
    TaskArg("expert", "expert for the memory episodes: the hand-coded expert or the PDDL "
            "planner", "handcoded", ("handcoded", "planner")),
    TaskArg("max_steps", "step cap per episode", "50"),
    TaskArg("step_timeout", "seconds one environment call may take before the episode "
            "fails", "60"),
    TaskArg("workers", "environment processes used to run the expert", "2"),
)
