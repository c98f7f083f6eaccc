"""A program's id: where it is born.

The id is the sha256 of the source text, so the same text has the same id in every run and
on every machine: a child identical to a program already in the lineage is recognised by its
id alone, and an evaluation keyed by (program id, subset) is found again on resume.
"""

from __future__ import annotations

import hashlib


def program_id(source: str) -> str:
    """Programs are identified by the sha256 of their source text."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()
