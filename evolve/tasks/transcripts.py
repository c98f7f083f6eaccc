"""Episode transcripts and outcomes of interactive tasks, shared by expert and played episodes.

A transcript is the goal line ("Your task is to: ..."), the first observation, then "> action"
and observation lines; memory programs parse actions and goals the same way in both kinds of
episode. An outcome is the JSON text ``Task.score`` receives for one played episode.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .base import ScoreResult

TRANSCRIPT_OBS_CHARS = 600  # one observation line in a transcript is clipped to this length
FIRST_OBS_CHARS = 1500  # ... except the first one, which says what the episode starts from
GOAL_PREFIX = "Your task is to: "
ACTION_PREFIX = "> "


def one_line(text: str, limit: int = TRANSCRIPT_OBS_CHARS) -> str:
    """Whitespace-collapsed text on one line, clipped to ``limit`` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def goal_line(goal: str) -> str:
    """ "Your task is to: <goal>" (a goal that already starts that way is not doubled)."""
    text = one_line(goal, 400)
    if text.lower().startswith("your task is to"):
        text = text[len("your task is to"):].lstrip(" :")
    return GOAL_PREFIX + text


def transcript_head(goal: str, first_observation: str) -> list[str]:
    """The first lines of every transcript: the goal line and the first observation."""
    return [goal_line(goal), one_line(first_observation, FIRST_OBS_CHARS)]


def render_transcript(goal: str, first_observation: str,
                      steps: Sequence[tuple[str, str]]) -> str:
    """Transcript text: goal line, first observation, then "> action" / observation lines.

    Expert episodes and played episodes share this format, so memory programs can parse
    actions ("> " lines) and goals ("Your task is to:") the same way in both.
    """
    lines = transcript_head(goal, first_observation)
    for action, observation in steps:
        lines += [ACTION_PREFIX + action, one_line(observation)]
    return "\n".join(lines)


def outcome_json(success: bool, score: float, steps: int, error: str | None = None) -> str:
    """The outcome of one played episode as handed to ``Task.score`` (JSON text)."""
    return json.dumps({"success": bool(success), "score": round(float(score), 6),
                       "steps": int(steps), "error": error})


def score_outcome(outcome: str) -> ScoreResult:
    """Binary success score from ``outcome_json`` text (anything unreadable scores 0)."""
    try:
        data = json.loads(outcome)
    except (TypeError, ValueError):
        return ScoreResult(0.0, "no episode outcome")
    if not isinstance(data, dict):
        return ScoreResult(0.0, "no episode outcome")
    steps = data.get("steps", 0)
    if data.get("error"):
        return ScoreResult(0.0, f"failed: {data['error']} (after {steps} steps)")
    if data.get("success"):
        return ScoreResult(1.0, f"goal reached in {steps} steps")
    return ScoreResult(0.0, f"goal not reached in {steps} steps "
                            f"(environment score {float(data.get('score') or 0):.2f})")
