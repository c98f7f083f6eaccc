"""The lineage store: every campaign, program, evaluation, item result, LLM call and event in
one DuckDB file (docs/lineage.md)."""

from .snapshot import open_readonly, write_snapshot
from .store import LineageStore, StoreError, decode_json

__all__ = ["LineageStore", "StoreError", "decode_json", "open_readonly", "write_snapshot"]
