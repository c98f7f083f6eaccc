"""The lineage store: every campaign, program, evaluation, item result, LLM call and event in
one DuckDB file (docs/lineage.md). The only package that writes SQL over that file: writes take
the frozen records of ``writes``, reads return the records of ``records`` (docs/architecture.md,
"The storage boundary")."""

from .snapshot import open_readonly, write_snapshot
from .store import LineageStore, StoreError, decode_json
from .writes import LoggedCall, NewEvaluation, NewItem, NewProgram

__all__ = ["LineageStore", "LoggedCall", "NewEvaluation", "NewItem", "NewProgram", "StoreError",
           "decode_json", "open_readonly", "write_snapshot"]
