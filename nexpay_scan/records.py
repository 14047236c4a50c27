"""`Record`: `typing.NamedTuple` to the type checker, a plain `collections.namedtuple` when run.

The pre-commit hook starts on every commit, and `typing.NamedTuple` costs it twice: importing
`typing` (about 3 ms here), then turning every string annotation into a `ForwardRef`, which
compiles each one (a dozen records, some 70 fields). This builds the same class, a
namedtuple with the fields, defaults, methods and docstring of the class body, without
either. mypy checks each record as the NamedTuple it is declared as.
"""

from __future__ import annotations

import collections

__all__ = ["Record"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    # set by namedtuple itself, or not meaningful on it (as typing.NamedTuple leaves them)
    _NOT_COPIED = frozenset({"__module__", "__qualname__", "__annotations__", "__slots__"})

    class _RecordType(type):
        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]):
            if not bases:  # `Record` itself
                return super().__new__(mcls, name, bases, namespace)
            annotations = namespace.get("__annotations__", {})
            fields = tuple(annotations)
            defaults = [namespace[field] for field in fields if field in namespace]
            if any(field in namespace for field in fields[: len(fields) - len(defaults)]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            record = collections.namedtuple(
                name, fields, defaults=defaults, module=namespace["__module__"]
            )
            record.__qualname__ = namespace["__qualname__"]
            record.__annotations__ = dict(annotations)
            for key, value in namespace.items():
                if key not in _NOT_COPIED and key not in annotations:
                    setattr(record, key, value)
            return record

    class Record(metaclass=_RecordType):
        """Base of a typed record: declare fields as annotations, as for NamedTuple."""
