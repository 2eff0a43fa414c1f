#!/usr/bin/env bash
# The nightly job on a CI runner attached to the rig (README "Nightly regression on the rig"):
# run the plan, keep the run directory, compare it with the last night, draw the history.
#
#   RIG=rigs/lab-room1.toml RUNS=/var/lib/bench/runs scripts/nightly.sh
#
# RIG (required) the rig file; RUNS the folder of this rig's nights, kept on the runner
# (default runs); PLAN (default core); CASES (optional, comma-separated); OUT the folder the CI
# keeps as artifacts (default nightly: run/ with junit.xml, compare.html, history.html); SINCE
# the history window (default 30d); HISTORY_DB an SQLite path or postgresql:// URL shared by
# several rigs (default RUNS/history.sqlite); WAIT_LOCK seconds to wait for a busy rig (900);
# BENCH the bench command (default .venv/bin/bench).
# Exit: the worst of bench run, bench compare and bench history (0 all passed and nothing
# regressed, 1 a failure or a regression, 2 or more the job could not do its work).
set -u
: "${RIG:?set RIG to the rig file, e.g. rigs/lab-room1.toml}"
RUNS=${RUNS:-runs}
PLAN=${PLAN:-core}
OUT=${OUT:-nightly}
SINCE=${SINCE:-30d}
BENCH=${BENCH:-.venv/bin/bench}

newest_run() {  # the newest run directory in RUNS (their names start with the UTC time)
    local d last=""
    for d in "$RUNS"/*/; do
        [ -f "${d}run.json" ] && last=${d%/}
    done
    echo "$last"
}

mkdir -p "$RUNS" "$OUT"
last_night=$(newest_run)
"$BENCH" run --plan "$PLAN" --rig "$RIG" --runs-dir "$RUNS" --wait-lock "${WAIT_LOCK:-900}" \
    ${CASES:+--cases "$CASES"}
run_rc=$?
tonight=$(newest_run)
if [ -z "$tonight" ] || [ "$tonight" = "$last_night" ]; then
    echo "nightly: bench run wrote no run directory (exit $run_rc)" >&2
    exit $(( run_rc > 2 ? run_rc : 2 ))
fi
rm -rf "$OUT/run" && cp -r "$tonight" "$OUT/run"

compare_rc=0
if [ -n "$last_night" ]; then
    "$BENCH" compare "$last_night" "$tonight" -o "$OUT/compare.html"
    compare_rc=$?
else
    echo "nightly: first night in $RUNS, nothing to compare with"
fi

"$BENCH" history "$RUNS" --since "$SINCE" --rig "$(basename "$RIG" .toml)" \
    -o "$OUT/history.html" ${HISTORY_DB:+--db "$HISTORY_DB"}
history_rc=$?

worst=$run_rc
for rc in $compare_rc $history_rc; do
    [ "$rc" -gt "$worst" ] && worst=$rc
done
echo "nightly: bench run $run_rc, compare $compare_rc, history $history_rc -> exit $worst"
exit "$worst"
