"""One module per subcommand (`staged`, `files`, `history`, ...), each a function that picks
a source, scans, and hands its findings to `pipeline.run_scan`: suppressions, verification,
the report and the exit code. The commands take typed records (`options`) that `cli`
builds once from the command line; `cli` imports only the module of the command it runs."""

from __future__ import annotations

from nexpay_scan.commands.pipeline import EXIT_CLEAN, EXIT_FINDINGS, exit_code, write_atomically

__all__ = ["EXIT_CLEAN", "EXIT_FINDINGS", "exit_code", "write_atomically"]
