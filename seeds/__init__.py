"""Seed and baseline memory programs (installed as ``evolve_seeds``; see ``evolve.seeds``).

Each module here whose name does not start with ``_`` is one memory program; none is imported
by this package. ``_shared.py`` holds the helpers they import, which ``evolve.seed_build``
inlines when a seed is loaded, so every program is still one self-contained module.
"""
