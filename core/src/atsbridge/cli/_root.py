"""The root group, global options, logging and the exit-code contract.

Exit codes: 0 ok; 1 operational failure (ATS down, credentials rejected, plugin failure);
2 bad input (``BadInput`` and click usage errors); 130 interrupted (Ctrl-C). Every error is
printed as one line ``error: ...`` on stderr (a config error prints one such line per
problem), with every registered secret redacted. Under ``--json`` the error is one JSON
object on stderr instead: ``{"error": {"message", "exit_code", "type", "problems"}}``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import update_wrapper
from typing import Any, TypeVar

import click

from atsbridge import __version__
from atsbridge.api import Atsbridge
from atsbridge.errors import AtsbridgeError, BadInput, ConfigError
from atsbridge.plugins import PluginRegistry
from atsbridge.secrets import REDACTOR, install_redaction

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """What the root group hands its commands; the facade is built on first use.

    Tests pass ``CliState(registry=...)`` as ``obj`` to inject plugins.
    """

    def __init__(self, registry: PluginRegistry | None = None, app: Atsbridge | None = None):
        self.registry = registry
        self.db: str | None = None
        self._app = app

    @property
    def app(self) -> Atsbridge:
        if self._app is None:
            self._app = Atsbridge(db=self.db, registry=self.registry)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def app_from(ctx: click.Context) -> Atsbridge:
    return ctx.find_object(CliState).app  # type: ignore[union-attr]


def pass_app(f: F) -> F:
    """Decorator: call the command with the facade as its first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(f, app_from(ctx), *args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (click's test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


_handler = _StderrHandler()
_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))


# The SDK's "retrying (2/6) GET https://host/path after ..." lines, shown as they are: a
# person waiting on a slow or dead ATS sees why it takes long.
_retry_handler = _StderrHandler()
_retry_handler.setFormatter(logging.Formatter("%(message)s"))


def _setup_logging(verbosity: int) -> None:
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    install_redaction(root)
    root.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbosity, 2)])
    retries = logging.getLogger("atsbridge.http.retry")
    if _retry_handler not in retries.handlers:
        retries.addHandler(_retry_handler)
    install_redaction(retries)
    retries.setLevel(logging.INFO)
    retries.propagate = verbosity > 0  # with -v the root handler shows them (once)
    if verbosity > 0:
        retries.removeHandler(_retry_handler)


@contextmanager
def refused_fails_fast() -> Iterator[None]:
    """A refused connection is final inside (``check``, ``connect``: is it up *now*?).

    The SDK's HTTP client reads the flag; plugins that do not use it are unaffected.
    """
    try:
        from atsbridge_sdk.http import refused_fails_fast as sdk_flag
    except ImportError:  # the core runs without the SDK; nothing to tell then
        yield
        return
    with sdk_flag():
        yield


def echo_error(message: str) -> None:
    click.echo(f"error: {REDACTOR.redact(message)}", err=True)


INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _wants_json(args: Sequence[str] | None) -> bool:
    words = list(sys.argv[1:] if args is None else args)
    if "--" in words:
        words = words[: words.index("--")]
    return "--json" in words


def _echo_json_error(problems: list[str], code: int, kind: str) -> None:
    shown = [REDACTOR.redact(p) for p in problems]
    error = {"message": "; ".join(shown), "exit_code": code, "type": kind, "problems": shown}
    click.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)


class AtsbridgeGroup(click.Group):
    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        problems: list[str] = []
        kind = ""
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                problems, code, kind = ["interrupted; re-run to resume"], INTERRUPTED, "interrupted"
            else:
                problems, code, kind = ["aborted"], 1, "aborted"
        except KeyboardInterrupt:
            problems, code, kind = ["interrupted; re-run to resume"], INTERRUPTED, "interrupted"
        except click.ClickException as exc:
            problems, code, kind = [exc.format_message()], exc.exit_code, "usage"
        except ConfigError as exc:
            problems, code, kind = list(exc.problems), 2, type(exc).__name__
        except BadInput as exc:
            problems, code, kind = [str(exc)], 2, type(exc).__name__
        except AtsbridgeError as exc:
            problems, code, kind = [str(exc)], 1, type(exc).__name__
        except OSError as exc:
            # e.g. a database file in a read-only place; a traceback would not help.
            problems, code, kind = [f"{type(exc).__name__}: {exc}"], 1, "os_error"
        else:
            code = rv if isinstance(rv, int) else 0
        if problems:
            if _wants_json(args):
                _echo_json_error(problems, code, kind)
            else:
                for problem in problems:
                    echo_error(problem)
        if not standalone_mode:
            return code
        sys.exit(code)


@click.group(cls=AtsbridgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="ATSBRIDGE_DB",
    metavar="URL",
    help="Database URL: sqlite:///PATH or postgresql+psycopg://... "
    "[env ATSBRIDGE_DB; default: a SQLite file in the user data dir]",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="atsbridge")
@click.pass_context
def cli(ctx: click.Context, db: str | None, verbose: int) -> None:
    """Connect a candidate-sourcing product to customers' ATSs."""
    _setup_logging(verbose)
    state = ctx.ensure_object(CliState)
    state.db = db
    ctx.call_on_close(state.close)


def main() -> None:
    cli.main(prog_name="atsbridge")
