"""Sources: where the bytes come from (staged diff, files on disk, git history, stdin)."""
