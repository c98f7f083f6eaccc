"""A campaign's settings: the typed sections and their defaults (``sections``), loading and
validating a TOML file, a dict or overrides with one clear error line (``load``), and which
settings a resume may change (``resume``)."""
