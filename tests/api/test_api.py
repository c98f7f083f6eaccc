"""The public Python API: exports, objects in place of names, resume with objects, no global
state (signal handlers), typed records."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import evolve
from evolve.cli import main
from evolve.errors import UsageError
from evolve.llm.offline import OfflineModel
from evolve.tasks.registry import make_task

CONFIG = {
    "campaign": {"name": "api", "seed": 0},
    "task": {"name": "dialog-synth", "args": {"size": "tiny"}},
    "search": {"seeds": ["vector_search", "llm_summarizer", "experience_learner"],
               "iterations": 3, "selector": "softmax"},
    "data": {"val_size": 8, "test_size": 4},
}


def config(**sections: dict) -> dict:
    out = {name: dict(table) for name, table in CONFIG.items()}
    for name, table in sections.items():
        out[name] = {**out.get(name, {}), **table}
    return out


def read(run_dir: Path) -> tuple[list, list]:
    """Programs and evaluations of a run, as comparable tuples (typed records)."""
    with evolve.open_run(run_dir) as run:
        programs = sorted((p.id, p.parent_ids, p.iteration, p.origin, p.gate_status)
                          for p in run.programs())
        evaluations = sorted((e.program_id, e.split, e.subset, e.status, round(e.score, 9),
                              e.n_items) for e in run.evaluations())
    return programs, evaluations


class MyArgmax:
    """A user's selector: the best score, oldest among ties (what "argmax" does), written
    without the built-in class."""

    name = "my-argmax"

    def __init__(self) -> None:
        self.calls = 0

    def select(self, pool, rng):
        self.calls += 1
        best = max(entry.score for entry in pool)
        return min((e for e in pool if e.score >= best - 1e-9),
                   key=lambda e: (e.iteration, pool.index(e)))


class OtherArgmax(MyArgmax):
    name = "other"


class WrappedTask:
    """A user's task object: dialog-synth tiny behind a class of its own."""

    def __init__(self) -> None:
        self.inner = make_task("dialog-synth", {"size": "tiny"})
        self.name, self.mode = "wrapped-dialogs", self.inner.mode
        self.category_names = dict(self.inner.category_names)
        self.scored = 0

    def groups(self, split):
        return self.inner.groups(split)

    def score(self, item, answer):
        self.scored += 1
        return self.inner.score(item, answer)

    def describe(self):
        return {"task": self.name}


class CountingModel:
    """A user's chat model: the offline model, counting its calls."""

    name = "counting-offline"

    def __init__(self) -> None:
        self.inner, self.calls = OfflineModel(), 0

    def complete(self, messages, **options):
        self.calls += 1
        return self.inner.complete(messages, **options)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def argmax_by_name(runs) -> tuple[list, list]:
    outcome = evolve.run_campaign(config(search={"selector": "argmax"}), runs / "argmax")
    assert outcome.finished
    return read(runs / "argmax")


@pytest.fixture(scope="module")
def softmax_by_name(runs) -> tuple[list, list]:
    assert evolve.run_campaign(config(), runs / "softmax").finished
    return read(runs / "softmax")


@pytest.fixture(scope="module")
def selector_object_run(runs) -> dict:
    """The softmax config with a user's argmax object; signal.signal spied on meanwhile."""
    installed: list = []
    during: list = []
    events: list = []
    before = signal.getsignal(signal.SIGINT)
    selector = MyArgmax()

    def on_progress(event) -> None:
        events.append(event)
        during.append(signal.getsignal(signal.SIGINT))

    with pytest.MonkeyPatch.context() as patch:
        real = signal.signal
        patch.setattr(signal, "signal", lambda *args: installed.append(args) or real(*args))
        outcome = evolve.run_campaign(config(), runs / "object", selector=selector,
                                      progress=on_progress)
    return {"outcome": outcome, "records": read(runs / "object"), "installed": installed,
            "during": during, "before": before, "events": events, "selector": selector}


# -- the exported surface -------------------------------------------------------------------

def test_all_lists_every_export_and_each_imports():
    assert set(evolve.__all__) == {"__version__", *evolve._EXPORTS}
    for name in evolve.__all__:
        assert getattr(evolve, name) is not None, name
    for name in ("run_campaign", "resume_campaign", "evaluate_program", "open_run",
                 "load_config", "CampaignConfig", "Task", "ParentSelector", "MetaAgent",
                 "Stopper", "Executor", "ProgressCallback", "ProgramRecord",
                 "EvaluationRecord"):
        assert name in evolve.__all__
    with pytest.raises(AttributeError):
        evolve.no_such_name  # noqa: B018


def test_import_evolve_stays_light():
    code = ("import sys, evolve; heavy = [m for m in ('numpy', 'duckdb', 'openai', "
            "'evolve.campaign.loop') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_load_config_from_a_file_a_dict_and_a_config(tmp_path):
    from evolve.config.load import load_config as load_toml

    toml = Path(__file__).resolve().parents[2] / "examples" / "quickstart.toml"
    from_file = evolve.load_config(toml, ["search.iterations=2"])
    assert from_file == load_toml(toml, ["search.iterations=2"])
    from_dict = evolve.load_config(config(), ["search.iterations=2"])
    assert from_dict.search.iterations == 2 and from_dict.task.args == {"size": "tiny"}
    assert evolve.load_config(from_dict) is from_dict
    assert evolve.load_config(from_dict, ["data.val_size=5"]).data.val_size == 5
    with pytest.raises(UsageError, match=r"search\.selectr: unknown key; did you mean "
                                         r"search\.selector"):
        evolve.load_config({"search": {"selectr": "argmax"}})
    with pytest.raises(UsageError, match=r"override 'search\.iterations=-1'"):
        evolve.load_config(from_dict, ["search.iterations=-1"])


# -- objects in place of names --------------------------------------------------------------

def test_a_selector_object_gives_the_campaign_of_the_same_selector_by_name(
        selector_object_run, argmax_by_name, softmax_by_name):
    assert selector_object_run["outcome"].finished
    assert selector_object_run["selector"].calls >= 3  # the object chose every parent
    assert selector_object_run["records"] == argmax_by_name
    assert argmax_by_name != softmax_by_name  # the config's own softmax was not used


def test_run_campaign_installs_no_signal_handler(selector_object_run):
    assert selector_object_run["installed"] == []
    assert selector_object_run["during"]
    assert all(handler == selector_object_run["before"]
               for handler in selector_object_run["during"])
    assert signal.getsignal(signal.SIGINT) == selector_object_run["before"]


def test_progress_events_reach_the_callback(selector_object_run):
    events = selector_object_run["events"]
    seeds = [e for e in events if e.kind == "seed"]
    iterations = [e for e in events if e.kind == "iteration"]
    assert [e.program for e in seeds] == ["vector_search", "llm_summarizer",
                                          "experience_learner"]
    assert all(e.status and e.score is not None for e in seeds)
    assert [e.iteration for e in iterations] == [1, 2, 3]
    assert all(e.total == 3 and e.text.startswith("[") for e in iterations)
    assert iterations[-1].best == selector_object_run["outcome"].best_val


def test_a_task_object_gives_the_campaign_of_the_task_by_name(runs, argmax_by_name):
    task = WrappedTask()
    # the config names another task (small data): with an object, it is not used
    settings = config(task={"name": "dialog-synth", "args": {"size": "small"}},
                      search={"selector": "argmax"})
    outcome = evolve.run_campaign(settings, runs / "task", task=task)
    assert outcome.finished and task.scored > 0
    assert read(runs / "task") == argmax_by_name
    with evolve.open_run(runs / "task") as run:
        assert run.campaign.task == "wrapped-dialogs" and run.campaign.task_args == {}
        recorded = run.query("SELECT value FROM state WHERE key = 'python_objects'")
    assert "test_api.WrappedTask" in recorded[0]["value"]


def test_a_model_object_gives_the_campaign_of_the_model_by_name(runs, argmax_by_name,
                                                               tmp_path, capsys):
    model = CountingModel()
    outcome = evolve.run_campaign(config(search={"selector": "argmax"}), runs / "model",
                                  models={"task": model})
    assert outcome.finished and model.calls > 0
    assert read(runs / "model") == argmax_by_name
    # an export names the object, not the config's "offline" (and does not replay with it)
    assert main(["export", str(runs / "model"), "--best", "--out", str(tmp_path / "pkg")]) == 0
    assert "task `python:test_api.CountingModel`" in (tmp_path / "pkg" / "README.md").read_text()
    capsys.readouterr()


def test_a_stopper_object_ends_the_campaign(runs):
    class AfterOne:
        def check(self, status):
            return "after-one: enough" if status.iterations_done >= 1 else None

    outcome = evolve.run_campaign(config(), runs / "stopper", stoppers=[AfterOne()])
    assert outcome.finished and outcome.stop_reason == "after-one: enough"
    with evolve.open_run(runs / "stopper") as run:
        assert max(p.iteration for p in run.programs()) == 1


@pytest.mark.parametrize("kwargs, missing", [
    ({"selector": object()}, r"selector object builtins\.object is not a ParentSelector: "
                             r"it lacks select\(\)"),
    ({"task": type("NoScore", (), {"name": "x", "mode": "qa", "category_names": {},
                                   "groups": lambda self, s: [], "describe": dict})()},
     r"task object .*NoScore is not a Task: it lacks score\(\)"),
    ({"stoppers": [object()]}, r"stopper object .* lacks check\(\)"),
    ({"meta_agent": object()}, r"meta-agent object .* lacks propose\(\), fix\(\), repair\(\), "
                               r"name"),
    ({"executor": object()}, r"executor object .* lacks map\(\), close\(\)"),
    ({"models": {"task": object()}}, r"chat model object .* lacks complete\(\), name"),
    ({"models": {"critic": "offline"}}, r"unknown model role\(s\) critic"),
])
def test_bad_objects_are_refused_before_any_work(tmp_path, kwargs, missing):
    with pytest.raises(TypeError, match=missing):
        evolve.run_campaign(config(), tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()


def test_a_bad_name_is_a_usage_error_naming_the_key(tmp_path):
    with pytest.raises(UsageError, match=r"search\.selector: expected one of softmax"):
        evolve.run_campaign(config(), tmp_path / "run", selector="best")


def test_a_meta_agent_name_is_the_config_key(tmp_path):
    with pytest.raises(UsageError, match=r"search\.meta_agent: expected one of"):
        evolve.run_campaign(config(), tmp_path / "bad", meta_agent="clever")
    assert not (tmp_path / "bad").exists()
    by_name = evolve.run_campaign(config(), tmp_path / "named", meta_agent="offline")
    by_config = evolve.run_campaign(config(search={"meta_agent": "offline"}),
                                    tmp_path / "configured")
    assert by_name.finished and by_config.finished
    assert (by_name.best_program, by_name.best_val) == (by_config.best_program,
                                                        by_config.best_val)


def test_objects_sent_to_worker_processes_must_pickle(tmp_path):
    class Locked(WrappedTask):
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()

    settings = config(parallel={"executor": "processes"})
    with pytest.raises(TypeError, match=r"the task object .*Locked cannot be pickled, which "
                                        r"parallel\.executor = 'processes' needs"):
        evolve.run_campaign(settings, tmp_path / "run", task=Locked())
    assert not (tmp_path / "run").exists()
    # threads share the object: no pickling needed
    from evolve.campaign.user_parts import user_parts

    user_parts(evolve.load_config(config()), task=Locked())
    # a class made in a function pickles by value (cloudpickle): accepted for processes
    user_parts(evolve.load_config(settings), task=type("Local", (WrappedTask,), {})())


@pytest.mark.slow  # ~20 s: starts worker processes
def test_a_task_object_runs_in_worker_processes(runs, argmax_by_name):
    settings = config(search={"selector": "argmax"},
                      parallel={"executor": "processes", "workers": 2})
    outcome = evolve.run_campaign(settings, runs / "processes", task=WrappedTask())
    assert outcome.finished
    assert read(runs / "processes") == argmax_by_name


# -- resume with objects --------------------------------------------------------------------

def test_resume_needs_the_same_objects(runs, argmax_by_name, capsys):
    def stop_after_first(event) -> None:
        if event.kind == "iteration" and event.iteration == 1:
            raise KeyboardInterrupt  # what a Ctrl-C in a notebook does

    run_dir = runs / "resumed"
    first = evolve.run_campaign(config(), run_dir, selector=MyArgmax(),
                                progress=stop_after_first)
    assert not first.finished and first.stop_reason == "interrupted"

    assert main(["resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "was run with Python objects (selector=test_api.MyArgmax); resume it from Python" \
        in err and len(err.strip().splitlines()) == 1
    with pytest.raises(UsageError, match="was run with Python objects"):
        evolve.resume_campaign(run_dir)
    with pytest.raises(UsageError, match=r"was run with selector=test_api\.MyArgmax; resuming "
                                         r"it with selector=test_api\.OtherArgmax"):
        evolve.resume_campaign(run_dir, selector=OtherArgmax())
    with pytest.raises(UsageError, match=r"models\.task"):
        evolve.resume_campaign(run_dir, selector=MyArgmax(), models={"task": CountingModel()})

    done = evolve.resume_campaign(run_dir, selector=MyArgmax())
    assert done.finished
    assert read(run_dir) == argmax_by_name  # exactly the uninterrupted campaign


def test_a_config_campaign_refuses_objects_on_resume(runs, argmax_by_name):
    def stop_after_first(event) -> None:
        if event.kind == "iteration":
            raise KeyboardInterrupt

    run_dir = runs / "by-name-resumed"
    assert not evolve.run_campaign(config(search={"selector": "argmax"}), run_dir,
                                   progress=stop_after_first).finished
    with pytest.raises(UsageError, match="was run from its config alone"):
        evolve.resume_campaign(run_dir, selector=MyArgmax())
    assert evolve.resume_campaign(run_dir).finished
    assert read(run_dir) == argmax_by_name


# -- reading a run --------------------------------------------------------------------------

def test_open_run_gives_frozen_typed_records(runs, selector_object_run):
    outcome = selector_object_run["outcome"]
    with evolve.open_run(runs / "object") as run:
        assert run.finished and run.campaign.id == outcome.campaign_id
        assert run.campaign.seeds == ("vector_search", "llm_summarizer", "experience_learner")
        assert run.config == evolve.load_config(config())
        best = run.best()
        assert best is not None and best.id == outcome.best_program
        assert run.score(best) == pytest.approx(outcome.best_val)
        assert run.score(best, "test") == pytest.approx(outcome.best_test)
        assert run.program(best.id[:10]) == best
        seeds = run.programs(origin="seed")
        assert [p.name for p in seeds] and all(p.iteration == 0 for p in seeds)
        static = run.evaluations(best.id, split="static")
        assert len(static) == 1 and static[0].status == "ok"
        items = run.items(static[0])
        assert len(items) == static[0].n_items and all(i.trace for i in items)
        assert [e.kind for e in run.events("stopped")] == ["stopped"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            best.source = ""
        with pytest.raises(UsageError, match="no program id starts with"):
            run.program("zzzz")
    with pytest.raises(UsageError, match="is not an evolve run directory"):
        evolve.open_run(runs)


def test_evaluate_program_by_name_and_with_objects():
    by_name = evolve.evaluate_program("vector_search", "dialog-synth", {"size": "tiny"},
                                      limit=6)
    assert by_name.status == "ok" and by_name.n_items == 6
    model = CountingModel()
    source = (Path(__file__).resolve().parents[2] / "seeds" / "vector_search.py").read_text()
    with_objects = evolve.evaluate_program(source, WrappedTask(), model=model, limit=6)
    assert model.calls > 0
    assert with_objects.summary()["score"] == by_name.summary()["score"]
    assert with_objects.per_category == by_name.per_category
    with pytest.raises(UsageError, match="program file not found"):
        evolve.evaluate_program("no_such_seed", "dialog-synth")


# -- the pieces behind the calls --------------------------------------------------------------

def test_model_objects_per_role_and_the_roles_that_follow_the_task_model(tmp_path):
    from evolve.llm.hub_setup import build_campaign_hub
    from evolve.meta.factory import make_meta_agent
    from evolve.meta.llm_agent import LLMMetaAgent

    settings = evolve.load_config(config())
    task_model = CountingModel()
    hub = build_campaign_hub(settings, tmp_path, {"task": task_model})
    assert all(hub.model_for(role) is task_model
               for role in ("task", "toolkit", "judge", "reflector"))
    assert make_meta_agent(settings, hub).name == "offline"  # reflector "offline": the mutator
    reflector = CountingModel()
    hub = build_campaign_hub(settings, tmp_path, {"reflector": reflector})
    assert hub.model_for("reflector") is reflector and hub.model_for("task").name == "offline"
    assert isinstance(make_meta_agent(settings, hub, reflector_object=True), LLMMetaAgent)


def test_the_command_line_ctrl_c_stops_after_the_step_then_abandons():
    import os
    import time
    import types

    from evolve.commands.interrupt import campaign_sigint

    notes: list[str] = []
    fake = types.SimpleNamespace(stops=0, progress=types.SimpleNamespace(message=notes.append))
    fake.request_stop = lambda: setattr(fake, "stops", fake.stops + 1)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), campaign_sigint(fake):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # the first press: a stop request, no exception
        assert fake.stops == 1 and "stopping after the current step" in notes[0]
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the second press abandons the step
    assert signal.getsignal(signal.SIGINT) == before
