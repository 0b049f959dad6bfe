"""Name -> implementation registries with "did you mean" suggestions.

Each family (methods, attacks, datasets, models) has one :class:`Registry`; implementations register
themselves with ``@METHODS.register("name")`` in their own module, and the family's package imports them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, known
        hint = difflib.get_close_matches(name, known, n=1)
        self.hint = f" (did you mean {hint[0]!r}?)" if hint else ""
        super().__init__(f"unknown {kind} {name!r}{self.hint}")

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return self.args[0]


def did_you_mean(name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            if isinstance(obj, type) and "name" not in vars(obj):
                obj.name = name  # a registered class knows its registry name
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        self.register(name)(obj)

    def get(self, name: str) -> T:
        if name not in self._items:
            raise UnknownNameError(self.kind, name, self.names())
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
