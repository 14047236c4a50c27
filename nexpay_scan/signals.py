"""Signal numbers and handlers without the `signal` module's enums.

`signal` wraps CPython's `_signal` in `IntEnum`s (loading `enum`, and building three enums
from its names); the hook only sets one handler and passes a few numbers to `os`, which
`_signal` does as well. Elsewhere, `signal` serves.
"""

from __future__ import annotations

try:
    import _signal as signals  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - not CPython
    import signal as signals

__all__ = ["signals"]
