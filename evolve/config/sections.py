"""Campaign configuration (TOML). Every field has a documented default (docs/config.md).

The TOML file has one table per dataclass below: ``[campaign]``, ``[task]``, ``[models]``,
``[search]``, ``[data]``, ``[budget]``, ``[sandbox]``. Unknown keys and bad values are
rejected by ``evolve.config.load.load_config`` with one line naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..llm.limits import DEFAULT_MAX_TOKENS
from ..program.contract import READ_CHAR_CAP


@dataclass(frozen=True)
class CampaignSection:
    name: str = "campaign"            # label shown in status and reports
    seed: int = 0                     # master random seed: same seed + config -> same campaign
    run_dir: str = ""                 # default: runs/<name> (overridden by --run-dir)
    protocol: str = "offline"         # "offline" (fresh memory per evaluation) | "online"


@dataclass(frozen=True)
class TaskSection:
    name: str = "dialog-synth"        # task name (see `evolve tasks`)
    args: dict[str, str] = field(default_factory=dict)  # task arguments, as for --task-arg


@dataclass(frozen=True)
class ModelsSection:
    task: str = "offline"             # model for extraction, query and answer
    toolkit: str = ""                 # model for toolkit.llm_completion ("" = same as task)
    judge: str = ""                   # model for judged scoring ("" = same as task)
    reflector: str = "offline"        # meta-agent model ("offline" = template-driven mutator)
    embedder: str = "offline"         # embedder name (see `evolve.llm.embedders`)
    base_url: str = ""                # OpenAI-compatible endpoint ("" = $OPENAI_BASE_URL)
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key
    concurrency: int = 8              # parallel LLM calls
    timeout_s: float = 120.0          # timeout of one request attempt for remote models
    max_retries: int = 4              # retries of a failed request (429, 5xx, timeouts, bad bodies)
    context_window: int = 0           # model context in tokens (0 = ask the server, else unknown)
    revision: str = ""                # model revision label (part of the response-cache key)
    # per-role reply caps (tokens); roles left out keep their default
    max_tokens: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_TOKENS))
    # per-role fields merged into each request body, e.g. {"task": {"top_k": 40}}
    extra_body: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache: str = ""                   # response cache: "" = RUN_DIR/cache.sqlite, "off", or a path
    prices: dict[str, list[float]] = field(default_factory=dict)  # model -> [usd/1M in, usd/1M out]

    def __post_init__(self) -> None:
        # a [models.max_tokens] table naming some roles keeps the defaults of the others
        object.__setattr__(self, "max_tokens", {**DEFAULT_MAX_TOKENS, **self.max_tokens})


@dataclass(frozen=True)
class SearchSection:
    seeds: list[str] = field(default_factory=lambda: ["vector_search", "llm_summarizer",
                                                      "experience_learner"])  # names or paths
    iterations: int = 20              # children to propose
    selector: str = "softmax"         # softmax | argmax | novelty | pareto | lineage
    temperature: float = 0.15         # softmax tau
    crossover_rate: float = 0.0       # probability that a step crosses two parents
    mutation: str = "auto"            # LLM answer format: patch | full | auto (patch, full fallback)
    fix_rounds: int = 3               # compile/smoke fix attempts per child
    repair_rounds: int = 3            # runtime-violation repair attempts per child
    freeze_instructions: bool = False  # ablation: children keep the instruction constants
    freeze_code: bool = False         # ablation: children change only the instruction constants
    cost_objective: str = "tokens"    # second objective for the Pareto front: tokens | llm_calls
    offline_policy: str = "diagnosis"  # offline mutator move choice: diagnosis | random
    meta_agent: str = "auto"          # auto | offline | llm | an installed one (evolve.meta_agents)
    max_failed_proposals: int = 5     # stop after N proposal_failed in a row (0 = never)


@dataclass(frozen=True)
class DataSection:
    val_size: int = 150               # static validation items (k-means over question embeddings)
    stratify: str = "test"            # test: each category its share of the test split | none
    reflection_size: int = 5          # rotating reflection set per iteration (never static items)
    failed_cases: int = 3             # failed cases shown to the meta-agent
    success_cases: int = 1            # success cases shown to the meta-agent
    episode_ratio: float = 2.0        # episodes kept per static item (facility location); 0 = all
    test_size: int = 0                # items of the test split used at the end (0 = all)
    max_failed_share: float = 0.5     # above this share of failed items: evaluation is an error


@dataclass(frozen=True)
class BudgetSection:
    max_usd: float = 0.0              # stop when spend reaches this (0 = no limit)
    max_tokens: int = 0               # stop when tokens reach this (0 = no limit)
    max_minutes: float = 0.0          # stop after this wall time (0 = no limit)
    stagnation: int = 0               # stop after N children without a new best (0 = off)
    stop_file: str = "STOP"           # create RUN_DIR/STOP to stop after the current step


@dataclass(frozen=True)
class SandboxSection:
    mode: str = "auto"                # auto | bwrap | unshare | none
    read_char_cap: int = READ_CHAR_CAP  # max characters read() may return (longer is cut)
    call_timeout_s: float = 60.0      # seconds allowed per write/read call
    llm_budget_per_call: int = 1      # toolkit LLM calls allowed per write/read call


@dataclass(frozen=True)
class ParallelSection:
    batch_size: int = 1               # children proposed and evaluated together per iteration
    schedule: str = "rounds"          # rounds: each round waits for its slowest child;
                                      # steady: batch_size children always in flight
                                      # (evolve.campaign.steady)
    executor: str = "threads"         # where evaluations run: threads | processes | dask | ray
    workers: int = 0                  # parallel evaluations (0 = batch_size)
    address: str = ""                 # dask scheduler ("tcp://host:8786") or ray ("auto");
                                      # "" starts a local cluster for dask/ray


@dataclass(frozen=True)
class CampaignConfig:
    campaign: CampaignSection = field(default_factory=CampaignSection)
    task: TaskSection = field(default_factory=TaskSection)
    models: ModelsSection = field(default_factory=ModelsSection)
    search: SearchSection = field(default_factory=SearchSection)
    data: DataSection = field(default_factory=DataSection)
    budget: BudgetSection = field(default_factory=BudgetSection)
    sandbox: SandboxSection = field(default_factory=SandboxSection)
    parallel: ParallelSection = field(default_factory=ParallelSection)
