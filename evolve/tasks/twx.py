"""TextWorldExpress task ``twx``: procedurally generated text games played by the task agent.

TextWorldExpress (``pip install textworld-express``, needs Java 17; fully offline) generates
games by seed: ``twc`` (TextWorld Commonsense: put objects where they usually belong),
``cookingworld`` (find ingredients, follow a recipe), ``coin``, ``mapreader`` and more. Every
game has a gold action path.

Data layout (deterministic for the arguments):
- one group holding every game type asked for (``game=twc,cookingworld``);
- episodes (what is written into memory): transcripts of the gold paths of ``episodes``
  training games per game type, only those whose gold path reaches the goal;
- items (games to play): ``train`` / ``val`` / ``test`` games per game type, on seeds disjoint
  from each other and from the episodes. ``folds=train`` (default) draws every split from the
  package's training fold (same object pool as the memory, disjoint seeds: experience
  transfers); ``folds=official`` draws val from the dev fold and test from the test fold
  (TWC: objects never seen in training, so memory has to generalise).
- ``EvalItem.question`` is the goal line plus the first observation (what the agent knows
  before acting); ``evidence`` is the item's own gold transcript (``--oracle`` tips);
  ``category`` is the game type, so success is reported overall and per game type.
Scoring is binary success within ``max_steps`` steps (``transcripts.score_outcome``).

The games are generated lazily (first ``groups`` call) in environment worker processes.
"""

from __future__ import annotations

import importlib.util
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .base import AgentMode, Episode, EvalItem, Group, ScoreResult, Split, TaskArg
from .envs import EnvPool, ExpertRun, Observation, play_expert
from .transcripts import score_outcome, transcript_head

GAMES = ("twc", "cookingworld", "coin", "mapreader", "arithmetic", "sorting", "simonsays",
         "peckingorder")
DEFAULT_PARAMS: dict[str, str] = {
    # Small games: one room for TWC (the difficulty is knowing where things belong),
    # few rooms for the navigation games.
    "twc": "numLocations=1,numItemsToPutAway=2,includeDoors=0,limitInventorySize=0",
    "cookingworld": "numLocations=1,numIngredients=2,numDistractorItems=2,includeDoors=0,"
                    "limitInventorySize=0",
    "coin": "numLocations=3,numDistractorItems=0,includeDoors=0,limitInventorySize=0",
    "mapreader": "numLocations=3,maxDistanceApart=2,includeDoors=0,limitInventorySize=0",
}
FOLD_SEED_BASE = {"train": 0, "dev": 10000, "test": 20000}  # the package's seed ranges
# Preset sizes per game type (expert episodes, val games, test games); counts override them.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"episodes": 12, "val": 8, "test": 8},
    "small": {"episodes": 60, "val": 30, "test": 30},
    "full": {"episodes": 300, "val": 100, "test": 100},
}
FOLD_SIZE = 1000
SPLIT_ORDER = ("train", "val", "test")
# The harness caps the steps itself; one option set lets generation and play share workers.
ENV_OPTIONS = {"step_limit": 1000}


class TwxEnvironment:
    """``envs.Environment`` over ``textworld_express.TextWorldExpressEnv`` (worker side)."""

    def __init__(self, step_limit: int = 500) -> None:
        from textworld_express import TextWorldExpressEnv

        self._env = TextWorldExpressEnv(envStepLimit=int(step_limit))
        self._goal = ""

    def _observation(self, text: str, infos: dict[str, Any]) -> Observation:
        return Observation(
            text=str(text), admissible=tuple(sorted(str(a) for a in infos.get("validActions", []))),
            goal=self._goal, score=float(infos.get("score") or 0.0),
            done=bool(infos.get("done")), won=bool(infos.get("tasksuccess")))

    def reset(self, game: str, seed: int, fold: str = "train", params: str = "") -> Observation:
        text, infos = self._env.reset(seed=int(seed), gameFold=fold, gameName=game,
                                      gameParams=params, generateGoldPath=True)
        self._goal = str(infos.get("taskDescription", ""))
        return self._observation(text, infos)

    def step(self, action: str) -> Observation:
        text, _reward, _done, infos = self._env.step(action)
        return self._observation(text, infos)

    def expert_actions(self) -> list[str]:
        return [str(a) for a in self._env.getGoldActionSequence()]

    def close(self) -> None:
        self._env.close()


@dataclass(frozen=True)
class GameRef:
    """One generated game: where it comes from and its gold run."""

    game: str
    fold: str
    seed: int
    run: ExpertRun

    @property
    def id(self) -> str:
        return f"twx-{self.game}-{self.fold}-{self.seed}"


def check_available() -> None:
    """UsageError with the fix when the package or Java is missing."""
    if importlib.util.find_spec("textworld_express") is None:
        raise UsageError("task twx needs the TextWorldExpress package: "
                         "pip install 'evolve-memory[twx]' (or pip install textworld-express)")
    if shutil.which("java") is None:
        raise UsageError("task twx needs Java 17 on PATH (e.g. apt-get install "
                         "openjdk-17-jre-headless)")


class TwxTask:
    """The ``twx`` task (see the module docstring). Games are generated on first use."""

    name = "twx"
    mode: AgentMode = "interactive"

    def __init__(self, games: tuple[str, ...] = ("twc",), *, params: dict[str, str] | None = None,
                 episodes: int = 60, train: int = 0, val: int = 30, test: int = 30,
                 seed: int = 0, folds: str = "train", max_steps: int = 50,
                 step_timeout: float = 30.0, workers: int = 2) -> None:
        self.games = tuple(games)
        self.params = {g: (params or {}).get(g, DEFAULT_PARAMS.get(g, "")) for g in self.games}
        self.sizes = {"episodes": episodes, "train": train, "val": val, "test": test}
        self.seed, self.folds = seed, folds
        self.max_steps, self.step_timeout, self.workers = max_steps, step_timeout, workers
        self.category_names = {g: g for g in self.games}
        self._data: dict[str, list[GameRef]] | None = None
        if folds == "train" and seed + episodes + train + val + test > FOLD_SIZE:
            raise UsageError(f"task twx: seed + episodes + train + val + test must stay within "
                             f"the {FOLD_SIZE} seeds of the training fold")
        if folds == "official" and seed + max(episodes + train, val, test) > FOLD_SIZE:
            raise UsageError(f"task twx: seed + sizes must stay within {FOLD_SIZE} seeds per fold")
        check_available()

    # -- data ------------------------------------------------------------------------------
    def _plan(self) -> list[tuple[str, str, str, int]]:
        """(part, game, fold, seed) for every game to generate; part is episodes|split."""
        plan: list[tuple[str, str, str, int]] = []
        for game in self.games:
            offset = self.seed
            for part in ("episodes", *SPLIT_ORDER):
                count = self.sizes[part]
                if self.folds == "official" and part in ("val", "test"):
                    fold = "dev" if part == "val" else "test"
                    start = FOLD_SEED_BASE[fold] + self.seed
                else:
                    fold, start = "train", offset
                    offset += count
                plan += [(part, game, fold, start + k) for k in range(count)]
        return plan

    def _generate(self) -> dict[str, list[GameRef]]:
        plan = self._plan()
        with EnvPool(self.workers, step_timeout=self.step_timeout) as pool:
            def one(entry: tuple[str, str, str, int]) -> GameRef:
                _part, game, fold, seed = entry
                with pool.lease("twx", ENV_OPTIONS) as env:
                    run = play_expert(env, {"game": game, "seed": seed, "fold": fold,
                                            "params": self.params[game]}, self.max_steps * 4)
                return GameRef(game, fold, seed, run)

            with ThreadPoolExecutor(max(1, self.workers)) as threads:
                refs = list(threads.map(one, plan))
        data: dict[str, list[GameRef]] = {p: [] for p in ("episodes", *SPLIT_ORDER)}
        for (part, *_), ref in zip(plan, refs, strict=True):
            if part != "episodes" or ref.run.won:  # memory holds only successful expert runs
                data[part].append(ref)
        return data

    def data(self) -> dict[str, list[GameRef]]:
        if self._data is None:
            self._data = self._generate()
        return self._data

    def _item(self, ref: GameRef) -> EvalItem:
        run = ref.run
        return EvalItem(
            id=ref.id,
            question="\n".join(transcript_head(run.goal, run.first_observation)),
            gold=f"reach the goal within {self.max_steps} steps; expert path "
                 f"({len(run.steps)} steps): " + "; ".join(a for a, _ in run.steps),
            category=ref.game,
            evidence=(run.transcript,),
            meta={"env": "twx", "env_options": dict(ENV_OPTIONS),
                  "reset": {"game": ref.game, "seed": ref.seed, "fold": ref.fold,
                            "params": self.params[ref.game]},
                  "max_steps": self.max_steps, "step_timeout": self.step_timeout})

    def groups(self, split: Split) -> list[Group]:
        if split not in (*SPLIT_ORDER, "all"):
            raise UsageError(f"unknown split {split!r}; choose from: train, val, test, all")
        data = self.data()
        parts = SPLIT_ORDER if split == "all" else (split,)
        items = tuple(self._item(ref) for part in parts for ref in data[part])
        if not items:
            return []
        episodes = tuple(Episode(ref.id, ref.run.transcript,
                                 {"game": ref.game, "fold": ref.fold, "seed": ref.seed,
                                  "expert_steps": len(ref.run.steps)})
                         for ref in data["episodes"])
        return [Group("twx-" + "+".join(self.games), episodes, items)]

    def score(self, item: EvalItem, answer: str) -> ScoreResult:
        """``answer`` is the episode outcome JSON written by the interactive player."""
        return score_outcome(answer)

    def describe(self) -> dict[str, Any]:
        try:
            from importlib.metadata import version

            package = version("textworld-express")
        except Exception:  # noqa: BLE001 - provenance is best effort
            package = "unknown"
        return {"name": self.name, "games": list(self.games), "params": dict(self.params),
                "folds": self.folds, "seed": self.seed, "sizes": dict(self.sizes),
                "max_steps": self.max_steps, "source": f"textworld-express {package}"}


def _int(name: str, value: str, minimum: int = 0) -> int:
    from .splits import parse_int

    return parse_int(name, value, minimum=minimum)


def make_twx(args: dict[str, str]) -> TwxTask:
    """Registry factory: ``args`` hold the ``TWX_ARGS`` names, defaults filled in."""
    from .splits import parse_seconds

    games = tuple(dict.fromkeys(g.strip() for g in args["game"].split(",") if g.strip()))
    unknown = [g for g in games if g not in GAMES]
    if not games or unknown:
        raise UsageError(f"task twx: bad value for game: {args['game']!r}; choose from: "
                         f"{', '.join(GAMES)} (comma-separated for several)")
    params = args["params"].strip()
    preset = SIZES[args["size"]]

    def count(name: str) -> int:
        value = args[name].strip()
        return preset[name] if value in ("", "auto") else _int(name, value)

    timeout = parse_seconds("twx", "step_timeout", args["step_timeout"])
    return TwxTask(
        games, params=None if params in ("", "auto") else {g: params for g in games},
        episodes=count("episodes"), train=_int("train", args["train"]),
        val=count("val"), test=count("test"),
        seed=_int("seed", args["seed"]), folds=args["folds"],
        max_steps=_int("max_steps", args["max_steps"], 1), step_timeout=timeout,
        workers=_int("workers", args["workers"], 1))


TWX_ARGS = (
    TaskArg("game", "game type(s), comma-separated: " + ", ".join(GAMES), "twc"),
    TaskArg("params", "TextWorldExpress gameParams for every game type, e.g. "
            "'numLocations=2,numItemsToPutAway=3' (auto: small games per type)", "auto"),
    TaskArg("size", "preset counts per game type (episodes/val/test): tiny 12/8/8, small "
            "60/30/30, full 300/100/100", "small", tuple(SIZES)),
    TaskArg("episodes", "expert transcripts per game type written into memory (training "
            "fold, gold paths; auto: from size)", "auto"),
    TaskArg("train", "games to play per game type in the train split", "0"),
    TaskArg("val", "games to play per game type in the val split (auto: from size)", "auto"),
    TaskArg("test", "games to play per game type in the test split (auto: from size)", "auto"),
    TaskArg("seed", "first game seed of every range (ranges never overlap)", "0"),
    TaskArg("folds", "train: every split from the training fold (disjoint seeds); official: "
            "val from the dev fold, test from the test fold (unseen objects)", "train",
            ("train", "official")),
    TaskArg("max_steps", "step cap per episode", "50"),
    TaskArg("step_timeout", "seconds one environment call may take before the episode "
            "fails", "30"),
    TaskArg("workers", "environment processes used to generate the games", "2"),
)
