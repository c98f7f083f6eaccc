"""DDL of the lineage database. Bump ``SCHEMA_VERSION`` with every change.

Tables (documented for users in docs/lineage.md):
- ``schema_version``  one row per applied schema version;
- ``campaigns``       one row per campaign: config, protocol, task, seeds, subsets, versions;
- ``programs``        every program ever proposed, also rejected ones (id = sha256 of source);
- ``evaluations``     one row per (program, split) evaluation with score and cost figures,
                      and counts of failed items, skipped episodes and coerced replies;
- ``item_results``    per evaluation item: score, answer, retrieved text, full trace (JSON);
- ``llm_calls``       every model call: role, model, tokens, cost, latency, cache hit, error;
- ``events``          gate failures, repairs, errors, stops, resumes;
- ``state``           the campaign loop's resumable state (key/value JSON).
"""

from __future__ import annotations

SCHEMA_VERSION = 2

# Statements that bring a database written by an older evolve up to ``SCHEMA_VERSION``, by the
# version that introduced them. Each is idempotent (``IF NOT EXISTS``): ``DDL`` already
# creates new databases with these columns.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # failed model calls stay local to an item or episode and are counted (evolve.eval_failures)
    2: tuple(f"ALTER TABLE evaluations ADD COLUMN IF NOT EXISTS {column}" for column in (
        "failed_items INTEGER", "skipped_episodes INTEGER", "extraction_failures INTEGER",
        "query_fallbacks INTEGER", "coercions INTEGER", "episode_notes JSON")),
}

DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS campaigns (
    id VARCHAR PRIMARY KEY,
    name VARCHAR,
    task VARCHAR,
    task_args JSON,
    protocol VARCHAR,
    config JSON,
    seeds JSON,
    subsets JSON,
    versions JSON,
    rng_seed BIGINT,
    started_at TIMESTAMP DEFAULT current_timestamp,
    finished_at TIMESTAMP,
    stop_reason VARCHAR
);
CREATE TABLE IF NOT EXISTS programs (
    id VARCHAR PRIMARY KEY,
    campaign_id VARCHAR,
    name VARCHAR,
    source VARCHAR,
    parent_ids VARCHAR[],
    generation INTEGER,
    iteration INTEGER,
    origin VARCHAR,
    mutator VARCHAR,
    commit_message VARCHAR,
    gate_status VARCHAR,
    gate_stage VARCHAR,
    gate_message VARCHAR,
    design JSON,
    created_at TIMESTAMP DEFAULT current_timestamp
);
CREATE SEQUENCE IF NOT EXISTS evaluation_ids START 1;
CREATE TABLE IF NOT EXISTS evaluations (
    id BIGINT PRIMARY KEY DEFAULT nextval('evaluation_ids'),
    campaign_id VARCHAR,
    program_id VARCHAR,
    split VARCHAR,
    subset VARCHAR,
    status VARCHAR,
    score DOUBLE,
    per_category JSON,
    n_items INTEGER,
    llm_calls INTEGER,
    tokens_in BIGINT,
    tokens_out BIGINT,
    cost_usd DOUBLE,
    tokens_per_query DOUBLE,
    calls_per_query DOUBLE,
    sandbox_mode VARCHAR,
    error VARCHAR,
    duration_s DOUBLE,
    write_example JSON,
    gate_stage VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp,
    failed_items INTEGER,
    skipped_episodes INTEGER,
    extraction_failures INTEGER,
    query_fallbacks INTEGER,
    coercions INTEGER,
    episode_notes JSON
);
CREATE TABLE IF NOT EXISTS item_results (
    evaluation_id BIGINT,
    item_id VARCHAR,
    group_id VARCHAR,
    category VARCHAR,
    question VARCHAR,
    gold VARCHAR,
    answer VARCHAR,
    retrieved VARCHAR,
    score DOUBLE,
    error VARCHAR,
    trace JSON
);
CREATE SEQUENCE IF NOT EXISTS llm_call_ids START 1;
CREATE TABLE IF NOT EXISTS llm_calls (
    id BIGINT PRIMARY KEY DEFAULT nextval('llm_call_ids'),
    campaign_id VARCHAR,
    evaluation_id BIGINT,
    program_id VARCHAR,
    role VARCHAR,
    model VARCHAR,
    kind VARCHAR,
    tokens_in BIGINT,
    tokens_out BIGINT,
    cost_usd DOUBLE,
    latency_s DOUBLE,
    cached BOOLEAN,
    error VARCHAR,
    retries INTEGER,
    retry_errors VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp
);
CREATE SEQUENCE IF NOT EXISTS event_ids START 1;
CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY DEFAULT nextval('event_ids'),
    campaign_id VARCHAR,
    iteration INTEGER,
    kind VARCHAR,
    program_id VARCHAR,
    message VARCHAR,
    data JSON,
    created_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS state (
    campaign_id VARCHAR,
    key VARCHAR,
    value JSON,
    PRIMARY KEY (campaign_id, key)
);
"""
