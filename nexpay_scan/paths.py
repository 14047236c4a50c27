"""`StrPath`, the type of a path on the hook's path: a `str`, or anything `os.fspath` takes
(a `pathlib.Path` from the other commands). The hook's modules use `os.path`, not
`pathlib`, whose import (with `urllib.parse` and `ipaddress`) costs the hook about 3.5 ms;
they import this module for type checking only."""

from __future__ import annotations

import os
from typing import TypeAlias

StrPath: TypeAlias = "str | os.PathLike[str]"
