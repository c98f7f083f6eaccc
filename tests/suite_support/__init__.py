"""Helpers shared by several test folders (imported as ``suite_support``: tests/ is on
sys.path through its conftest.py)."""
