#!/bin/sh
# exp-ledger git hook: written by `ledger init` (which rewrites it; `ledger init --check`
# says whether it is current).
#
# The ledger's own hook for this git hook type runs directly: pre-commit's start-up costs
# far more than its work, and pre-commit fetches every hook repository of the config first.
# Then, only if .pre-commit-config.yaml holds other hooks for this type, pre-commit runs them,
# from a copy of the config without the ledger's hooks (`ledger.setup.hook_config`). A hook of
# your own that was here before `ledger init` runs first, as it did.
#
# After a later `pre-commit install`, pre-commit runs this script as its `.legacy` hook:
# it then runs the ledger's hook and leaves the config's hooks to pre-commit (whose run
# of the ledger's hook then does nothing, see hook.sh).

hook_type=@HOOK_TYPE@
command=@COMMAND@
hook_id=@HOOK_ID@
hook_script=@HOOK_SCRIPT@
python=@PYTHON@
pre_commit=@PRE_COMMIT@

here=${0%/*}
ledger=$here/../ledger
code=0

own=$here/$hook_type.before-ledger
if [ -x "$own" ]; then
    "$own" "$@" || code=$?
fi

if [ -f "$hook_script" ]; then
    # Sourced in a subshell (no second shell to start), with the folders it would ask git
    # for: git runs hooks at the top of the work tree, and this script is in the common
    # dir's hooks folder.
    (
        dirs_known=1 hooks=$here common=${here%/*} top=$PWD
        set -- "$command" "$@"
        . "$hook_script"
    ) </dev/null || code=$?
else
    echo "exp-ledger: $hook_type hook: $hook_script is gone; run \`ledger init\` again (\`ledger doctor --fix\` records what was missed)" >&2
fi

run_pre_commit() {
    pc=$pre_commit
    [ -x "$pc" ] || pc=$(command -v pre-commit)
    if [ -z "$pc" ]; then
        echo "exp-ledger: pre-commit not found: the $hook_type hooks of .pre-commit-config.yaml did not run" >&2
        code=1
        return
    fi
    "$pc" hook-impl --config="$chain" --hook-type="$hook_type" --skip-on-missing-config -- "$@" </dev/null ||
        code=$?
}

config=.pre-commit-config.yaml
if [ -z "${PRE_COMMIT_RUNNING_LEGACY:-}" ] && [ -f "$config" ]; then
    sum=$(cksum <"$config")
    chain=$ledger/chains/${sum%% *}-${sum#* }.$hook_type.yaml
    if [ ! -f "$chain" ]; then
        # A config seen for the first time (edited, another branch): work out its copies.
        [ -x "$python" ] || python=python3
        "$python" -m ledger.setup.hook_config "$ledger" "$hook_type" </dev/null || chain=
    fi
    if [ -z "$chain" ]; then
        # No copy to run from: pre-commit runs the whole config, less the ledger's hook.
        chain=$config
        SKIP=${SKIP:+$SKIP,}$hook_id
        export SKIP
        run_pre_commit "$@"
    elif [ -s "$chain" ]; then
        run_pre_commit "$@"
    fi
fi
exit "$code"
