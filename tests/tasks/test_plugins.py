"""Task plugins (file and entry point) and `evolve tasks` listing every task with its args."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from evolve.cli import main
from evolve.errors import UsageError
from evolve.tasks import plugins
from evolve.tasks.base import EvalItem, ScoreResult
from evolve.tasks.registry import TASKS, make_task

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGIN = ROOT / "examples" / "byo_task" / "plugin_task.py"

PLUGIN = textwrap.dedent('''
    """Tiny test plugin."""
    from evolve.tasks.base import Episode, EvalItem, Group, ScoreResult, TaskArg

    TASK_ARGS = (TaskArg("answer", "the gold answer", "blue"), ("mode", "bad behaviour", "ok"))
    TASK_DESCRIPTION = "colour quiz"


    class Quiz:
        name = "quiz"
        mode = "qa"
        category_names = {"colour": "colour"}

        def __init__(self, args):
            self.args = args

        def groups(self, split):
            if self.args["mode"] == "crash":
                raise KeyError("boom")
            if self.args["mode"] == "wrong":
                return [("not", "a group")]
            item = EvalItem("q1", "What colour is Ann's bike?", self.args["answer"], "colour")
            episode = Episode("e1", "[1 May, 2024]\\nAnn: My bike is " + self.args["answer"])
            return [Group("g", (episode,), (item,))]

        def score(self, item, answer):
            if self.args["mode"] == "big":
                return 7
            return ScoreResult(float(item.gold in answer.lower()), "contains gold")

        def describe(self):
            return {"task": self.name, "answer": self.args["answer"]}


    def make_task(args):
        return Quiz(args)


    def not_a_task(args):
        return object()
''')


@pytest.fixture
def plugin_file(tmp_path) -> Path:
    path = tmp_path / "quiz_plugin.py"
    path.write_text(PLUGIN)
    return path


def test_file_plugin_by_name_and_by_plugin_task(plugin_file):
    task = make_task(f"plugin:{plugin_file}", {"answer": "red"})
    assert task.name == "quiz" and task.describe()["plugin"].endswith("quiz_plugin.py:make_task")
    [group] = task.groups("val")
    assert group.items[0].gold == "red" and task.score(group.items[0], "Red").score == 1.0
    same = make_task("plugin", {"plugin": str(plugin_file), "options": "answer=green; mode=ok"})
    assert same.groups("val")[0].items[0].gold == "green"
    spec = TASKS[f"plugin:{plugin_file}"]
    assert [a.name for a in spec.args] == ["answer", "mode"] and spec.description == "colour quiz"


def test_plugin_evaluates_through_the_cli(plugin_file, capsys):
    code = main(["eval", "full_context", "--task", f"plugin:{plugin_file}", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "ok" and out["task"] == "quiz"
    assert out["n_items"] == 1 and out["category_names"] == {"colour": "colour"}


def test_example_plugin_evaluates(capsys):
    code = main(["eval", "full_context", "--task", "plugin", "--task-arg",
                 f"plugin={EXAMPLE_PLUGIN}", "--task-arg", "options=days=6;seed=2",
                 "--split", "all", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "ok" and out["n_items"] == 6


@pytest.mark.parametrize("target,args,needle", [
    ("{p}:not_a_task", {}, "the task object (object) lacks 'name'"),
    ("{p}:missing", {}, "defines no 'missing'"),
    ("{p}", {"colour": "x"}, "unknown argument 'colour'; valid: answer, mode"),
    ("{d}/nope.py", {}, "nope.py: file not found"),
])
def test_bad_plugins_give_one_line(plugin_file, capsys, target, args, needle):
    name = "plugin:" + target.format(p=plugin_file, d=plugin_file.parent)
    argv = ["eval", "full_context", "--task", name]
    for key, value in args.items():
        argv += ["--task-arg", f"{key}={value}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_plugin_results_are_checked_on_use(plugin_file, capsys):
    crash = make_task(f"plugin:{plugin_file}", {"mode": "crash"})
    with pytest.raises(UsageError, match=r"groups\('val'\) raised KeyError: 'boom'"):
        crash.groups("val")
    wrong = make_task(f"plugin:{plugin_file}", {"mode": "wrong"})
    with pytest.raises(UsageError, match=r"groups\('val'\)\[0\] is a tuple, not a Group"):
        wrong.groups("val")
    big = make_task(f"plugin:{plugin_file}", {"mode": "big"})
    item = EvalItem("q1", "Q?", "blue", "colour")
    with pytest.raises(UsageError, match="returned 7.0 for item 'q1'"):
        big.score(item, "blue")
    assert main(["eval", "full_context", "--task", f"plugin:{plugin_file}", "--task-arg",
                 "mode=wrong"]) == 2
    assert "is a tuple, not a Group" in capsys.readouterr().err


def test_syntax_errors_and_factory_errors_name_the_file(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\n\ndef make_task(args:\n    pass\n")
    assert main(["eval", "full_context", "--task", f"plugin:{broken}"]) == 2
    assert f"plugin {broken}:3: syntax error" in capsys.readouterr().err
    assert main(["eval", "full_context", "--task", "plugin", "--task-arg",
                 f"plugin={EXAMPLE_PLUGIN}", "--task-arg", "options=days=40"]) == 2
    err = capsys.readouterr().err
    assert "the factory raised ValueError: days must be between 2 and 12" in err
    with pytest.raises(UsageError, match="bad value for options: 'days'"):
        make_task("plugin", {"plugin": str(EXAMPLE_PLUGIN), "options": "days"})


def test_task_spec_objects_are_accepted():
    from evolve.tasks.registry import TaskSpec

    spec = TaskSpec("x", "a spec plugin", (), lambda args: make_task("dialog-synth",
                                                                      {"size": "tiny"}))
    built = plugins.spec_from_object("spec-plugin", spec, "test").factory({})
    assert built.name == "dialog-synth" and built.groups("val")


@pytest.fixture
def entry_points(tmp_path, plugin_file, monkeypatch):
    """A fake installed distribution declaring two `evolve.tasks` entry points."""
    package = tmp_path / "site"
    (package / "quizpkg").mkdir(parents=True)
    (package / "quizpkg" / "__init__.py").write_text(PLUGIN)
    info = package / "quizpkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: quizpkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[evolve.tasks]\nquiz-ep = quizpkg:make_task\nbroken-ep = quizpkg:does_not_exist\n"
        "locomo = quizpkg:make_task\n")
    monkeypatch.syspath_prepend(str(package))
    yield
    for name in ("quiz-ep", "broken-ep"):
        TASKS.pop(name, None)
    sys.modules.pop("quizpkg", None)


def test_entry_points_are_registered_and_listed(entry_points, capsys):
    added = plugins.register_entry_points()
    assert set(added) == {"quiz-ep", "broken-ep"}  # a built-in name is never replaced
    assert "locomo" in plugins.skipped_entry_points
    task = make_task("quiz-ep", {"answer": "pink"})
    assert task.groups("val")[0].items[0].gold == "pink"
    with pytest.raises(UsageError, match="broken-ep"):
        make_task("broken-ep", {})
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "quiz-ep  (qa)  colour quiz" in out and "--task-arg answer=..." in out
    assert "broken-ep  (qa)  (plugin failed to load" in out


def test_evolve_tasks_lists_every_task_with_its_arguments(capsys):
    assert main(["tasks"]) == 0
    text = capsys.readouterr().out
    for name in ("longmemeval", "healthbench", "prbench", "jsonl", "plugin", "locomo",
                 "dialog-synth"):
        assert name in TASKS
    for name, spec in TASKS.items():
        assert f"{name}  ({spec.mode})" in text
        for arg in spec.args:
            assert f"--task-arg {arg.name}=..." in text
    assert main(["tasks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert set(listed) == set(TASKS)
    assert [a["name"] for a in listed["jsonl"]["args"]] == ["items", "episodes", "scorer",
                                                            "split_seed", "test", "train"]
    assert {"path", "themes", "hard"} <= {a["name"] for a in listed["healthbench"]["args"]}
    assert {"path", "fields", "hard"} <= {a["name"] for a in listed["prbench"]["args"]}


def test_plugin_task_checks_protocol_attributes():
    class Half:
        name, mode, category_names = "half", "batch", {}

        def groups(self, split):
            return []

        def score(self, item, answer):
            return ScoreResult(1.0)

        def describe(self):
            return {}

    with pytest.raises(UsageError, match="'mode' must be 'qa' or 'interactive'"):
        plugins.check_task(Half(), "test")
