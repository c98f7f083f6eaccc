"""Fixtures of the real-model suite: one llama.cpp server with SmolLM2-135M per test session.

Every test module here sets ``pytestmark = pytest.mark.realmodel`` (deselected by default, see
pyproject.toml): ``python -m pytest -m realmodel tests/realmodel``. Without the ``local`` extra the tests skip;
with ``EVOLVE_REQUIRE_REALMODEL=1`` (set by ``.ci/run``) a missing stack or a server that does
not start fails the run instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from llamacpp_server import (
    MODEL_ALIAS,
    LlamaCppServer,
    ServerStartError,
    bundled_model_path,
    local_stack_missing,
)

REQUIRE_ENV = "EVOLVE_REQUIRE_REALMODEL"


def _required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


@pytest.fixture(scope="session")
def llamacpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppServer]:
    """A running server (``.url`` = ``http://127.0.0.1:PORT/v1``) that has generated once."""
    missing = local_stack_missing()
    if missing:
        if _required():
            pytest.fail(f"{REQUIRE_ENV}=1 but the local model stack is unusable: {missing}",
                        pytrace=False)
        pytest.skip(missing)
    model = bundled_model_path()
    assert model is not None
    log = tmp_path_factory.mktemp("llamacpp") / "server.log"
    server = LlamaCppServer(model, log_path=log)
    try:
        server.start(ready_timeout_s=300.0)
    except ServerStartError as exc:
        server.stop()
        pytest.fail(f"llama_cpp.server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llamacpp_url(llamacpp: LlamaCppServer) -> str:
    return llamacpp.url


@pytest.fixture(scope="session")
def model_alias() -> str:
    return MODEL_ALIAS
