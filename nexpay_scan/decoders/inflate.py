"""The inflater that zip members and gzip streams are read with: ISA-L's (`isal`) where it
is installed, else zlib. Both take the same calls (`decompressobj` with a bound on what one
call gives, `crc32`, `error`). ISA-L inflates at twice zlib's pace: pip's wheel, 7 MB of
members, in 10.5 ms against 20-22 (one process, on the bench machine)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from types import ModuleType

_MODULE: list[ModuleType] = []


def inflater() -> ModuleType:
    """`isal.isal_zlib`, or `zlib` where isal is not installed (a platform with no wheel
    of it: see pyproject.toml)."""
    if not _MODULE:
        try:
            from isal import isal_zlib

            _MODULE.append(isal_zlib)
        except ImportError:
            import zlib

            _MODULE.append(zlib)
    return _MODULE[0]
