#!/usr/bin/env bash
# Client libraries: unmodified pgvector client code (pgvector-python with
# psycopg 3, asyncpg and SQLAlchemy 2) talks to vector_ext exactly as it
# talks to pgvector: text and binary formats, binary COPY, the distance
# operators through hnsw indexes, and the error surfaces (see clients.py).
#   bash pg_test/cluster/clients.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"



ensure_venv "$CLIENTS_VENV" "${CLIENTS_PACKAGES[@]}"
start_cluster
sql -c "CREATE EXTENSION vector_ext"

status=0
"$CLIENTS_VENV/bin/python" -u "$(dirname "${BASH_SOURCE[0]}")/clients.py" || status=$?
if [ "$status" -ne 0 ]; then
    echo "clients.py failed (exit $status); the end of the server log:" >&2
    tail -n 30 "$CLUSTER_DIR/server.log" >&2
    exit "$status"
fi
