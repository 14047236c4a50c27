"""Archives built in memory, for keys that leak inside a zip or a tarball."""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Literal


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive holding `members` (name -> content), compressed with `method`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_of(members: dict[str, bytes], mode: Literal["w", "w:gz"] = "w:gz") -> bytes:
    """A tar archive holding `members`, gzipped unless `mode` is "w"."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
