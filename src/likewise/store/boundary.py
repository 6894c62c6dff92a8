"""Errors are translated at the store boundary: a driver's exception (sqlite3, psycopg, a pool
timeout) leaves a store as a named `likewise` error, so the service can answer 503 with
`Retry-After` and the CLI print one line, whatever the backend. A full disk is its own case
(:class:`StoreFull`): the write was rolled back, and it succeeds once space is freed."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from likewise.errors import InvalidInput, LikewiseError
from likewise.items.records import lone_surrogate

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
        except UnicodeEncodeError:  # no database holds a lone surrogate: nothing was written
            raise _not_unicode(method, args, kwargs) from None
        except Exception as exc:
            _raise_translated(exc, translate)
            raise
        if inspect.isgenerator(result):
            return _iterate(result, translate)
        return result

    return call


def _not_unicode(method: Callable[..., Any], args: Any, kwargs: Any) -> InvalidInput:
    """InvalidInput naming the argument that holds a lone surrogate (JSON's `\\udc80` and
    Python's `surrogateescape` make them; UTF-8 and so every database refuse them)."""
    field = None
    try:
        bound = inspect.signature(method).bind(*args, **kwargs)
    except TypeError:
        bound = None
    for name, value in bound.arguments.items() if bound is not None else ():
        if name != "self" and _holds_surrogate(value):
            field = name
            break
    return InvalidInput("is not valid Unicode (a lone surrogate)", field=field)


def _holds_surrogate(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return lone_surrogate(value)
    if depth > 2 or isinstance(value, bytes):
        return False
    if isinstance(value, dict):
        return any(_holds_surrogate(k, depth + 1) for k in value)
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_surrogate(v, depth + 1) for v in value)
    return False


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
