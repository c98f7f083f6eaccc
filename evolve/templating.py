"""The Jinja environment of the prompt templates in ``evolve/templates/``.

At the bottom of the package tree so that tasks (judge prompts), the task agent (its
messages) and the meta-agent (reflection prompts) render with one environment without
importing one another. Jinja is imported on the first render, not on import.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("evolve", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # prompts are plain text, not HTML
        auto_reload=False,  # templates ship with the package: no stat() per prompt
    )


def render(template: str, **context: Any) -> str:
    """Render ``evolve/templates/<template>`` with ``context``."""
    return _env().get_template(template).render(**context).strip()
