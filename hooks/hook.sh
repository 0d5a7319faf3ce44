# exp-ledger's git hooks, the fast path: `sh hook.sh HOOK [ARGS...]`.
#
# Starting Python (interpreter, site-packages, imports) costs more per hook than a bare
# commit. So the two hooks that run on every commit do their common case here
# with the shell and git plumbing:
# - post-commit writes the commit to the ledger's inbox durably (fsync'ed, renamed into
#   place) and starts the ingester detached; `ledger.commits.ingest` turns it into ledger rows.
# - prepare-commit-msg starts Python only when a run that no commit has linked yet ended
#   in the last 14 days (a trailer can only name such a run; `ledger.hooks.runs_match`
#   decides which).
# Everything else goes to `python -m ledger.hooks`. Like the Python hooks, this never
# breaks a commit: a failure is one line on stderr and a line for `ledger doctor`.

hook=$1
shift

case ${LEDGER_HOOKS:-1} in 0 | false | off | no) exit 0 ;; esac

python_for_hooks() {
    py=$(git config --get ledger.python)
    if [ -z "$py" ] || [ ! -x "$py" ]; then
        py=$(command -v python3 || command -v python)
    fi
}

# One line on stderr and one for `ledger doctor` (hook-failures.jsonl); $1 is a fixed text.
fail() {
    echo "exp-ledger: $hook hook failed: $1 (the commit is fine; see \`ledger doctor\`)" >&2
    if [ -n "$ledger" ] && [ -d "$ledger" ]; then
        printf '{"time": %s, "hook": "%s", "message": "%s"}\n' "$(date +%s)" "$hook" "$1" \
            >>"$ledger/hook-failures.jsonl" 2>/dev/null
    fi
}

# Run a Python hook; a missing or broken interpreter fails open (prepare-commit-msg must
# not stop the commit), while check-results keeps its own exit code (it may block).
run_python() {
    python_for_hooks
    if [ -z "$py" ]; then
        fail "no Python interpreter found (run \`ledger init\` again)"
        exit 0
    fi
    "$py" -m ledger.hooks "$hook" "$@"
    code=$?
    # prepare-commit-msg exits 0 whatever it found: anything else is a broken interpreter
    # or install, and must not stop the commit. check-results may block on purpose.
    if [ "$code" -ge 126 ] || { [ "$code" -ne 0 ] && [ "$hook" = prepare-commit-msg ]; }; then
        fail "$py -m ledger.hooks exited $code: run \`ledger init\` again"
        exit 0
    fi
    exit "$code"
}

# Hooks run at the top of the work tree; the common dir (shared by every worktree, where
# the ledger lives) may be relative to it.
# (hooks/git_hook.sh, which sources this file, knows them already.)
if [ -z "${dirs_known:-}" ]; then
    {
        IFS= read -r common
        IFS= read -r top
        IFS= read -r hooks
    } <<EOF
$(git rev-parse --git-common-dir --show-toplevel --git-path hooks 2>/dev/null)
EOF
fi
if [ -z "$common" ]; then
    echo "exp-ledger: $hook hook: cannot find the git directory; nothing recorded" >&2
    exit 0
fi
ledger=$common/ledger

# pre-commit's own git hook script (a `pre-commit install` after `ledger init`) runs the
# script `ledger init` wrote as its `.legacy` hook, which ran this hook already: pre-commit's
# run of it from the config does nothing.
if [ "${PRE_COMMIT:-}" = 1 ] && [ -z "${PRE_COMMIT_RUNNING_LEGACY:-}" ]; then
    case $hook in check-results) hook_type=pre-commit ;; *) hook_type=$hook ;; esac
    legacy=$hooks/$hook_type.legacy
    if [ -x "$legacy" ] && grep -q '^# exp-ledger git hook' "$legacy" 2>/dev/null; then
        exit 0
    fi
fi

case $hook in
post-commit)
    inbox=$ledger/inbox
    # Names sort in event order (the ingester takes them oldest first); without GNU date's
    # %N the seconds alone still sort a commit before a later rewrite event.
    stamp=$(date +%s%N)
    case $stamp in *[!0-9]*) stamp=${stamp%%[!0-9]*}000000000 ;; esac
    name=$(printf '%020d' "$stamp")-$$-commit
    tmp=$inbox/.$name.tmp
    # Written aside and renamed: an ingester running now never reads half an event.
    if { [ -d "$inbox" ] || mkdir -p "$inbox" 2>/dev/null; } &&
        git log -1 -z --no-renames --diff-filter=d --name-only --format='%H%n%D' HEAD >"$tmp" 2>/dev/null &&
        mv "$tmp" "$inbox/$name.commit" 2>/dev/null; then
        # fsync the event and its directory entry before the commit returns: it stays
        # recorded if the machine dies right after. (BSD sync takes no file operands and
        # flushes everything instead.)
        sync "$inbox/$name.commit" "$inbox" 2>/dev/null || sync
    else
        rm -f "$tmp" 2>/dev/null
        fail "cannot write to $inbox"
        exit 1
    fi
    python_for_hooks
    if [ -n "$py" ]; then
        # Detached, all three streams closed (pre-commit waits for its pipes), without the
        # GIT_* variables git sets for hooks (they would point the ingester's git calls
        # at this commit's index; the set of ledger.git.command.GIT_LOCATION_VARS), and
        # niced: the user's next command goes first.
        session=$(command -v setsid)
        (
            cd "$top" &&
                exec env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE -u GIT_COMMON_DIR \
                    -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES -u GIT_PREFIX -u GIT_NAMESPACE \
                    nice -n 10 $session "$py" -m ledger.commits.ingest "$top" </dev/null >/dev/null 2>&1
        ) &
    fi
    exit 0
    ;;
prepare-commit-msg)
    case ${PRE_COMMIT_COMMIT_MSG_SOURCE:-$2} in merge | squash) exit 0 ;; esac
    # recent-runs.json lists the runs no commit has linked yet (the ingester drops linked
    # ones); it is rewritten whenever a run ends, so an old file holds only old runs.
    recent=$ledger/recent-runs.json
    grep -q '"tree"' "$recent" 2>/dev/null || exit 0
    [ -n "$(find "$recent" -mtime -14 2>/dev/null)" ] || exit 0
    run_python "$@"
    ;;
*)
    run_python "$@"
    ;;
esac
