"""Task registry: names -> documented arguments and a factory (``evolve tasks`` lists it).

``make_task(name, args)`` takes the string arguments of ``--task-arg K=V`` and returns a
``Task``; unknown tasks, unknown arguments, missing required ones and bad values raise
``UsageError`` with one line that names the culprit and the valid choices. To add a task,
call ``register(TaskSpec(...))`` (or add an entry to ``TASKS``) with a factory that receives the
argument dict already filled with defaults and checked against ``choices``.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from .base import Task, TaskArg
from .plugins import NAME_PREFIX, parse_options, register_entry_points, register_named
from .spec import REQUIRED, TASKS, TaskSpec, register
from .splits import parse_categories, parse_int, parse_size
from .synth.pools import POOLS
from .synth.world import SIZES


def _split_args(categories_help: str) -> tuple[TaskArg, ...]:
    return (
        TaskArg("categories", categories_help, "1,2,3,4,5"),
        TaskArg("split_seed", "seed of the deterministic val/test split", "0"),
        TaskArg("test", "test split size: a fraction (0.2) or a count (100)", "0.2"),
        TaskArg("train", "train split size: a fraction or a count (rest is val)", "0"),
        TaskArg("scorer", "answer F1: official LoCoMo (stemmed) or SQuAD-style as in M*",
                "locomo", ("locomo", "squad")),
    )


def _conversations(value: str) -> int | list[str] | None:
    value = value.strip()
    if value in ("", "all"):
        return None
    if value.isdigit():
        return parse_int("conversations", value, minimum=1)
    return [v.strip() for v in value.split(",") if v.strip()]


def _split_options(args: dict[str, str]) -> dict[str, Any]:
    return {"categories": parse_categories(args["categories"]),
            "test": parse_size("test", args["test"]), "train": parse_size("train", args["train"]),
            "scorer": args["scorer"]}


def _make_locomo(args: dict[str, str]) -> Task:
    from .locomo import LocomoTask

    return LocomoTask.from_file(args["path"], conversations=_conversations(args["conversations"]),
                                seed=parse_int("split_seed", args["split_seed"]),
                                **_split_options(args))


def _make_dialog_synth(args: dict[str, str]) -> Task:
    from .synth.dialog_synth import DialogSynthTask

    conversations = args["conversations"].strip()
    return DialogSynthTask(
        size=args["size"], seed=parse_int("seed", args["seed"]), pool=args["pool"],
        conversations=None if conversations in ("", "all") else
        parse_int("conversations", conversations, minimum=1),
        split_seed=parse_int("split_seed", args["split_seed"]), **_split_options(args))


register(TaskSpec(
    name="dialog-synth",
    description="built-in synthetic dialogs in LoCoMo format (offline, deterministic by seed)",
    args=(TaskArg("size", "how much data", "small", tuple(SIZES)),
          TaskArg("seed", "data seed (same seed, same conversations and questions)", "0"),
          TaskArg("pool", "word pool of size=hard: main, or held-out (words the offline reader "
                          "and mutator never name)", "main", tuple(POOLS)),
          TaskArg("conversations", "number of conversations (default: all of the size)", "all"),
          *_split_args("QA categories to keep: 1 multi-hop, 2 temporal, 3 knowledge-update, "
                       "4 single-hop, 5 adversarial")),
    factory=_make_dialog_synth))

register(TaskSpec(
    name="locomo",
    description="LoCoMo long-conversation QA from a user-supplied locomo10.json",
    args=(TaskArg("path", "path to the LoCoMo JSON file (required)", REQUIRED),
          TaskArg("conversations", "a count (first N) or comma-separated sample ids", "all"),
          *_split_args("QA categories to keep (1..5, numbering of the released file)")),
    factory=_make_locomo))


# -- interactive (embodied) tasks: factories and arguments live in their modules ----------
def _make_twx(args: dict[str, str]) -> Task:
    from .twx import make_twx

    return make_twx(args)


def _make_alfworld(args: dict[str, str]) -> Task:
    from .alfworld import make_alfworld

    return make_alfworld(args)


def _interactive_args(module: str) -> tuple[TaskArg, ...]:
    import importlib

    return importlib.import_module(f"{__package__}.{module}").__dict__[f"{module.upper()}_ARGS"]


register(TaskSpec(
    name="twx",
    description="TextWorldExpress text games (twc, cookingworld, ...) played step by step; "
                "expert transcripts are the memory (pip install 'evolve-memory[twx]', Java 17)",
    args=_interactive_args("twx"), factory=_make_twx, mode="interactive"))

register(TaskSpec(
    name="alfworld",
    description="ALFWorld household games from a user-supplied json_2.1.1 directory, played "
                "step by step (pip install 'evolve-memory[alfworld]')",
    args=_interactive_args("alfworld"), factory=_make_alfworld, mode="interactive"))


def make_task(name: str | Task, args: dict[str, str] | None = None) -> Task:
    """Build task ``name`` from string arguments (``--task-arg K=V``); a ``Task`` object is
    returned as it is (TypeError when it lacks part of the protocol; ``args`` must be empty)."""
    if not isinstance(name, str):
        from ..objects import require

        if args:
            raise TypeError("task arguments go to a task built by name, not to a task object")
        return require(name, "task")
    spec = TASKS.get(name)
    if spec is None and name.startswith(NAME_PREFIX):  # a file plugin named in place
        spec = register_named(name)
    if spec is None:
        raise UsageError(f"unknown task {name!r}; choose from: {', '.join(sorted(TASKS))}")
    given = dict(args or {})
    valid = [a.name for a in spec.args]
    for key in given:
        if spec.arg(key) is None:
            raise UsageError(f"task {name}: unknown argument {key!r}; valid: "
                             f"{', '.join(valid) or '(none)'}")
    filled: dict[str, str] = {}
    for arg in spec.args:
        if arg.name in given:
            value = str(given[arg.name])
        elif arg.default is REQUIRED:
            raise UsageError(f"task {name}: missing required argument {arg.name!r} "
                             f"(--task-arg {arg.name}=...)")
        else:
            value = arg.default
        if arg.choices and value not in arg.choices:
            raise UsageError(f"task {name}: bad value for {arg.name}: {value!r}; choose from: "
                             f"{', '.join(arg.choices)}")
        filled[arg.name] = value
    try:
        return spec.factory(filled)
    except UsageError as exc:
        message = str(exc)
        if message.startswith(("bad value", "unknown scorer")):  # name the task too
            message = f"task {name}: {message}"
        raise UsageError(message) from None


# -- LongMemEval, HealthBench, PRBench, bring-your-own JSONL and plugins (issue #4, part B) ---

def _count_or_all(name: str, value: str) -> int | None:
    value = value.strip()
    return None if value in ("", "all") else parse_int(name, value, minimum=1)


def _size_args(test: str, train: str) -> tuple[TaskArg, ...]:
    return (TaskArg("split_seed", "seed of the deterministic train/val/test split", "0"),
            TaskArg("test", "test split size: a fraction (0.2) or a count (100)", test),
            TaskArg("train", "train split size: a fraction or a count (rest is val)", train))


def _sizes(args: dict[str, str]) -> dict[str, Any]:
    return {"seed": parse_int("split_seed", args["split_seed"]),
            "test": parse_size("test", args["test"]), "train": parse_size("train", args["train"])}


def _make_longmemeval(args: dict[str, str]) -> Task:
    from .longmemeval import LongMemEvalTask

    questions = _conversations(args["questions"])
    types = [t.strip() for t in args["types"].split(",") if t.strip() and t.strip() != "all"]
    return LongMemEvalTask.from_file(args["path"], questions=questions, types=types or None,
                                     abstention=args["abstention"], **_sizes(args))


def _expert_options(args: dict[str, str]) -> dict[str, Any]:
    return {"hard": args["hard"], "experience": args["experience"],
            "experience_limit": _count_or_all("experience_limit", args["experience_limit"]),
            **_sizes(args)}


def _expert_args() -> tuple[TaskArg, ...]:
    return (TaskArg("hard", "the benchmark's hard subset (files named *hard*): left out as in "
                            "M*, added, or alone", "exclude", ("exclude", "include", "only")),
            TaskArg("experience", "episodes = train-split records with their ideal response "
                                  "and rubric, ideal response only, or no episodes", "rubric",
                    ("rubric", "ideal", "none")),
            TaskArg("experience_limit", "at most this many train records become episodes",
                    "all"),
            *_size_args("0.2", "0.3"))


def _make_healthbench(args: dict[str, str]) -> Task:
    from .healthbench import make_healthbench

    return make_healthbench(args["path"], themes=args["themes"], **_expert_options(args))


def _make_prbench(args: dict[str, str]) -> Task:
    from .prbench import make_prbench

    return make_prbench(args["path"], fields=args["fields"], topics=args["topics"],
                        category_by=args["category"], **_expert_options(args))


def _make_jsonl(args: dict[str, str]) -> Task:
    from .jsonl_task import JsonlTask

    return JsonlTask(args["items"], args["episodes"].strip() or None, scorer=args["scorer"],
                     **_sizes(args))


def _make_plugin(args: dict[str, str]) -> Task:
    """Factory of the ``plugin`` task (arguments ``plugin`` and ``options``)."""
    name = f"{NAME_PREFIX}{args['plugin'].strip()}"
    register_named(name)
    return make_task(name, parse_options(args.get("options", "")))


register(TaskSpec(
    name="longmemeval",
    description="LongMemEval: one memory per question, type-specific LLM-judge scoring",
    args=(TaskArg("path", "path to a LongMemEval JSON file (s, m or oracle) (required)",
                  REQUIRED),
          TaskArg("questions", "a count (first N) or comma-separated question ids", "all"),
          TaskArg("types", "question types to keep (comma-separated, e.g. temporal-reasoning)",
                  "all"),
          TaskArg("abstention", "the _abs questions: keep, drop or keep only", "include",
                  ("include", "exclude", "only")),
          *_size_args("0.2", "0")),
    factory=_make_longmemeval))

register(TaskSpec(
    name="healthbench",
    description="HealthBench prompts scored by rubric (one judge call per criterion)",
    args=(TaskArg("path", "JSONL/JSON/Parquet file(s) or a directory, comma-separated "
                          "(required)", REQUIRED),
          TaskArg("themes", "themes to keep (comma-separated, e.g. emergency_referrals)", "all"),
          *_expert_args()),
    factory=_make_healthbench))

register(TaskSpec(
    name="prbench",
    description="PRBench finance/legal prompts scored by weighted rubric (LLM judge)",
    args=(TaskArg("path", "Parquet/JSONL/JSON file(s) or a directory, comma-separated "
                          "(required)", REQUIRED),
          TaskArg("fields", "fields to keep: finance, legal (comma-separated)", "all"),
          TaskArg("topics", "topics to keep (comma-separated)", "all"),
          TaskArg("category", "what per-category scores group by", "topic", ("topic", "field")),
          *_expert_args()),
    factory=_make_prbench))

register(TaskSpec(
    name="jsonl",
    description="your own task: items (and episodes) as JSON lines (docs/tasks.md)",
    args=(TaskArg("items", "items file: {id, question, answer | rubric, ...} per line "
                           "(required)", REQUIRED),
          TaskArg("episodes", "episodes file: {id, text, group?, meta?} per line", ""),
          TaskArg("scorer", "how gold answers are scored (rubric items always use the judge)",
                  "f1", ("f1", "squad", "exact", "contains", "judge")),
          *_size_args("0.2", "0")),
    factory=_make_jsonl))

register(TaskSpec(
    name="plugin",
    description="a task from a Python file (or use --task plugin:FILE.py[:factory])",
    args=(TaskArg("plugin", "path/to/file.py[:factory] (factory default make_task) "
                            "(required)", REQUIRED),
          TaskArg("options", "the plugin's own arguments as k=v pairs separated by ';'", "")),
    factory=_make_plugin))


register_entry_points()
