"""Unmodified pgvector client libraries against vector_ext (run by clients.sh).

Connects through the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE)
of the throwaway cluster, where `CREATE EXTENSION vector_ext` has been run.
Prints one line per check and ends with `clients: N passed, M failed`.

pgvector-python 0.5 loads `vector` values as pgvector.Vector (numpy arrays go
in directly; `.to_numpy()` gives them back as float32 arrays), and its
SQLAlchemy type loads them as lists of floats.
"""
import asyncio
import struct
import sys
import traceback

import asyncpg
import numpy as np
import psycopg

import checks
from checks import check
from pgvector import Bit, HalfVector, SparseVector, Vector
from pgvector.asyncpg import register_vector as register_vector_asyncpg
from pgvector.psycopg import register_vector
from pgvector.sqlalchemy import BIT, HALFVEC, SPARSEVEC
from pgvector.sqlalchemy import Vector as VectorType
from sqlalchemy import Index, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

rng = np.random.default_rng(42)




def section(function):
    """Runs a group of checks; an unexpected exception counts as one failure."""
    print(f"-- {function.__doc__}")
    try:
        result = function()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    except Exception as error:
        traceback.print_exc()
        check(f"{function.__name__} ran to the end", False, repr(error))


def connect():
    # Empty conninfo: libpq reads the PG* environment of the throwaway cluster.
    return psycopg.connect("", autocommit=True)


def same_bits(got, want):
    """True when got (a pgvector Vector, list or array) is want, bit for bit as float32."""
    if isinstance(got, Vector):
        got = got.to_numpy()
    got = np.asarray(got, dtype=np.float32)
    return got.shape == want.shape and got.tobytes() == want.tobytes()


def pgvector_wire(vector):
    """pgvector's binary format: uint16 dim, uint16 zero, dim x big-endian float4."""
    return struct.pack(">HH", len(vector), 0) + vector.astype(">f4").tobytes()


def first_difference(got, want):
    got = got.to_numpy() if isinstance(got, Vector) else np.asarray(got, dtype=np.float32)
    if got.shape != want.shape:
        return f"shape {got.shape} instead of {want.shape}"
    differ = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
    if len(differ) == 0:
        return "identical"
    i = int(differ[0])
    return f"{len(differ)} elements differ, first {i}: {got[i]!r} instead of {want[i]!r}"


def text_difference(got, want):
    got, want = got[1:-1].split(","), want[1:-1].split(",")
    differ = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    if len(got) != len(want):
        return f"{len(got)} elements instead of {len(want)}"
    return f"{len(differ)} of {len(got)} elements differ, first {differ[0]}: {got[differ[0]]} instead of {want[differ[0]]}"


def setup():
    """setup: the type pgvector-python looks up"""
    with connect() as conn:
        extensions = [r[0] for r in conn.execute("SELECT extname FROM pg_extension ORDER BY 1")]
        check("no extension named `vector` is installed, only vector_ext",
              "vector" not in extensions and "vector_ext" in extensions, f"extensions: {extensions}")
        owner = conn.execute("""
            SELECT e.extname FROM pg_type t
            JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
            JOIN pg_extension e ON e.oid = d.refobjid
            WHERE t.typname = 'vector' AND t.typnamespace = 'public'::regnamespace""").fetchone()
        check("type public.vector belongs to vector_ext", owner == ("vector_ext",), f"owner: {owner}")
        # register_vector looks the types up by name: vector and bit are needed,
        # halfvec and sparsevec are optional (vector_ext has both).
        register_vector(conn)
        check("pgvector.psycopg.register_vector accepts the database", True)
        loaded = type(conn.execute("SELECT '[1,2]'::halfvec").fetchone()[0]).__name__
        check("register_vector found halfvec: values load as HalfVector", loaded == "HalfVector", loaded)
        loaded = type(conn.execute("SELECT '{1:2}/3'::sparsevec").fetchone()[0]).__name__
        check("register_vector found sparsevec: values load as SparseVector", loaded == "SparseVector", loaded)


def psycopg_round_trip():
    """1. psycopg 3: numpy arrays in and out, text and binary, bit for bit"""
    vectors = {
        "special values": np.array(
            [1e-7, -0.0, 0.0, 3.4e38, -3.4e38, 3.4028235e38, 1.1754944e-38, 1e-40, 1e-45,
             1.0, -1.5, np.pi, 123456.789, 1 / 3], dtype=np.float32),
        "one dimension": np.array([-42.25], dtype=np.float32),
        "random normal, 1000 dimensions": rng.standard_normal(1000).astype(np.float32),
        "16000 dimensions": rng.standard_normal(16000).astype(np.float32) * np.float32(1e5),
    }
    with connect() as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE round_trip (id int PRIMARY KEY, name text, params text, embedding vector)")
        # %t sends the parameter in text, %b in binary: both dumpers come from register_vector.
        row_id = 0
        for params, placeholder in (("text", "%t"), ("binary", "%b")):
            for name, vector in vectors.items():
                row_id += 1
                conn.execute(f"INSERT INTO round_trip VALUES (%s, %s, %s, {placeholder})",
                             (row_id, name, params, vector))
        check("inserted numpy arrays with text and binary parameters",
              conn.execute("SELECT count(*) FROM round_trip").fetchone()[0] == 2 * len(vectors))

        # Read back every row in text and in binary result format.
        for results in ("text", "binary"):
            rows = conn.execute("SELECT name, params, embedding FROM round_trip ORDER BY id",
                                binary=results == "binary").fetchall()
            for name, params, got in rows:
                want = vectors[name]
                check(f"{name}: {params} parameter, {results} result -> same float32 bits",
                      isinstance(got, Vector) and same_bits(got, want),
                      lambda: first_difference(got, want) if isinstance(got, Vector) else type(got).__name__)

        # The bytes on the wire are pgvector's, and the text is float4's shortest form.
        for name, vector in vectors.items():
            sent, as_text, float4_text = conn.execute(
                "SELECT vector_send(embedding), embedding::text, '[' || array_to_string(embedding::real[], ',') || ']'"
                " FROM round_trip WHERE name = %s AND params = 'binary'", (name,)).fetchone()
            check(f"{name}: vector_send is pgvector's wire format", bytes(sent) == pgvector_wire(vector))
            check(f"{name}: text output is float4's shortest decimal (as pgvector prints)",
                  as_text == float4_text, lambda: text_difference(as_text, float4_text))
        check("-0 keeps its sign in text output",
              conn.execute("SELECT '[-0,0]'::vector::text").fetchone()[0] == "[-0,0]")
        # Exact ties between two shortest forms: float4out (Ryu) rounds half to even.
        as_text = conn.execute("SELECT '[177134.125,49165.5625]'::vector::text").fetchone()[0]
        check("ties print like float4out: [177134.125,49165.5625] -> [177134.12,49165.562]",
              as_text == "[177134.12,49165.562]", as_text)

        # A parameter compared with a stored value: the server sees identical vectors.
        big = vectors["16000 dimensions"]
        for placeholder in ("%t", "%b"):
            same = conn.execute(f"SELECT embedding = {placeholder} AND embedding <-> {placeholder} = 0"
                                " FROM round_trip WHERE name = '16000 dimensions'", (big, big)).fetchall()
            check(f"16000-dim parameter ({placeholder}) equals both stored copies", same == [(True,), (True,)], same)


def psycopg_copy():
    """2. psycopg 3: binary COPY of numpy arrays"""
    data = rng.standard_normal((1000, 64)).astype(np.float32)
    with connect() as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE copied (id int PRIMARY KEY, embedding vector(64))")
        cur = conn.cursor()
        with cur.copy("COPY copied (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            # set_types is what makes binary COPY work (pgvector-python's loading example).
            copy.set_types(["int4", "vector"])
            for i, vector in enumerate(data):
                # Both forms pgvector-python accepts: a numpy array and Vector(array).
                copy.write_row([i, vector if i % 2 else Vector(vector)])
        check("binary COPY FROM loaded 1000 rows",
              conn.execute("SELECT count(*) FROM copied").fetchone()[0] == 1000)
        for i in (0, 1, 499, 998, 999):
            got = conn.execute("SELECT embedding FROM copied WHERE id = %s", (i,), binary=True).fetchone()[0]
            check(f"copied row {i} reads back bit for bit", same_bits(got, data[i]))
        dims = conn.execute("SELECT min(vector_dims(embedding)), max(vector_dims(embedding)) FROM copied").fetchone()
        check("every copied row has 64 dimensions", dims == (64, 64), dims)

        # And back out with binary COPY TO.
        rows = []
        with cur.copy("COPY (SELECT id, embedding FROM copied ORDER BY id) TO STDOUT WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "vector"])
            rows = list(copy.rows())
        check("binary COPY TO returns every row bit for bit",
              len(rows) == 1000 and all(i == j and same_bits(v, data[j]) for j, (i, v) in enumerate(rows)))


def hnsw_operators():
    """3. hnsw index per operator answers like a sequential scan"""
    data = rng.random((500, 12), dtype=np.float32)
    queries = rng.random((8, 12), dtype=np.float32)
    opclasses = {"<->": "vector_l2_ops", "<#>": "vector_ip_ops", "<=>": "vector_cosine_ops", "<+>": "vector_l1_ops"}
    with connect() as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE nn (id int PRIMARY KEY, embedding vector(12))")
        with conn.cursor().copy("COPY nn (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "vector"])
            for i, vector in enumerate(data):
                copy.write_row([i, vector])
        for opclass in opclasses.values():
            conn.execute(f"CREATE INDEX nn_{opclass} ON nn USING hnsw (embedding {opclass})")
        conn.execute("ANALYZE nn")
        conn.execute("SET hnsw.ef_search = 400")
        # On a table this small a sequential scan and sort costs about what the
        # index does, for pgvector too: its own tests force the index like this.
        conn.execute("SET enable_seqscan = off")

        for operator, opclass in opclasses.items():
            query = f"SELECT id FROM nn ORDER BY embedding {operator} %b LIMIT 10"
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, (queries[0],)))
            check(f"{operator}: EXPLAIN shows an index scan on nn_{opclass}",
                  f"Index Scan using nn_{opclass}" in plan, plan.replace("\n", " | "))
            from_index = [[r[0] for r in conn.execute(query, (q,))] for q in queries]
            conn.execute("SET enable_indexscan = off")
            conn.execute("SET enable_seqscan = on")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, (queries[0],)))
            exact = [[r[0] for r in conn.execute(query, (q,))] for q in queries]
            conn.execute("SET enable_indexscan = on")
            conn.execute("SET enable_seqscan = off")
            check(f"{operator}: with enable_indexscan = off the plan has no index scan", "Index" not in plan, plan)
            check(f"{operator}: index ids = sequential scan ids for {len(queries)} queries",
                  from_index == exact, f"{from_index} vs {exact}")


async def asyncpg_checks():
    """4. asyncpg + pgvector.asyncpg.register_vector"""
    data = rng.standard_normal((300, 16)).astype(np.float32)
    conn = await asyncpg.connect()  # PG* environment
    try:
        await register_vector_asyncpg(conn)
        await conn.execute("CREATE TABLE apg (id int PRIMARY KEY, embedding vector(16))")
        await conn.executemany("INSERT INTO apg VALUES ($1, $2)", [(i, v) for i, v in enumerate(data[:200])])
        # asyncpg's own binary COPY goes through the same codec.
        await conn.copy_records_to_table("apg", records=[(i + 200, v) for i, v in enumerate(data[200:])])
        rows = await conn.fetch("SELECT id, embedding FROM apg ORDER BY id")
        check("asyncpg: 300 rows (executemany + copy_records_to_table) read back as Vector",
              len(rows) == 300 and all(isinstance(r["embedding"], Vector) for r in rows))
        check("asyncpg: every row round-trips bit for bit",
              all(same_bits(r["embedding"], data[r["id"]]) for r in rows))
        special = np.array([1e-7, -0.0, 3.4e38, 1e-45], dtype=np.float32)
        back = await conn.fetchval("SELECT $1::vector", special)
        check("asyncpg: special values round-trip bit for bit", same_bits(back, special))

        for q in rng.standard_normal((5, 16)).astype(np.float32):
            got = [r["id"] for r in await conn.fetch("SELECT id FROM apg ORDER BY embedding <-> $1 LIMIT 5", q)]
            want = np.argsort(np.linalg.norm(data.astype(np.float64) - q, axis=1), kind="stable")[:5].tolist()
            check("asyncpg: ORDER BY embedding <-> $1 LIMIT 5 = numpy brute force", got == want, f"{got} vs {want}")
        distance = await conn.fetchval("SELECT embedding <-> $1 FROM apg WHERE id = 7", data[3])
        want = float(np.linalg.norm(data[7].astype(np.float64) - data[3]))
        check("asyncpg: the distance itself matches numpy", abs(distance - want) < 1e-5 * want, f"{distance} vs {want}")
    finally:
        await conn.close()


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "sa_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    embedding = mapped_column(VectorType(8))
    # pgvector-python's documented way to declare an hnsw index.
    __table_args__ = (Index("sa_items_embedding_idx", "embedding", postgresql_using="hnsw",
                            postgresql_with={"m": 16, "ef_construction": 64},
                            postgresql_ops={"embedding": "vector_l2_ops"}),)


def sqlalchemy_checks():
    """5. SQLAlchemy 2 + pgvector.sqlalchemy.Vector (psycopg driver)"""
    data = rng.standard_normal((300, 8)).astype(np.float32)
    engine = create_engine("postgresql+psycopg://")  # empty URL: the PG* environment
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Item(id=i, embedding=v) for i, v in enumerate(data)])
        session.commit()
        # Exact answers from the index on a small table (see hnsw_operators).
        session.execute(text("SET hnsw.ef_search = 400"))
        session.execute(text("SET enable_seqscan = off"))

        stored = session.scalars(select(Item).order_by(Item.id)).all()
        check("sqlalchemy: 300 items read back bit for bit",
              len(stored) == 300 and all(same_bits(item.embedding, data[item.id]) for item in stored))

        unit = data / np.linalg.norm(data.astype(np.float64), axis=1, keepdims=True)
        for q in rng.standard_normal((4, 8)).astype(np.float32):
            got = [item.id for item in session.scalars(select(Item).order_by(Item.embedding.l2_distance(q)).limit(5))]
            want = np.argsort(np.linalg.norm(data.astype(np.float64) - q, axis=1), kind="stable")[:5].tolist()
            check("sqlalchemy: order_by(l2_distance(q)).limit(5) = numpy", got == want, f"{got} vs {want}")
            got = [item.id for item in session.scalars(select(Item).order_by(Item.embedding.cosine_distance(q)).limit(5))]
            want = np.argsort(-(unit @ (q / np.linalg.norm(q))), kind="stable")[:5].tolist()
            check("sqlalchemy: order_by(cosine_distance(q)).limit(5) = numpy", got == want, f"{got} vs {want}")
        q = data[11]
        plan = "\n".join(session.execute(text("EXPLAIN " + str(
            select(Item.id).order_by(Item.embedding.l2_distance(q)).limit(5)
            .compile(engine, compile_kwargs={"literal_binds": True})))).scalars())
        check("sqlalchemy: the l2 query uses the declared hnsw index", "sa_items_embedding_idx" in plan, plan)
    engine.dispose()


def error_surfaces():
    """6. errors: SQLSTATE and message as pgvector's"""
    with connect() as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE two (embedding vector(2))")
        three = np.array([1, 2, 3], dtype=np.float32)
        cases = [
            ("text literal '[1,2,3]' into vector(2)", "INSERT INTO two VALUES ('[1,2,3]')", None,
             "22000", "expected 2 dimensions, not 3"),
            ("text parameter [1,2,3] into vector(2)", "INSERT INTO two VALUES (%t)", (three,),
             "22000", "expected 2 dimensions, not 3"),
            ("binary parameter [1,2,3] into vector(2)", "INSERT INTO two VALUES (%b)", (three,),
             "22000", "expected 2 dimensions, not 3"),
            ("malformed text '[1,2'", "SELECT '[1,2'::vector", None,
             "22P02", 'invalid input syntax for type vector: "[1,2"'),
        ]
        for name, query, params, sqlstate, message in cases:
            try:
                conn.execute(query, params)
                check(f"{name}: raises {sqlstate}", False, "no error")
            except psycopg.Error as error:
                got = (error.sqlstate, error.diag.message_primary)
                check(f"{name}: raises {sqlstate} '{message}'", got == (sqlstate, message), got)

    async def asyncpg_error():
        conn = await asyncpg.connect()
        try:
            await register_vector_asyncpg(conn)
            await conn.execute("INSERT INTO two VALUES ($1)", np.array([1, 2, 3], dtype=np.float32))
            check("asyncpg: binary [1,2,3] into vector(2) raises 22000", False, "no error")
        except asyncpg.PostgresError as error:
            got = (error.sqlstate, str(error))
            check("asyncpg: binary [1,2,3] into vector(2) raises 22000 'expected 2 dimensions, not 3'",
                  got == ("22000", "expected 2 dimensions, not 3"), got)
        finally:
            await conn.close()

    asyncio.run(asyncpg_error())


def same_halves(got, want):
    """True when got (a HalfVector) holds want's float16 values, bit for bit."""
    return isinstance(got, HalfVector) and got.to_numpy().view(np.uint16).tobytes() == want.view(np.uint16).tobytes()


def halfvec_sparsevec_and_bit():
    """7. halfvec, sparsevec and bit: HalfVector, SparseVector and Bit in and out (text, binary, binary COPY, asyncpg, SQLAlchemy)"""
    halves = {
        "special values": np.array([65504, -65504, 6.1e-5, 6e-8, -0.0, 0.0, 0.1, 1 / 3, np.pi, -2.5], dtype=np.float16),
        "random normal, 3072 dimensions": rng.standard_normal(3072).astype(np.float16),
    }
    with connect() as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE halves (id int PRIMARY KEY, name text, params text, embedding halfvec)")
        row_id = 0
        for params, placeholder in (("text", "%t"), ("binary", "%b")):
            for name, values in halves.items():
                row_id += 1
                conn.execute(f"INSERT INTO halves VALUES (%s, %s, %s, {placeholder})", (row_id, name, params, HalfVector(values)))
        for results in ("text", "binary"):
            for name, params, got in conn.execute("SELECT name, params, embedding FROM halves ORDER BY id",
                                                  binary=results == "binary").fetchall():
                check(f"halfvec {name}: {params} parameter, {results} result -> same float16 bits",
                      same_halves(got, halves[name]), lambda: repr(got)[:200])
        for name, values in halves.items():
            sent = conn.execute("SELECT halfvec_send(embedding) FROM halves WHERE name = %s AND params = 'binary'", (name,)).fetchone()[0]
            check(f"halfvec {name}: halfvec_send is pgvector's wire format", bytes(sent) == HalfVector(values).to_binary())

        data = rng.standard_normal((200, 16)).astype(np.float16)
        conn.execute("CREATE TABLE halves_copied (id int PRIMARY KEY, embedding halfvec(16))")
        cur = conn.cursor()
        with cur.copy("COPY halves_copied (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "halfvec"])
            for i, values in enumerate(data):
                copy.write_row([i, HalfVector(values)])
        with cur.copy("COPY (SELECT id, embedding FROM halves_copied ORDER BY id) TO STDOUT WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "halfvec"])
            rows = list(copy.rows())
        check("halfvec: binary COPY in and out of 200 rows, bit for bit",
              len(rows) == 200 and all(i == j and same_halves(v, data[j]) for j, (i, v) in enumerate(rows)))

        # bit: pgvector-python's Bit in and out, and the distances on it
        bits = rng.integers(0, 2, (50, 70)).astype(bool)
        conn.execute("CREATE TABLE bits (id int PRIMARY KEY, b bit(70))")
        for i, row in enumerate(bits):
            conn.execute("INSERT INTO bits VALUES (%s, %s)", (i, Bit(row)))
        back = conn.execute("SELECT b FROM bits ORDER BY id").fetchall()
        check("bit: 50 Bit values of 70 bits read back unchanged",
              all(Bit(bits[i]).to_text() == (b.to_text() if isinstance(b, Bit) else str(b)) for i, (b,) in enumerate(back)),
              lambda: f"{back[0]!r} vs {Bit(bits[0])!r}")
        query = Bit(bits[7])
        got = [r[0] for r in conn.execute("SELECT id FROM bits ORDER BY b <~> %s, id LIMIT 5", (query,))]
        hamming = (bits != bits[7]).sum(axis=1)
        want = np.lexsort((np.arange(len(bits)), hamming))[:5].tolist()
        check("bit: ORDER BY b <~> Bit LIMIT 5 = numpy Hamming distances", got == want, f"{got} vs {want}")
        quantized = conn.execute("SELECT binary_quantize(%s::vector)", (np.array([1, -1, 0.5, 0], dtype=np.float32),)).fetchone()[0]
        check("bit: binary_quantize reads back as Bit('1010')",
              (quantized.to_text() if isinstance(quantized, Bit) else str(quantized)) == "1010", repr(quantized))

    async def asyncpg_halfvec():
        conn = await asyncpg.connect()
        try:
            await register_vector_asyncpg(conn)
            rows = [(i, HalfVector(v)) for i, v in enumerate(data[:20])]
            await conn.execute("CREATE TABLE apg_halves (id int PRIMARY KEY, embedding halfvec(16))")
            await conn.executemany("INSERT INTO apg_halves VALUES ($1, $2)", rows)
            back = await conn.fetch("SELECT id, embedding FROM apg_halves ORDER BY id")
            check("asyncpg: 20 halfvec rows round-trip bit for bit",
                  len(back) == 20 and all(same_halves(r["embedding"], data[r["id"]]) for r in back))
        finally:
            await conn.close()

    asyncio.run(asyncpg_halfvec())

    # sparsevec: SparseVector in and out, its bytes, and a distance
    sparse = {
        "three of five": SparseVector({0: 1.5, 2: -2.0, 4: 3.4e38}, 5),
        "empty": SparseVector({}, 7),
        "SPLADE-sized": SparseVector({int(i): float(x) for i, x in zip(rng.choice(30522, 200, replace=False),
                                                                        rng.standard_normal(200).astype(np.float32))}, 30522),
    }
    with connect() as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE sparse (id int PRIMARY KEY, name text, embedding sparsevec)")
        row_id = 0
        for placeholder in ("%t", "%b"):
            for name, value in sparse.items():
                row_id += 1
                conn.execute(f"INSERT INTO sparse VALUES (%s, %s, {placeholder})", (row_id, name, value))
        for results in ("text", "binary"):
            for name, got in conn.execute("SELECT name, embedding FROM sparse ORDER BY id", binary=results == "binary").fetchall():
                want = sparse[name]
                check(f"sparsevec {name}: {results} result equals what was sent",
                      isinstance(got, SparseVector) and got.dimensions() == want.dimensions()
                      and got.indices() == want.indices() and np.array_equal(np.float32(got.values()), np.float32(want.values())),
                      lambda: repr(got)[:200])
        for name, value in sparse.items():
            sent = conn.execute("SELECT sparsevec_send(embedding) FROM sparse WHERE name = %s LIMIT 1", (name,)).fetchone()[0]
            check(f"sparsevec {name}: sparsevec_send is pgvector's wire format", bytes(sent) == value.to_binary())
        a, b = sparse["three of five"], SparseVector({0: 1.0, 1: 2.0}, 5)
        distance = conn.execute("SELECT %s::sparsevec <+> %s::sparsevec", (a, b)).fetchone()[0]
        want = float(np.abs(np.float64(a.to_numpy()) - b.to_numpy()).sum())
        check("sparsevec: <+> of two SparseVectors matches numpy", abs(distance - want) <= 1e-6 * want, f"{distance} vs {want}")

    class SparseItem(Base):
        __tablename__ = "sa_sparse_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        embedding = mapped_column(SPARSEVEC(16))

    engine = create_engine("postgresql+psycopg://")
    SparseItem.__table__.create(engine)
    dense = np.where(rng.random((50, 16)) < 0.3, rng.standard_normal((50, 16)), 0).astype(np.float32)
    with Session(engine) as session:
        session.add_all([SparseItem(id=i, embedding=SparseVector(dense[i])) for i in range(50)])
        session.commit()
        q = dense[3]
        got = [item.id for item in session.scalars(
            select(SparseItem).order_by(SparseItem.embedding.l2_distance(SparseVector(q)), SparseItem.id).limit(5))]
        want = np.lexsort((np.arange(50), np.linalg.norm(dense.astype(np.float64) - q, axis=1)))[:5].tolist()
        check("sqlalchemy: SPARSEVEC order_by(l2_distance(q)).limit(5) = numpy", got == want, f"{got} vs {want}")
        back = session.get(SparseItem, 7).embedding
        check("sqlalchemy: a SPARSEVEC row reads back as its dense values", np.array_equal(back.to_numpy(), dense[7]), repr(back))
    engine.dispose()

    class HalfItem(Base):
        __tablename__ = "sa_half_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        embedding = mapped_column(HALFVEC(16))
        bits = mapped_column(BIT(16))

    engine = create_engine("postgresql+psycopg://")
    HalfItem.__table__.create(engine)
    with Session(engine) as session:
        session.add_all([HalfItem(id=i, embedding=data[i], bits="".join("1" if x > 0 else "0" for x in data[i]))
                         for i in range(100)])
        session.commit()
        q = data[5].astype(np.float32)
        got = [item.id for item in session.scalars(select(HalfItem).order_by(HalfItem.embedding.l2_distance(q), HalfItem.id).limit(5))]
        want = np.lexsort((np.arange(100), np.linalg.norm(data[:100].astype(np.float64) - q, axis=1)))[:5].tolist()
        check("sqlalchemy: HALFVEC order_by(l2_distance(q)).limit(5) = numpy", got == want, f"{got} vs {want}")
        query_bits = "".join("1" if x > 0 else "0" for x in data[5])
        got = [item.id for item in session.scalars(select(HalfItem).order_by(HalfItem.bits.hamming_distance(query_bits), HalfItem.id).limit(5))]
        hamming = ((data[:100] > 0) != (data[5] > 0)).sum(axis=1)
        want = np.lexsort((np.arange(100), hamming))[:5].tolist()
        check("sqlalchemy: BIT order_by(hamming_distance(bits)).limit(5) = numpy", got == want, f"{got} vs {want}")
    engine.dispose()


for group in (setup, psycopg_round_trip, psycopg_copy, hnsw_operators, asyncpg_checks, sqlalchemy_checks,
              error_surfaces, halfvec_sparsevec_and_bit):
    section(group)

sys.exit(checks.summary("clients"))
