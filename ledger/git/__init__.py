"""The ledger's side of git: one runner for plain `git` processes, run snapshots, history walks, worktrees."""
