"""One module per subcommand (`staged`, `files`, `history`, ...), each a function that picks
a source, scans, and hands its findings to `pipeline`: suppressions, verification, the
report and the exit code. `cli` imports only the module of the command it runs."""

from __future__ import annotations

from nexpay_scan.commands.pipeline import EXIT_CLEAN, EXIT_FINDINGS, exit_code, write_atomically

__all__ = ["EXIT_CLEAN", "EXIT_FINDINGS", "exit_code", "write_atomically"]
