"""The package version (also ``evolve.__version__``; kept equal to pyproject's ``version``).

A module of its own so that code recording the version in a run (``campaign.setup``) need
not import the package's public-API ``__init__``, which imports the campaign lazily.
"""

__version__ = "0.1.0"
