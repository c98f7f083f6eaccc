"""The report's figures (matplotlib, Agg backend): one function per figure kind.

Each ``plot_<kind>(data, path)`` writes ``path`` (PNG or SVG, from the suffix) and returns it.
Figures stay readable for hundreds of programs: point labels are kept for the few programs
that matter (best, seeds, Pareto front) and the tree grows in height with its leaves, capped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..errors import UsageError  # noqa: E402
from ..strategies.pareto import pareto_front  # noqa: E402
from .data import ProgramInfo, RunData  # noqa: E402

KINDS = ("scores", "pareto", "categories", "tree")
_DPI = 110
_BEST = "#d62728"
_SEED = "#ff7f0e"
_CHILD = "#1f77b4"
_FAILED = "#9e9e9e"


def check_figure_path(path: str | Path) -> Path:
    """A figure file name the user gave: ``.png`` or ``.svg``, in a directory that exists (it
    is not created: a typo such as ``/nonexistent/p.png`` must not make new directories)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"{path}: figure files must end in .png or .svg")
    if not path.parent.is_dir():
        raise UsageError(f"{path}: directory {path.parent} does not exist (create it first)")
    return path


def _save(fig: Any, path: Path) -> Path:
    try:
        path = check_figure_path(path)
        suffix = path.suffix.lower()
        fig.savefig(path, dpi=_DPI, bbox_inches="tight", format=suffix[1:],
                    metadata={"Software": None} if suffix == ".png" else {"Date": None})
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path


def _empty(fig: Any, ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555")
    ax.set_xticks([])
    ax.set_yticks([])


def _scored(data: RunData) -> list[ProgramInfo]:
    return [p for p in data.programs if p.val_score is not None]


def _val(program: ProgramInfo) -> float:
    """The validation score of a program ``_scored`` kept: never None there."""
    assert program.val_score is not None, program.id
    return program.val_score


def plot_scores(data: RunData, path: Path) -> Path:
    """Validation score of every child by iteration, the running best, the best seed."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    scored = _scored(data)
    if not scored:
        _empty(fig, ax, "no program has a validation score yet")
        return _save(fig, path)
    seeds = [p for p in scored if p.origin == "seed"]
    children = [p for p in scored if p.origin != "seed"]
    failed = [p for p in data.programs if p.status == "gate_failed" and p.origin != "seed"]
    ax.scatter([p.iteration for p in children], [_val(p) for p in children], s=28,
               color=_CHILD, alpha=0.75, label="child (static validation)", zorder=3)
    ax.scatter([0] * len(seeds), [_val(p) for p in seeds], s=46, marker="s", color=_SEED,
               label="seed", zorder=3)
    if failed:
        ax.scatter([p.iteration for p in failed], [0.0] * len(failed), s=30, marker="x",
                   color=_FAILED, label="gate failed (no score)", zorder=2)
    last = max([data.status.get("iterations_done") or 0] + [p.iteration for p in scored])
    running: list[float] = []
    best: float | None = None
    by_iteration: dict[int, list[float]] = {}
    for p in scored:
        by_iteration.setdefault(p.iteration, []).append(_val(p))
    for it in range(0, last + 1):
        for score in by_iteration.get(it, []):
            best = score if best is None else max(best, score)
        running.append(float("nan") if best is None else best)  # NaN: no step drawn yet
    ax.step(range(0, last + 1), running, where="post", color=_BEST, linewidth=2,
            label="best so far", zorder=4)
    best_seed = data.status.get("best_seed_val")
    if best_seed is not None:
        ax.axhline(best_seed, color=_SEED, linestyle=":", linewidth=1.2, label="best seed")
    ax.set_xlabel("iteration (0 = seeds)")
    ax.set_ylabel("score on the static validation set")
    ax.set_title(f"{data.campaign.get('name', 'campaign')}: score by iteration")
    ax.set_xlim(-0.6, last + 0.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(-0.03, 1.05 if max(_val(p) for p in scored) <= 1 else None)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return _save(fig, path)


def plot_pareto(data: RunData, path: Path) -> Path:
    """Score vs cost per query (campaign's cost objective) with the non-dominated front."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    points = [(p, c) for p in _scored(data) if (c := data.cost_of(p)) is not None]
    unit = "LLM calls per query" if data.cost_objective == "llm_calls" else "tokens per query"
    if not points:
        _empty(fig, ax, "no program has both a score and a cost yet")
        return _save(fig, path)
    front_ids = set(pareto_front([(p.id, _val(p), c) for p, c in points]))
    others = [(p, c) for p, c in points if p.id not in front_ids]
    front = sorted(((p, c) for p, c in points if p.id in front_ids), key=lambda t: t[1])
    ax.scatter([c for _, c in others], [_val(p) for p, _ in others], s=26, color=_CHILD,
               alpha=0.55, label="program", zorder=2)
    ax.plot([c for _, c in front], [_val(p) for p, _ in front], "-o", color=_BEST,
            markersize=6, linewidth=1.5, drawstyle="steps-post", label="Pareto front", zorder=3)
    seeds = [(p, c) for p, c in points if p.origin == "seed"]
    ax.scatter([c for _, c in seeds], [_val(p) for p, _ in seeds], s=60, marker="s",
               facecolor="none", edgecolor=_SEED, linewidth=1.5, label="seed", zorder=4)
    best = data.best
    labelled = {p.id for p, _ in front} | {p.id for p, _ in seeds}
    span_c = (max(c for _, c in points) - min(c for _, c in points)) or 1.0
    span_s = (max(_val(p) for p, _ in points) - min(_val(p) for p, _ in points)) or 1.0
    placed: list[tuple[float, float]] = []
    wanted = [(p, c) for p, c in points if p.id in labelled or (best and p.id == best.id)]
    wanted.sort(key=lambda t: (not (best and t[0].id == best.id), t[0].origin != "seed"))
    for p, c in wanted:
        x, y = (c - min(cc for _, cc in points)) / span_c, _val(p) / span_s
        if any(abs(x - px) < 0.07 and abs(y - py) < 0.06 for px, py in placed):
            continue  # a neighbour already carries a label here: keep the plot readable
        placed.append((x, y))
        # The area above-left of a front point is empty by definition: label front points
        # there; other labelled points (seeds, best) to their right.
        on_front = p.id in front_ids
        ax.annotate(p.name or p.short, (c, _val(p)), textcoords="offset points",
                    xytext=(-6, 5) if on_front else (6, -3), ha="right" if on_front else "left",
                    fontsize=7, color=_BEST if best and p.id == best.id else "#333")
    ax.set_xlabel(f"cost: {unit} (static validation)")
    ax.set_ylabel("score on the static validation set")
    ax.set_title("score vs cost (higher and further left is better)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return _save(fig, path)


def plot_categories(data: RunData, path: Path) -> Path:
    """Per-category validation score of the best program against each seed (and best's test)."""
    categories = data.categories()
    best = data.best
    # (label, scores, colour: a name or a colormap's RGBA tuple, hatch)
    series: list[tuple[str, dict[str, float], str | tuple[float, float, float, float], str]] = []
    if best is not None:
        series.append((f"best {best.short} (val)", best.per_category, _BEST, ""))
        if best.test_per_category:
            series.append((f"best {best.short} (test)", best.test_per_category, _BEST, "//"))
    palette = plt.get_cmap("Set2")
    for index, seed in enumerate(p for p in data.seeds if p.val_score is not None):
        series.append((f"seed {seed.name or seed.short}", seed.per_category,
                       palette(index % 8), ""))
    width_in = max(8.0, 1.2 + len(categories) * (0.35 + 0.22 * len(series)))
    fig, ax = plt.subplots(figsize=(min(width_in, 18.0), 4.8))
    if not categories or not series:
        _empty(fig, ax, "no per-category scores yet")
        return _save(fig, path)
    bar = 0.8 / len(series)
    for k, (label, scores, color, hatch) in enumerate(series):
        xs = [i - 0.4 + bar * (k + 0.5) for i in range(len(categories))]
        ys = [scores.get(c, 0.0) for c in categories]
        ax.bar(xs, ys, width=bar, label=label, color="white" if hatch else color,
               edgecolor=color, hatch=hatch, linewidth=1.0)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels([data.category_label(c) for c in categories], fontsize=9)
    ax.set_ylabel("mean score")
    ax.set_ylim(0, 1.05)
    ax.set_title("score per question category: best program vs seeds")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(3, len(series)), loc="upper center",
              bbox_to_anchor=(0.5, -0.12), frameon=False)
    return _save(fig, path)


def tree_layout(programs: list[ProgramInfo]) -> dict[str, tuple[float, float]]:
    """(x = iteration, y = leaf order) per program; parents centred over their children."""
    by_id = {p.id: p for p in programs}
    kids: dict[str, list[str]] = {p.id: [] for p in programs}
    roots = []
    for p in programs:
        parent = next((q for q in p.parents[:1] if q in by_id), None)
        if parent is None:
            roots.append(p.id)
        else:
            kids[parent].append(p.id)
    pos: dict[str, tuple[float, float]] = {}
    next_leaf = 0.0
    stack: list[tuple[str, bool]] = [(r, False) for r in reversed(roots)]
    while stack:  # iterative post-order: deep lineages must not hit the recursion limit
        node, done = stack.pop()
        if done or not kids[node]:
            if kids[node]:
                ys = [pos[k][1] for k in kids[node]]
                y = (min(ys) + max(ys)) / 2
            else:
                y, next_leaf = next_leaf, next_leaf + 1
            pos[node] = (float(by_id[node].iteration), y)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in reversed(kids[node]))
    return pos


def plot_tree(data: RunData, path: Path) -> Path:
    """The family tree: x = iteration, colour = validation score, best ringed, seeds named."""
    programs = data.programs
    pos = tree_layout(programs)
    leaves = max(1, int(max((y for _, y in pos.values()), default=0)) + 1)
    height = min(24.0, max(4.0, 0.28 * leaves + 1.5))
    fig, ax = plt.subplots(figsize=(10, height))
    if not programs:
        _empty(fig, ax, "no programs yet")
        return _save(fig, path)
    for p in programs:
        for k, parent in enumerate(p.parents):
            if parent in pos:
                (x0, y0), (x1, y1) = pos[parent], pos[p.id]
                ax.plot([x0, x0 + 0.5 * (x1 - x0), x1], [y0, y1, y1], color="#bbbbbb",
                        linewidth=0.9, linestyle="-" if k == 0 else "--", zorder=1)
    scored = [p for p in programs if p.val_score is not None]
    cmap = plt.get_cmap("viridis")
    if scored:
        low = min(_val(p) for p in scored)
        high = max(_val(p) for p in scored)
        sc = ax.scatter([pos[p.id][0] for p in scored], [pos[p.id][1] for p in scored],
                        c=[_val(p) for p in scored], cmap=cmap, vmin=low,
                        vmax=high if high > low else low + 1e-9, s=46, zorder=3,
                        edgecolor="#333", linewidth=0.4)
        fig.colorbar(sc, ax=ax, pad=0.01, fraction=0.04, label="static validation score")
    unscored = [p for p in programs if p.val_score is None]
    ax.scatter([pos[p.id][0] for p in unscored], [pos[p.id][1] for p in unscored],
               marker="x", color=_FAILED, s=36, zorder=3)
    best = data.best
    label_all = len(programs) <= 60
    for p in programs:
        x, y = pos[p.id]
        is_best = best is not None and p.id == best.id
        if is_best:
            ax.scatter([x], [y], s=180, facecolor="none", edgecolor=_BEST, linewidth=2,
                       zorder=4)
        if p.origin == "seed" or is_best or label_all:
            score = "-" if p.val_score is None else f"{p.val_score:.3f}"
            if p.origin == "seed":  # seeds sit at x=0: label to the left, where nothing is
                ax.annotate(f"{p.name or p.short} {score}", (x, y), textcoords="offset points",
                            xytext=(-8, -3), ha="right", fontsize=7,
                            color=_BEST if is_best else "#222", zorder=5)
            else:  # above the node, so a parent and its only child on one row do not collide
                ax.annotate(f"{p.short} {score}", (x, y), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=7,
                            color=_BEST if is_best else "#222",
                            fontweight="bold" if is_best else "normal", zorder=5)
    ax.set_xlabel("iteration")
    ax.set_yticks([])
    ax.invert_yaxis()
    last = max(x for x, _ in pos.values())
    ax.set_xlim(-0.4 - 0.12 * max(4.0, last), last + max(1.0, 0.08 * last))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"family tree ({len(programs)} programs)", pad=24)
    handles = [Line2D([], [], color="#bbbbbb", label="first parent"),
               Line2D([], [], color="#bbbbbb", linestyle="--", label="second parent (crossover)"),
               Line2D([], [], marker="o", color="w", markeredgecolor=_BEST, markersize=10,
                      label="best"),
               Line2D([], [], marker="x", color=_FAILED, linestyle="", label="no score")]
    # between the title and the plot: a fixed distance whatever the figure height
    ax.legend(handles=handles, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=4, frameon=False, borderaxespad=0.2)
    ax.grid(axis="x", alpha=0.25)
    return _save(fig, path)


PLOTTERS: dict[str, Callable[[RunData, Path], Path]] = {
    "scores": plot_scores, "pareto": plot_pareto, "categories": plot_categories,
    "tree": plot_tree,
}


def plot(kind: str, data: RunData, path: str | Path) -> Path:
    """Write figure ``kind`` (one of ``KINDS``) of ``data`` to ``path``."""
    if kind not in PLOTTERS:
        raise UsageError(f"unknown plot kind {kind!r}; choose from: {', '.join(KINDS)}")
    return PLOTTERS[kind](data, Path(path))
