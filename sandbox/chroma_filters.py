"""chromadb ``where`` / ``where_document`` filters for the numpy vector store (``sandbox.chroma``).

Two ways to evaluate a ``where`` filter, with the same semantics:

- ``match_where(metadata, where)``: one row's metadata dict, in Python (the definition);
- ``MetadataIndex.mask(where, ...)``: a boolean mask over every row of a collection at once.
  Each metadata key has an int32 column of value codes (one code per distinct value), so a
  condition is evaluated once per *distinct* value (or by one dict lookup for equality and
  ``$in``) and turned into a row mask by numpy, not by a Python loop over every row. Rows whose
  value cannot be hashed (lists, for ``$contains``) are the exception: they are matched one by
  one with ``match_where``'s rules.

Values are grouped by Python equality, except that booleans get their own groups: ``True == 1``
but range operators treat booleans and numbers differently, so they must not share a code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MISSING = -1  # the row has no such key (or its value is None: chromadb treats both alike)
UNHASHABLE = -2  # the value is kept only in the row's metadata and matched row by row

_WHERE_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
                              "$contains", "$not_contains"})
_DOCUMENT_OPERATORS = frozenset({"$contains", "$not_contains", "$and", "$or"})
_BOOL = object()  # tags boolean group keys so True and 1 get different codes


def _match_value(actual: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return actual == condition
    for op, operand in condition.items():
        if op == "$eq":
            ok = actual == operand
        elif op == "$ne":
            ok = actual != operand
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            if actual is None or isinstance(actual, bool) != isinstance(operand, bool):
                return False
            try:
                ok = {
                    "$gt": actual > operand,
                    "$gte": actual >= operand,
                    "$lt": actual < operand,
                    "$lte": actual <= operand,
                }[op]
            except TypeError:
                return False
        elif op == "$in":
            ok = actual in operand
        elif op == "$nin":
            ok = actual not in operand
        elif op == "$contains":  # chromadb >= 0.6 allows it on array metadata
            ok = isinstance(actual, (list, str)) and operand in actual
        elif op == "$not_contains":
            ok = not (isinstance(actual, (list, str)) and operand in actual)
        else:
            raise ValueError(f"unsupported where operator {op!r}")
        if not ok:
            return False
    return True


def match_where(metadata: dict[str, Any] | None, where: dict[str, Any] | None) -> bool:
    """True when ``metadata`` satisfies a chromadb ``where`` filter."""
    if not where:
        return True
    metadata = metadata or {}
    for key, condition in where.items():
        if key == "$and":
            if not all(match_where(metadata, sub) for sub in condition):
                return False
        elif key == "$or":
            if not any(match_where(metadata, sub) for sub in condition):
                return False
        elif not _match_value(metadata.get(key), condition):
            return False
    return True


def match_document(document: str | None, where_document: dict[str, Any] | None) -> bool:
    """True when ``document`` satisfies a chromadb ``where_document`` filter."""
    if not where_document:
        return True
    text = document or ""
    for op, operand in where_document.items():
        if op == "$contains":
            ok = operand in text
        elif op == "$not_contains":
            ok = operand not in text
        elif op == "$and":
            ok = all(match_document(text, sub) for sub in operand)
        elif op == "$or":
            ok = any(match_document(text, sub) for sub in operand)
        else:
            raise ValueError(f"unsupported where_document operator {op!r}")
        if not ok:
            return False
    return True


def validate_where(where: Any) -> None:
    """Raise ValueError for a malformed ``where`` filter, before any row is looked at."""
    if not where:
        return
    if not isinstance(where, dict):
        raise ValueError(f"where must be a dict, not {type(where).__name__}")
    for key, condition in where.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, (list, tuple)):
                raise ValueError(f"{key} expects a list of filters")
            for sub in condition:
                validate_where(sub)
        elif isinstance(condition, dict):
            for op in condition:
                if op not in _WHERE_OPERATORS:
                    raise ValueError(f"unsupported where operator {op!r}")


def validate_document(where_document: Any) -> None:
    """Raise ValueError for a malformed ``where_document`` filter."""
    if not where_document:
        return
    if not isinstance(where_document, dict):
        raise ValueError(f"where_document must be a dict, not {type(where_document).__name__}")
    for op, operand in where_document.items():
        if op not in _DOCUMENT_OPERATORS:
            raise ValueError(f"unsupported where_document operator {op!r}")
        if op in ("$and", "$or"):
            if not isinstance(operand, (list, tuple)):
                raise ValueError(f"{op} expects a list of filters")
            for sub in operand:
                validate_document(sub)


def _group_key(value: Any) -> Any:
    """The dict key of ``value``'s group, or ``UNHASHABLE``."""
    if isinstance(value, bool):
        return (_BOOL, value)
    try:
        hash(value)
    except TypeError:
        return UNHASHABLE
    return value


class _Column:
    """One metadata key: a value code per row slot, and the distinct values behind the codes."""

    def __init__(self, capacity: int) -> None:
        self.codes = np.full(capacity, MISSING, dtype=np.int32)
        self.groups: dict[Any, int] = {}
        self.values: list[Any] = []
        self.unhashable = 0  # slots currently holding an UNHASHABLE code

    def code_for(self, value: Any) -> int:
        if value is None:
            return MISSING
        key = _group_key(value)
        if key is UNHASHABLE:
            return UNHASHABLE
        code = self.groups.get(key)
        if code is None:
            code = self.groups[key] = len(self.values)
            self.values.append(value)
        return code

    def equal_codes(self, operand: Any) -> list[int] | None:
        """Codes of the groups whose value == ``operand``; None when no fast answer exists."""
        if operand is None:
            return []  # None is never a group (it is MISSING)
        if isinstance(operand, bool):
            keys: list[Any] = [(_BOOL, operand), int(operand)]
        elif isinstance(operand, (int, float)):
            if operand != operand:  # NaN: identity rules of `in` apply, use the slow path
                return None
            keys = [operand] + ([(_BOOL, bool(operand))] if operand in (0, 1) else [])
        elif isinstance(operand, str):
            keys = [operand]
        else:
            return None
        return [self.groups[k] for k in keys if k in self.groups]


class MetadataIndex:
    """Value-code columns for every metadata key of one collection (see the module docstring)."""

    def __init__(self) -> None:
        self._columns: dict[str, _Column] = {}
        self._capacity = 0

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` row slots (new slots start without any key)."""
        if capacity <= self._capacity:
            return
        for column in self._columns.values():
            grown = np.full(capacity, MISSING, dtype=np.int32)
            grown[:self._capacity] = column.codes
            column.codes = grown
        self._capacity = capacity

    def set_row(self, slot: int, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """Slot ``slot`` changes its metadata from ``old`` to ``new`` (either may be None)."""
        new = new or {}
        for key in old or ():
            if key not in new:
                self._assign(self._columns[key], slot, MISSING)
        for key, value in new.items():
            column = self._columns.get(key)
            if column is None:
                column = self._columns[key] = _Column(self._capacity)
            self._assign(column, slot, column.code_for(value))

    @staticmethod
    def _assign(column: _Column, slot: int, code: int) -> None:
        column.unhashable += (code == UNHASHABLE) - (int(column.codes[slot]) == UNHASHABLE)
        column.codes[slot] = code

    def rebuild(self, metas: list[dict[str, Any] | None], capacity: int) -> None:
        """Index ``metas`` (slot order) from scratch: drops values no row holds any more."""
        self._columns = {}
        self._capacity = capacity
        for slot, meta in enumerate(metas):
            if meta:
                self.set_row(slot, None, meta)

    # -- evaluation ------------------------------------------------------------------------------
    def mask(self, where: dict[str, Any], size: int,
             metas: list[dict[str, Any] | None]) -> np.ndarray:
        """Boolean mask over slots ``[0, size)``: True where the slot's metadata matches."""
        result = np.ones(size, dtype=bool)
        if not where:
            return result
        for key, condition in where.items():
            if key == "$and":
                for sub in condition:
                    result &= self.mask(sub, size, metas)
            elif key == "$or":
                either = np.zeros(size, dtype=bool)
                for sub in condition:
                    either |= self.mask(sub, size, metas)
                result &= either
            elif isinstance(condition, dict):
                for op, operand in condition.items():
                    result &= self._condition_mask(key, {op: operand}, size, metas)
            else:
                result &= self._condition_mask(key, {"$eq": condition}, size, metas)
        return result

    def _condition_mask(self, key: str, condition: dict[str, Any], size: int,
                        metas: list[dict[str, Any] | None]) -> np.ndarray:
        """Slots whose value of ``key`` satisfies a one-operator ``condition``."""
        column = self._columns.get(key)
        if column is None:
            return np.full(size, _match_value(None, condition), dtype=bool)
        codes = column.codes[:size]
        matched, invert = self._matching_codes(column, condition)
        if not matched:
            mask = (codes >= 0) if invert else np.zeros(size, dtype=bool)
        else:
            hit = codes == matched[0] if len(matched) == 1 else np.isin(codes, matched)
            mask = ((codes >= 0) & ~hit) if invert else hit
        if _match_value(None, condition):
            mask |= codes == MISSING
        if column.unhashable:
            for slot in np.flatnonzero(codes == UNHASHABLE):
                mask[slot] = _match_value((metas[slot] or {}).get(key), condition)
        return mask

    @staticmethod
    def _matching_codes(column: _Column, condition: dict[str, Any]) -> tuple[list[int], bool]:
        """Codes satisfying ``condition`` (or, when the flag is True, the codes that do not)."""
        ((op, operand),) = condition.items()
        if op in ("$eq", "$ne"):
            codes = column.equal_codes(operand)
            if codes is not None:
                return codes, op == "$ne"
        elif op in ("$in", "$nin") and isinstance(operand, (list, tuple)):
            found: list[int] = []
            for item in operand:
                codes = column.equal_codes(item)
                if codes is None:
                    break
                found.extend(codes)
            else:
                return sorted(set(found)), op == "$nin"
        # One evaluation per distinct value, not per row.
        return [code for code, value in enumerate(column.values)
                if _match_value(value, condition)], False
