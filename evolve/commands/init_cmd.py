"""``evolve init [DIR]``: the example campaign configs, for a user who has only the installed
package (``examples/`` lives in the repository, not in the wheel)."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from ..errors import UsageError

# file name -> what it is for; the files are package data in evolve/templates/init/, equal to
# the repository's examples/ (a test keeps them equal)
INIT_FILES = {
    "quickstart.toml": "offline demo, no key, no network",
    "openai.toml": "OpenAI or any OpenAI-compatible endpoint (needs OPENAI_API_KEY)",
    "llamacpp.toml": "a local llama.cpp server (llama-server on 127.0.0.1:8080)",
}


def init_file_text(name: str) -> str:
    """The shipped text of one of ``INIT_FILES``."""
    return (resources.files("evolve") / "templates" / "init" / name).read_text(encoding="utf-8")


def init_cmd(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    taken = [str(target / name) for name in INIT_FILES if (target / name).exists()]
    if taken and not args.force:
        raise UsageError(f"{', '.join(taken)} already exist{'s' if len(taken) == 1 else ''} "
                         "(use --force to overwrite)")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in INIT_FILES:
            (target / name).write_text(init_file_text(name), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write into {target}: {exc.strerror or exc}") from None
    for name, purpose in INIT_FILES.items():
        print(f"wrote      {target / name}   {purpose}")
    print(f"next       evolve run {target / 'quickstart.toml'}")
    return 0
