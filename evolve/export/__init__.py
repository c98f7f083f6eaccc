"""Export an evolved program as an installable package that needs no part of evolve
(``evolve export``; docs/export.md)."""

from __future__ import annotations

from .builder import ExportResult, export_program, package_name

__all__ = ["ExportResult", "export_program", "package_name"]
