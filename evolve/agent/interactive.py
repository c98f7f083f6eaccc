"""The fixed task agent in interactive mode (docs/embodied.md) and the episode player.

Per episode (one ``EvalItem`` of an interactive task):
1. reset the item's environment (out of process, ``evolve.tasks.envs``);
2. the task model fills a Query from the goal and first observation (``episode_query.j2``);
   the program's ``read`` runs ONCE; its text is the episode's tips;
3. step loop, at most ``max_steps`` steps: the action prompt (``action.j2``) holds the goal,
   ALWAYS_ON_KNOWLEDGE + tips, INSTRUCTION_RESPONSE, the last ``HISTORY_LINES`` transcript lines
   and the admissible actions; the reply is mapped to an admissible action (exact, then
   substring, then the first admissible action) and played;
4. the transcript is the item's trace (``ItemTrace.answer``, with a closing result line);
   the task scores the outcome JSON (``transcripts.outcome_json``): success 1, else 0.
An environment that hangs is killed on its step timeout and the episode scores 0.

Protocols (``EvalSettings.protocol``): ``offline`` plays the episodes of a group in parallel
against the memory built from the group's expert episodes; ``online`` plays them one by one
and after each writes its transcript into the memory (through the extraction step) and calls
``observe({"success", "score", "goal", "steps"})``; expert episodes are observed as successes
once after ingest.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import EndpointError
from ..eval_failures import is_local_failure
from ..jail import ProgramRaised
from ..llm.base import Message
from ..tasks.base import EvalItem, Group
from ..tasks.envs import EnvError, EnvPool, Observation
from ..tasks.transcripts import ACTION_PREFIX, one_line, outcome_json, transcript_head
from . import prompts
from .qa_agent import ItemTrace, QAAgent, QueryStep

HISTORY_LINES = 40
DEFAULT_MAX_STEPS = 50


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s'-]", " ", text.lower()).split())


def map_action(reply: str, admissible: list[str] | tuple[str, ...]) -> str:
    """The admissible action a reply stands for: exact match (case and punctuation ignored,
    any line of the reply), then the longest admissible action contained in the reply, then the
    shortest one containing the reply, then the first admissible action ("" when none)."""
    if not admissible:
        return ""
    by_norm = {_norm(a): a for a in reversed(admissible)}
    lines = [ln.strip().lstrip(">").strip().strip("`'\"") for ln in reply.splitlines()]
    lines = [ln for ln in lines if ln]
    for line in lines:
        if _norm(line) in by_norm:
            return by_norm[_norm(line)]
    text = f" {_norm(reply)} "
    inside = [a for a in admissible if _norm(a) and f" {_norm(a)} " in text]
    if inside:
        return max(inside, key=lambda a: len(_norm(a)))
    first = _norm(lines[0]) if lines else ""
    if first:
        around = [a for a in admissible if first in _norm(a)]
        if around:
            return min(around, key=lambda a: len(_norm(a)))
    return admissible[0]


@dataclass
class ActionStep:
    """One step's prompt, the model's reply and the admissible action it was mapped to."""

    action: str
    reply: str
    messages: list[Message] = field(default_factory=list)


class InteractiveAgent(QAAgent):
    """The task agent for interactive tasks (extraction is the QA agent's)."""

    def form_episode_query(self, goal: str) -> QueryStep:
        """Goal (+ first observation) -> Query keyword arguments (defaults when unusable)."""
        fields = self._program.query_fields
        user = prompts.render("episode_query.j2", instruction=self._constant("INSTRUCTION_QUERY"),
                              schema=prompts.render_schema(fields), goal=goal)
        messages = [prompts.system_message(), {"role": "user", "content": user}]
        return self._query_step(messages, fields, goal)

    def act(self, goal: str, tips: str, history: list[str], admissible: tuple[str, ...],
            step: int, max_steps: int) -> ActionStep:
        """One action prompt -> an admissible action."""
        user = prompts.render(
            "action.j2", goal=goal, always_on=self._constant("ALWAYS_ON_KNOWLEDGE").strip(),
            tips=tips, instruction=self._constant("INSTRUCTION_RESPONSE"),
            history="\n".join(history[-HISTORY_LINES:]), actions="\n".join(admissible),
            step=step, max_steps=max_steps)
        messages = [prompts.system_message(), {"role": "user", "content": user}]
        reply = self._hub.chat("task", messages).text
        return ActionStep(map_action(reply, admissible), reply, messages)


@dataclass
class PlayedEpisode:
    """A played episode: transcript lines, last observation and how it ended."""

    lines: list[str]
    steps: int = 0
    last: Observation | None = None
    error: str | None = None

    @property
    def success(self) -> bool:
        return self.error is None and self.last is not None and self.last.won

    @property
    def transcript(self) -> str:
        return "\n".join(self.lines)


class InteractiveRunner:
    """Plays the items of interactive groups for one evaluation (see the module docstring).

    ``run`` is the evaluation's ``evolve.evaluation.eval_run.EvalRun`` (``program_error``, ``hub_log``,
    ``ingest``, ``write_episode``, ``take_query``, ``read``, ``fail_item``, ``task``,
    ``settings``); the environment workers live in one ``EnvPool`` closed by ``close()``.
    A model call that fails for good fails its episode (score 0, reason in the trace); a
    failed episode is not learnt from under the online protocol.
    """

    def __init__(self, run: Any, env_workers: int) -> None:
        self.run = run
        self.settings = run.settings
        self.envs = EnvPool(env_workers)

    def close(self) -> None:
        self.envs.close()

    def play_group(self, session: Any, agent: InteractiveAgent, group: Group,
                   pool: ThreadPoolExecutor) -> list[ItemTrace]:
        online = getattr(self.settings, "protocol", "offline") == "online"
        oracle = self.settings.oracle
        if not oracle:
            self.run.ingest(session, agent, group, pool)
        if not online or oracle:
            return list(pool.map(lambda it: self.play(session, agent, group, it), group.items))
        if group.episodes:
            self._observe(session, {"success": True, "score": 1.0, "source": "expert"})
        traces = []
        for item in group.items:
            trace, episode = self._play(session, agent, group, item)
            traces.append(trace)
            if trace.failure is None:
                self._learn(session, agent, group, item, episode, trace)
        return traces

    def _observe(self, session: Any, outcome: dict[str, Any]) -> None:
        try:
            session.observe(outcome)
        except ProgramRaised as exc:
            self.run.program_error("observe", exc)

    def _learn(self, session: Any, agent: InteractiveAgent, group: Group, item: EvalItem,
               episode: PlayedEpisode, trace: ItemTrace) -> None:
        """Online protocol: write the played transcript, then report its outcome."""
        extraction = agent.extract(episode.transcript)
        self.run.write_episode(session, group.id, item.id, extraction, episode.transcript)
        goal = item.question.split("\n", 1)[0]
        self._observe(session, {"success": episode.success, "score": trace.score,
                                "goal": goal, "steps": episode.steps})

    def play(self, session: Any, agent: InteractiveAgent, group: Group,
             item: EvalItem) -> ItemTrace:
        return self._play(session, agent, group, item)[0]

    def _tips(self, session: Any, agent: InteractiveAgent, item: EvalItem,
              trace: ItemTrace, goal: str) -> str:
        """The episode's tips from the program's one read ("" when the query call failed)."""
        step = agent.form_episode_query(goal)
        self.run.take_query(trace, step)
        if trace.failure:
            return ""
        if self.settings.oracle or session is None:
            return "\n".join(item.evidence)
        return self.run.read(session, item, trace, step)

    def _play(self, session: Any, agent: InteractiveAgent, group: Group,
              item: EvalItem) -> tuple[ItemTrace, PlayedEpisode]:
        trace = ItemTrace(item.id, group.id, item.category, item.question, item.gold)
        meta = item.meta
        max_steps = int(meta.get("max_steps") or DEFAULT_MAX_STEPS)
        episode = PlayedEpisode(lines=[])
        failure: str | None = None
        try:
            with self.envs.lease(str(meta.get("env", "")), dict(meta.get("env_options") or {}),
                                 step_timeout=meta.get("step_timeout")) as env:
                obs = env.reset(dict(meta.get("reset") or {}))
                episode.last = obs
                episode.lines = transcript_head(obs.goal, obs.text)
                goal = "\n".join(episode.lines)
                trace.retrieved = self._tips(session, agent, item, trace, goal)
                while trace.failure is None and episode.steps < max_steps \
                        and not (obs.done or obs.won):
                    choice = agent.act(episode.lines[0], trace.retrieved, episode.lines[1:],
                                       obs.admissible, episode.steps + 1, max_steps)
                    trace.prompts["action"] = choice.messages
                    obs = env.step(choice.action)
                    episode.steps += 1
                    episode.last = obs
                    episode.lines += [ACTION_PREFIX + choice.action, one_line(obs.text)]
        except EnvError as exc:
            episode.error = f"environment: {exc}"
            self.run.hub_log("warning", f"episode {item.id}: {episode.error}")
        except EndpointError as exc:  # an action call failed for good: this episode fails
            if not is_local_failure(exc):
                raise
            failure = f"action call failed: {exc}"
        last = episode.last
        outcome = outcome_json(episode.success, last.score if last else 0.0, episode.steps,
                               episode.error)
        result = self.run.task.score(item, outcome)
        trace.score, trace.rationale = float(result.score), result.rationale
        status = "success" if episode.success else "failure"
        trace.answer = "\n".join([*episode.lines, f"[episode end: {status} after "
                                  f"{episode.steps} steps; {result.rationale}]"])
        if episode.error:
            trace.error = episode.error if trace.error is None else \
                f"{trace.error}; {episode.error}"
        if trace.failure:  # the query call failed: the episode was not played
            trace.score, trace.rationale = 0.0, f"item failed: {trace.failure}"
        elif failure:
            self.run.fail_item(trace, failure)
        return trace, episode
