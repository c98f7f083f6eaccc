"""Error types shared across the orchestrator.

``UsageError`` is bad usage or bad input: the CLI prints its message as one line on stderr
and exits with code 2. Everything a *program* does wrong is not an exception of ours but a
status in an evaluation result (see ``evolve.evaluation.evaluate``).
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line usage or bad input data (exit code 2, one line, no traceback)."""


class EndpointError(Exception):
    """A model endpoint could not be used (unreachable, unknown model, auth failure)."""


class CallFailed(EndpointError):
    """One LLM call failed for good (after any retries); the caller decides whether that fails an item or the run."""


class RequestRejected(CallFailed):
    """The server refused the request with an HTTP 4xx (e.g. 400 ``context_length_exceeded``);
    the message carries the server's own words. Never retried: the same request would be
    refused again."""


class RequestTimedOut(CallFailed):
    """A request attempt ran past its timeout and was not (or could not usefully be) retried."""


class PromptTooLong(CallFailed):
    """Raised *before* sending: the estimated prompt tokens plus ``max_tokens`` exceed the
    model's context window, so the server would reject or silently cut the request."""
