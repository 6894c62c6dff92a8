"""Errors are translated at the store boundary: a driver's exception (sqlite3, psycopg, a pool
timeout) leaves a store as a named `likewise` error, so the service can answer 503 with
`Retry-After` and the CLI print one line, whatever the backend. A full disk is its own case
(:class:`StoreFull`): the write was rolled back, and it succeeds once space is freed."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from likewise.errors import LikewiseError

__all__ = ["Translate", "translating"]

C = TypeVar("C", bound=type)
Translate = Callable[[BaseException], LikewiseError | None]  # None: not a driver error


def translating(translate: Translate) -> Callable[[C], C]:
    """A class decorator: every public method of the class (its bases' included) raises
    `translate(exc)` in place of the driver errors it knows; iterators it returns do too."""

    def decorate(cls: C) -> C:
        for name in dir(cls):
            if name.startswith("_"):
                continue
            attr = inspect.getattr_static(cls, name)
            if inspect.isfunction(attr):
                setattr(cls, name, _wrap(attr, translate))
        return cls

    return decorate


def _wrap(method: Callable[..., Any], translate: Translate) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = method(*args, **kwargs)
        except LikewiseError:
            raise
        except Exception as exc:
            _raise_translated(exc, translate)
            raise
        if inspect.isgenerator(result):
            return _iterate(result, translate)
        return result

    return call


def _iterate(pages: Iterator[Any], translate: Translate) -> Iterator[Any]:
    try:
        yield from pages
    except LikewiseError:
        raise
    except Exception as exc:
        _raise_translated(exc, translate)
        raise


def _raise_translated(exc: Exception, translate: Translate) -> None:
    named = translate(exc)
    if named is not None:
        raise named from exc
