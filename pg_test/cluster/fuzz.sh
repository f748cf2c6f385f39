#!/usr/bin/env bash
# Fuzzing through the server: random and mutated text and binary vectors,
# typmods, array casts, functions on odd arguments, binary COPY, index
# options and search settings, bit indexes on binary_quantize, sent over a real connection (see
# pg_test/fuzz/fuzz_server.py). Fails on a backend crash, an internal error
# (SQLSTATE XX000, a Rust panic) or an invalid vector in a result.
#   bash pg_test/cluster/fuzz.sh                      # CI: 50,000 inputs, under a minute
#   FUZZ_COUNT=1000000 FUZZ_SEED=7 bash pg_test/cluster/fuzz.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

FUZZ_COUNT=${FUZZ_COUNT:-50000}
FUZZ_SEED=${FUZZ_SEED:-1}
# The same venv and pins as clients.sh: both tests share one install.

ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"

status=0
"$CLIENTS_VENV/bin/python" -u "$REPO/pg_test/fuzz/fuzz_server.py" --seed "$FUZZ_SEED" --count "$FUZZ_COUNT" || status=$?

# A crash the fuzzer did not see (a background worker, say) is in the log.
if grep -E "terminated by signal|server process .* was terminated|PANIC:" "$CLUSTER_DIR/server.log" >&2; then
    echo "the server log shows a crash; the end of the log:" >&2
    tail -n 30 "$CLUSTER_DIR/server.log" >&2
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "fuzz_server.py failed (exit $status)" >&2
fi
exit "$status"
