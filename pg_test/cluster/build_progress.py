"""Progress and cancel of an hnsw build (run by build_progress.sh), through
the libpq environment of the throwaway cluster."""
import sys
import threading
import time

import psycopg

from checks import check, summary

ROWS = 30000
DIMENSIONS = 128
# pg_stat_progress_create_index shows an access method's phases after this.
AM_PHASE = "building index: "
PHASES = ["initializing"] + [AM_PHASE + p for p in ["loading tuples", "building graph", "checking findability",
                                                          "encoding vectors", "writing pages"]]
BUILD = "CREATE INDEX items_index ON items USING hnsw (embedding vector_l2_ops)"
PROGRESS = ("SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index "
            "WHERE relid = 'items'::regclass")


def start_build(errors):
    """Runs BUILD in its own session and thread (two build threads);
    returns the thread and the session's backend pid."""
    conn = psycopg.connect(autocommit=True)
    conn.execute("SET max_parallel_maintenance_workers = 1")
    pid = conn.info.backend_pid

    def run():
        try:
            conn.execute(BUILD)
        except psycopg.Error as e:
            errors.append(e)
        finally:
            conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, pid


def sample_until_done(conn, thread):
    """(phase, tuples_done, tuples_total) every 20 ms while the build runs."""
    samples = []
    while thread.is_alive():
        row = conn.execute(PROGRESS).fetchone()
        if row:
            samples.append(row)
        time.sleep(0.02)
    return samples


def wait_for_phase(conn, thread, phase):
    while thread.is_alive():
        row = conn.execute(PROGRESS).fetchone()
        if row and row[0] == phase and row[1] > 0:
            return True
        time.sleep(0.01)
    return False


def main():
    with psycopg.connect(autocommit=True) as conn:
        conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({DIMENSIONS}))")
        # The subquery refers to i, so every row draws a vector of its own.
        conn.execute(f"INSERT INTO items SELECT i, (SELECT array_agg(random()) FROM generate_series(1, {DIMENSIONS} + i * 0))::vector "
                     f"FROM generate_series(1, {ROWS}) i")

        errors = []
        thread, _ = start_build(errors)
        samples = sample_until_done(conn, thread)
        thread.join()
        check("the build succeeds", not errors, lambda: repr(errors))
        for phase in ["building graph", "checking findability"]:
            seen = [(done, total) for p, done, total in samples if p == AM_PHASE + phase]
            done = [d for d, _ in seen]
            check(f"phase '{phase}' is reported with tuples_total = {ROWS}",
                  seen and all(total == ROWS for _, total in seen), lambda: repr(seen[:5]))
            check(f"phase '{phase}': tuples_done advances ({len(set(done))} distinct values in {len(seen)} samples)",
                  len(set(done)) >= 3 and done == sorted(done) and max(done) < ROWS, lambda: repr(done))
        # Encoding takes a fraction of a second: it need only be seen, counting up.
        seen = [(done, total) for p, done, total in samples if p == AM_PHASE + "encoding vectors"]
        done = [d for d, _ in seen]
        check(f"phase 'encoding vectors' is reported with tuples_total = {ROWS}, tuples_done counting up",
              seen and all(total == ROWS for _, total in seen) and done == sorted(done), lambda: repr(seen[:5]))
        phases = [p for p, _, _ in samples]
        check("phases come in order", all(p in PHASES for p in phases) and phases == sorted(phases, key=PHASES.index),
              lambda: repr(sorted(set(phases))))

        conn.execute("DROP INDEX items_index")
        errors = []
        thread, pid = start_build(errors)
        reached = wait_for_phase(conn, thread, AM_PHASE + "building graph")
        cancelled_at = time.monotonic()
        conn.execute("SELECT pg_cancel_backend(%s)", [pid])
        thread.join()
        took = time.monotonic() - cancelled_at
        check("the second build reaches the graph phase", reached)
        check(f"a cancel in the graph phase stops the build ({took:.2f} s)",
              len(errors) == 1 and errors[0].sqlstate == "57014" and took < 2.0, lambda: repr(errors))
        left = conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'items_index'").fetchone()[0]
        check("no index is left behind", left == 0)
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active'", [pid]).fetchone()[0]
        check("the cancelled session is gone", row == 0)
    return summary("build_progress")


if __name__ == "__main__":
    sys.exit(main())
