"""The field corpus: small copies of real project shapes, generated inside the tests.

Each module builds one shape seen in third-party ML repositories (a DVC pipeline with
DVCLive under a custom folder, a plain flag-driven script, a cloud-versioned `.dvc`
file, a repository with its own pre-commit hooks) and tests it end to end through the
real `ledger` program, the installed git hooks and a real ledger file.
"""
