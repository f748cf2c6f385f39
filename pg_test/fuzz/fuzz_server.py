"""Fuzzes vector_ext through a real server connection (run by pg_test/cluster/fuzz.sh).

Every input is random or a mutation of a valid one, and goes where a user's
would: text literals and binary parameters into `vector_in`/`vector_recv`
`halfvec_in`/`halfvec_recv` and `sparsevec_in`/`sparsevec_recv`,
type modifiers, array casts, the functions and operators on odd arguments,
binary COPY, and index builds with random options followed by searches under
random `hnsw.*`/`ivfflat.*` settings. An ERROR is a fine answer; what counts:

- a crash: the connection is lost (the server log then says "terminated by
  signal"; fuzz.sh checks it);
- an internal error: SQLSTATE class XX (a Rust panic is reported as XX000),
  no SQLSTATE, or "panicked" in the message: bad input without a clear error;
- an invalid output: a returned `vector` or `halfvec` that is not 1 to
  16,000 finite elements, or a `sparsevec` whose indices are not ascending
  within its dimensions or whose values are not finite and non-zero;
- a verify problem: hnsw_verify or ivfflat_verify finds something wrong in
  an index the inputs built (reported, not a failure: an HNSW graph with
  tiny lists, m = 4 and ef_construction = 8, can leave an element
  unreachable on layer 0 after many inserts, deletes and VACUUMs).

Connects through the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE);
`CREATE EXTENSION vector_ext` must have been run. Builds its tables in schema
`fuzz`. Inputs run in libpq pipeline mode, each statement followed by its own
Sync so each one is its own transaction and an error aborts only that input;
inputs of several statements run as BEGIN ... Sync, ROLLBACK, Sync. When
the connection is lost the inputs of that batch run again one at a time (a
dying backend loses answers it had not yet flushed), so the crash is pinned
on the input that causes it alone; a connection that stops answering for a
minute is given up the same way.

Input i is a pure function of (--seed, i): `--first i --count 1` replays it.
Prints each finding with its statements (repr) and ends with
`fuzz: N inputs, E errors (SQLSTATE: count, ...), C crashes, I internal errors`.
Exits 1 on any crash, internal error or invalid output.

A later type joins by adding its generators to GENERATORS, as halfvec and
sparsevec did.
"""
import argparse
import math
import random
import re
import select
import struct
import sys
import time
from collections import Counter, defaultdict

import psycopg
from psycopg import pq

MAX_DIM = 16_000
STATEMENT_TIMEOUT = "10s"
BATCH = 200                 # inputs per pipeline round trip
EXAMPLES_PER_FINDING = 3    # statements printed per distinct finding

# ---------------------------------------------------------------------------
# Values: numbers, literals, binary payloads

# Element tokens a literal may hold: valid numbers in every spelling strtof
# knows, the limits of float4, and things that are not numbers at all.
EDGE_TOKENS = [
    "0", "-0", "+0", "1", "-1", "+1", "00001", "1.", ".5", "-.5", "1e0", "1E+2", "1e-3",
    "3.4028235e38", "-3.4028235e38", "3.4028236e38", "3.5e38", "1e39", "-1e39", "1e308", "1e309",
    "1.1754944e-38", "1e-40", "1.4e-45", "1e-45", "7e-46", "1e-46", "1e-400", "-1e-400",
    "nan", "NaN", "-nan", "+nan", "inf", "-inf", "+inf", "Infinity", "-Infinity", "infinity", "INF",
    "infinit", "nanx", "0x10", "0x1p3", "1_000", "1,5", "1e", "e1", "1e+", "--1", "+-1", ".", "-", "+",
    "1.2.3", "١", "１", "½", "∞", "1\u00a0", "0" * 400 + "1", "1" + "0" * 60, "0." + "0" * 80 + "1",
    "9" * 50 + "e-50", "",
]

# Characters mutations insert: the literal's own alphabet, every space
# PostgreSQL knows and some it does not, and multi-byte UTF-8.
MUTATION_CHARS = list("0123456789[],.eE+-naifNI {}()'\"\\;") + [
    "\t", "\n", "\r", "\x0b", "\x0c", "\x01", "\x7f", "\u00a0", "\u3000", "\u2028", "é", "∞", "１", "\U0001f600",
]

# Float4 bit patterns worth sending in binary: NaNs, infinities, subnormals,
# signed zeros and the largest finite values.
EDGE_BITS = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x00000001,
    0x807FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0xFFFFFFFF,
]

INTS = [-2147483648, -2147483647, -65536, -1, 0, 1, 2, 3, 4, 7, 15, 16, 100, 1000, 1999, 2000, 2001,
        15999, 16000, 16001, 32767, 32768, 65535, 65536, 100000, 2147483646, 2147483647]


def sql_string(text):
    """A standard-conforming SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def dims(rng):
    """A dimension count: mostly small, sometimes large, sometimes a limit or past one."""
    roll = rng.random()
    if roll < 0.75:
        return rng.randint(1, 8)
    if roll < 0.93:
        return rng.randint(9, 2000)
    return rng.choice([0, 1999, 2000, 2001, 15999, 16000, 16001, 20000, 65535, 65536, 100000])


def number(rng):
    """One element's text: a plain number, a float4 limit or an edge token."""
    roll = rng.random()
    if roll < 0.4:
        return str(rng.randint(-1000, 1000))
    if roll < 0.75:
        x = rng.uniform(-1, 1) * 10 ** rng.randint(-45, 39)
        return rng.choice(["{!r}", "{:.3g}", "{:e}", "{:.9g}", "{:.1f}"]).format(x)
    return rng.choice(EDGE_TOKENS)


def space(rng):
    """Whitespace to pad a literal with, usually none."""
    if rng.random() < 0.8:
        return ""
    return "".join(rng.choice([" ", " ", "\t", "\n", "\r", "\x0b", "\x0c", "\u00a0"]) for _ in range(rng.randint(1, 3)))


def literal(rng, n=None, valid=False):
    """A vector literal of n elements (random when None). Large ones repeat a
    short pattern so that a 100,000-element literal costs little to build."""
    n = dims(rng) if n is None else n
    if n == 0:
        return "[" + space(rng) + "]"
    element = (lambda: str(rng.randint(-9, 9))) if valid else (lambda: space(rng) + number(rng) + space(rng))
    if n > 64:
        pattern = [e if len(e) < 16 else "1" for e in (element() for _ in range(8))]
        body = ",".join(pattern[i % 8] for i in range(n))
    else:
        body = ",".join(element() for _ in range(n))
    return space(rng) + "[" + body + "]" + space(rng)


def valid_vector(rng, n):
    """A valid vector literal of n elements whose values stress arithmetic."""
    if n > 64:
        # Large vectors repeat a short random pattern: cheap to build.
        pattern = valid_vector(rng, 8)[1:-1].split(",")
        return "[" + ",".join(pattern[i % 8] for i in range(n)) + "]"
    values = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.6:
            values.append(str(rng.randint(-5, 5)))
        elif roll < 0.8:
            values.append(repr(rng.uniform(-1, 1) * 10 ** rng.randint(-45, 38)))
        else:
            values.append(rng.choice(["3.4028235e38", "-3.4028235e38", "1e38", "1e-38", "1e-45", "-0", "0", "1e20"]))
    return "[" + ",".join(values) + "]"


def mutate_text(rng, text):
    """A few random edits: delete, insert, duplicate, swap, truncate, append."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        at = rng.randint(0, len(chars))
        if op == 0 and chars:
            del chars[min(at, len(chars) - 1)]
        elif op == 1:
            chars.insert(at, rng.choice(MUTATION_CHARS))
        elif op == 2 and chars:
            span = chars[at:at + rng.randint(1, 8)]
            chars[at:at] = span * rng.randint(1, 3)
        elif op == 3 and len(chars) > 1:
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
        elif op == 4:
            chars = chars[:at]
        elif op == 5:
            chars.extend(rng.choice(["]", "[", ",", ",]", "]]", "[1]", " x", "1", "e5", "\n"]))
        else:
            chars.insert(at, rng.choice(EDGE_TOKENS))
    return "".join(chars)


def wire(rng, n=None):
    """pgvector's binary format: uint16 dim, uint16 unused, dim x float4 bits."""
    n = rng.randint(1, 8) if n is None else n
    if n > 64:
        # Large payloads repeat a short random pattern: cheap to build.
        pattern = wire(rng, 8)[4:]
        return struct.pack(">HH", n & 0xFFFF, 0) + (pattern * (n // 8 + 1))[:4 * n]
    bits = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.7:
            bits.append(struct.unpack(">I", struct.pack(">f", rng.uniform(-1000, 1000)))[0])
        elif roll < 0.9:
            bits.append(rng.choice(EDGE_BITS))
        else:
            bits.append(rng.getrandbits(32))
    return struct.pack(f">HH{n}I", n & 0xFFFF, 0, *bits)


def mutate_bytes(rng, data):
    """A few random edits of a binary payload, often in its header."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        if op == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[rng.randint(0, len(data)):]
        elif op == 2:
            data.extend(rng.randbytes(rng.randint(1, 9)))
        elif op == 3 and len(data) >= 2:
            data[0:2] = struct.pack(">H", rng.choice([0, 1, 2, 3, 16000, 16001, 65535, rng.getrandbits(16)]))
        elif op == 4 and len(data) >= 4:
            data[2:4] = struct.pack(">H", rng.choice([1, 0x8000, 0xFFFF, rng.getrandbits(16)]))
        elif op == 5 and len(data) >= 8:
            at = 4 + 4 * rng.randrange((len(data) - 4) // 4)
            data[at:at + 4] = struct.pack(">I", rng.choice(EDGE_BITS))
        else:
            data = bytearray(rng.randbytes(rng.randint(0, 12)))
    return bytes(data)


def binary_array(rng, element_oid, elements, ndim=1):
    """array_recv's format: ndim, has-null flag, element type, (size, lower bound)
    per dimension, then each element as int32 length (-1: NULL) and bytes."""
    out = struct.pack(">iiI", ndim, int(any(e is None for e in elements)), element_oid)
    if ndim == 1:
        out += struct.pack(">ii", len(elements), rng.choice([1, 1, 1, 0, -5, 2147483647]))
    elif ndim > 1:
        out += struct.pack(">ii", 1, 1) * (ndim - 1) + struct.pack(">ii", len(elements), 1)
    for e in elements:
        out += struct.pack(">i", -1) if e is None else struct.pack(">i", len(e)) + e
    return out


# ---------------------------------------------------------------------------
# Inputs: a Case is one input, a list of steps run as one unit

class Step:
    """One statement: SQL and optional parameters (bytes, sent with an
    explicit type OID in text or binary format)."""
    __slots__ = ("sql", "params", "types", "formats", "result_format", "expect_no_rows")

    def __init__(self, sql, params=None, types=None, formats=None, result_format=0, expect_no_rows=False):
        self.sql = sql
        self.params = params
        self.types = types
        self.formats = formats
        self.result_format = result_format
        self.expect_no_rows = expect_no_rows

    def __repr__(self):
        if not self.params:
            return repr(self.sql)
        shown = [p if p is None or len(p) <= 200 else p[:200] + b"...(%d bytes)" % len(p) for p in self.params]
        return f"{self.sql!r} params={shown!r} formats={self.formats}"


class Case:
    """One fuzz input: its kind (the generator's name) and its steps. A case
    of one step runs alone; of several, inside BEGIN ... ROLLBACK. A COPY
    case sends `copy_data` to its single COPY statement."""
    __slots__ = ("kind", "steps", "copy_data")

    def __init__(self, kind, steps, copy_data=None):
        self.kind = kind
        self.steps = steps
        self.copy_data = copy_data


class Types:
    """OIDs looked up once: parameters are sent with their exact type."""
    vector = vector_array = halfvec = halfvec_array = sparsevec = 0


def one(kind, sql, **step):
    return Case(kind, [Step(sql, **step)])


def gen_text_literal(rng):
    """Random and mutated literals through vector_in, as a parameter or in the SQL."""
    text = literal(rng)
    if rng.random() < 0.6:
        text = mutate_text(rng, text)
    if rng.random() < 0.5:
        return one("text", "SELECT $1::vector", params=[text.encode()], types=[Types.vector], formats=[0],
                   result_format=rng.randrange(2))
    return one("text", f"SELECT {sql_string(text)}::vector")


def gen_binary(rng):
    """Random and mutated payloads through vector_recv, as a binary parameter."""
    roll = rng.random()
    payload = wire(rng, rng.choice([1, 2, 3, 5, 16, rng.randint(1, 40), 16000]) if roll < 0.95 else 0)
    if rng.random() < 0.7:
        payload = mutate_bytes(rng, payload)
    if rng.random() < 0.8:
        sql = rng.choice(["SELECT $1::vector", "SELECT vector_dims($1::vector)", "SELECT $1::vector::text",
                          "SELECT $1::vector <-> $1::vector", "SELECT l2_normalize($1::vector)"])
        return one("binary", sql, params=[payload], types=[Types.vector], formats=[1], result_format=rng.randrange(2))
    # An array of vectors: array_recv hands each element its own buffer.
    elements = [None if rng.random() < 0.1 else mutate_bytes(rng, wire(rng)) if rng.random() < 0.3 else wire(rng)
                for _ in range(rng.randint(0, 4))]
    array = binary_array(rng, rng.choice([Types.vector] * 9 + [700]), elements, ndim=rng.choice([1, 1, 1, 0, 2]))
    if rng.random() < 0.3:
        array = mutate_bytes(rng, array)
    return one("binary_array", "SELECT $1::vector[]", params=[array], types=[Types.vector_array], formats=[1],
               result_format=rng.randrange(2))


# float2 bit patterns at the edges: zeros, one, the largest finite, the
# smallest normal and subnormal, infinities and NaNs.
HALF_EDGE_BITS = [0x0000, 0x8000, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF, 0x0400, 0x0001, 0x83FF, 0x7C00, 0xFC00,
                  0x7E00, 0xFE00, 0x7C01, 0x7DFF, 0xFFFF]


def half_wire(rng, n=None):
    """pgvector's halfvec binary format: uint16 dim, uint16 unused, dim x float2 bits."""
    n = rng.randint(1, 8) if n is None else n
    halves = []
    for _ in range(min(n, 64)):
        roll = rng.random()
        if roll < 0.7:
            halves.append(struct.unpack(">H", struct.pack(">e", rng.uniform(-1000, 1000)))[0])
        elif roll < 0.9:
            halves.append(rng.choice(HALF_EDGE_BITS))
        else:
            halves.append(rng.getrandbits(16))
    body = struct.pack(f">{len(halves)}H", *halves)
    # Large payloads repeat the first 64 halves: cheap to build.
    return struct.pack(">HH", n & 0xFFFF, 0) + (body * (n // max(len(halves), 1) + 1))[:2 * n]


def gen_halfvec(rng):
    """halfvec_in and halfvec_recv: text literals and binary payloads, random and
    mutated, as parameters and in the SQL, and the casts to and from vector."""
    roll = rng.random()
    if roll < 0.45:
        text = literal(rng)
        if rng.random() < 0.6:
            text = mutate_text(rng, text)
        if rng.random() < 0.5:
            sql = rng.choice(["SELECT $1::halfvec", "SELECT $1::halfvec::vector", "SELECT $1::vector::halfvec",
                              "SELECT binary_quantize($1::halfvec)", "SELECT $1::halfvec + $1::halfvec"])
            return one("halfvec_text", sql, params=[text.encode()], types=[0], formats=[0], result_format=rng.randrange(2))
        mod = rng.choice(TYPMODS[:8])
        return one("halfvec_text", rng.choice([f"SELECT {sql_string(text)}::halfvec", f"SELECT {sql_string(text)}::halfvec({mod})",
                                                f"SELECT ARRAY[{text[1:-1] if len(text) > 1 else text}]::real[]::halfvec"]))
    if roll < 0.9:
        payload = half_wire(rng, rng.choice([1, 2, 3, 5, 16, rng.randint(1, 40), 16000]) if rng.random() < 0.95 else 0)
        if rng.random() < 0.7:
            payload = mutate_bytes(rng, payload)
        sql = rng.choice(["SELECT $1::halfvec", "SELECT vector_dims($1::halfvec)", "SELECT $1::halfvec::text",
                          "SELECT $1::halfvec <-> $1::halfvec", "SELECT l2_normalize($1::halfvec)",
                          "SELECT $1::halfvec::vector", "SELECT avg(h) FROM (VALUES ($1::halfvec), ($1::halfvec)) t(h)"])
        return one("halfvec_binary", sql, params=[payload], types=[Types.halfvec], formats=[1], result_format=rng.randrange(2))
    elements = [None if rng.random() < 0.1 else mutate_bytes(rng, half_wire(rng)) if rng.random() < 0.3 else half_wire(rng)
                for _ in range(rng.randint(0, 4))]
    array = binary_array(rng, rng.choice([Types.halfvec] * 9 + [Types.vector]), elements, ndim=rng.choice([1, 1, 1, 0, 2]))
    if rng.random() < 0.3:
        array = mutate_bytes(rng, array)
    return one("halfvec_array", "SELECT $1::halfvec[]", params=[array], types=[Types.halfvec_array], formats=[1],
               result_format=rng.randrange(2))


def sparse_literal(rng):
    """A sparsevec literal: random indices (sometimes 0, repeated or past the
    end), numbers and dimensions, with the odd edge token."""
    dim = rng.choice([1, 2, 5, 100, 16000, 1000000000, 1000000001, 0, -1, 2147483647, 2147483648])
    pairs = [f"{rng.choice([rng.randint(1, 6), rng.randint(-2, dim + 2), 0, 2147483648])}:{number(rng)}"
             for _ in range(rng.choice([0, 1, 2, 3, rng.randint(4, 30)]))]
    return "{" + ",".join(pairs) + "}/" + str(dim)


def sparse_wire(rng):
    """pgvector's sparsevec binary format: int32 dim, nnz, unused, indices, float4 values."""
    nnz = rng.choice([0, 1, 2, 3, rng.randint(4, 20)])
    dim = rng.choice([nnz, nnz + 1, 100, 1000000000, 1000000001, 0, -1])
    indices = sorted(rng.sample(range(max(dim, nnz, 1)), nnz)) if dim < 1000 else sorted(rng.sample(range(1000), nnz))
    values = [rng.choice(EDGE_BITS) if rng.random() < 0.2 else struct.unpack(">I", struct.pack(">f", rng.uniform(-9, 9)))[0]
              for _ in range(nnz)]
    return struct.pack(f">iii{nnz}i{nnz}I", dim, nnz, 0, *indices, *values)


def gen_sparsevec(rng):
    """sparsevec_in and sparsevec_recv: text and binary, random and mutated,
    and the casts to and from the dense types."""
    if rng.random() < 0.5:
        text = sparse_literal(rng)
        if rng.random() < 0.5:
            text = mutate_text(rng, text)
        sql = rng.choice(["SELECT {}::sparsevec", "SELECT {}::sparsevec::vector", "SELECT {}::sparsevec::halfvec",
                          "SELECT l2_normalize({}::sparsevec)", "SELECT {0}::sparsevec <=> {0}::sparsevec",
                          "SELECT {}::sparsevec(5)", "SELECT {}::sparsevec::text::sparsevec"])
        return one("sparsevec_text", sql.format(sql_string(text)), result_format=rng.randrange(2))
    payload = sparse_wire(rng)
    if rng.random() < 0.7:
        payload = mutate_bytes(rng, payload)
    sql = rng.choice(["SELECT $1::sparsevec", "SELECT $1::sparsevec::text", "SELECT $1::sparsevec <-> $1::sparsevec",
                      "SELECT $1::sparsevec::vector", "SELECT l2_norm($1::sparsevec)", "SELECT $1::sparsevec = $1::sparsevec"])
    return one("sparsevec_binary", sql, params=[payload], types=[Types.sparsevec], formats=[1], result_format=rng.randrange(2))


TYPMODS = ["-1", "0", "1", "2", "3", "5", "16000", "16001", "100000", "2147483647", "2147483648", "-2147483648",
           "1.5", "'3'", "' 3 '", "'3a'", "''", "'abc'", "abc", "1, 2", "3, 3", "NULL", "+3", "1e3", "0x10", ""]


def gen_typmod(rng):
    """vector(n) for odd n, casts between typmods, typmods on arrays and NULLs."""
    n = rng.randint(1, 5)
    text = sql_string(literal(rng, n, valid=True))
    mod, mod2 = rng.choice(TYPMODS), rng.choice(TYPMODS)
    sql = rng.choice([
        f"SELECT {text}::vector({mod})",
        f"SELECT CAST({text} AS vector({mod}))",
        f"SELECT ({text}::vector({mod}))::vector({mod2})",
        f"SELECT NULL::vector({mod})",
        f"SELECT ARRAY[{text}::vector, {text}::vector]::vector({mod})[]",
        f"SELECT '{{\"[1,2]\",\"[3,4,5]\"}}'::vector({mod})[]",
        f"SELECT ARRAY[{', '.join(str(rng.randint(-3, 3)) for _ in range(n))}]::vector({mod})",
        f"SELECT format_type('vector'::regtype, {rng.choice(INTS)})",
        f"SELECT vector({text}::vector, {rng.choice(INTS)}, {rng.choice(['true', 'false'])})",
        f"SELECT {text}::vector({mod})::real[]",
    ])
    if rng.random() < 0.05:
        # A column with the typmod: the assignment path, inside a rolled-back transaction.
        return Case("typmod_column", [Step(f"CREATE TEMP TABLE fuzz_typmod (v vector({mod}))"),
                                      Step(f"INSERT INTO fuzz_typmod VALUES ({text}), ({sql_string(literal(rng, valid=True))})"),
                                      Step("SELECT v, v::text FROM fuzz_typmod")])
    return one("typmod", sql)


ARRAY_ELEMENTS = ["NULL", "'NaN'", "'Infinity'", "'-Infinity'", "'1e39'", "'1e400'", "'-1e400'", "'1e-50'",
                  "'99999999999'", "2147483647", "-2147483648", "0", "-0", "1.5", "3.4028235e38", "'1e-46'"]


def array_element(rng):
    roll = rng.random()
    if roll < 0.75:
        return str(rng.randint(-100, 100)) if rng.random() < 0.5 else repr(rng.uniform(-100, 100))
    return rng.choice(ARRAY_ELEMENTS)


def gen_array_cast(rng):
    """integer[], real[], double precision[], numeric[] (and others) to vector, and back."""
    element_type = rng.choice(["integer", "real", "double precision", "numeric"] * 4 + ["smallint", "bigint", "text", "float4"])
    n = rng.choice([0, 1, 2, 3, 4, 5, rng.randint(1, 30)])
    elements = ", ".join(f"{array_element(rng)}::{element_type}" for _ in range(n))
    typmod = rng.choice(["", "", "", "(3)", f"({rng.choice(TYPMODS)})"])
    big = rng.choice([15999, 16000, 16001, 20000, 100000])
    text_elements = ",".join(array_element(rng).strip("'") for _ in range(n))
    sql = rng.choice([
        f"SELECT ARRAY[{elements}]::{element_type}[]::vector{typmod}",
        f"SELECT '{{{text_elements}}}'::{element_type}[]::vector{typmod}",
        f"SELECT '{{{{1,2}},{{3,4}}}}'::{element_type}[]::vector",
        f"SELECT '{{{{}}}}'::{element_type}[]::vector",
        f"SELECT '[0:2]={{1,2,3}}'::{element_type}[]::vector",
        f"SELECT '[-2147483648:-2147483646]={{1,2,3}}'::{element_type}[]::vector",
        f"SELECT array_fill(1::{element_type}, ARRAY[{big}])::vector",
        f"SELECT array_fill(1::{element_type}, ARRAY[{rng.randint(1, 3)}, {rng.randint(1, 3)}])::vector",
        f"SELECT array_fill(1::{element_type}, ARRAY[{rng.randint(1, 3)}], ARRAY[{rng.choice(INTS)}])::vector",
        f"SELECT array_to_vector(ARRAY[{elements}]::{element_type}[], {rng.choice(INTS)}, {rng.choice(['true', 'false'])})",
        f"SELECT ARRAY[{elements}]::{element_type}[]::vector::real[]",
        f"SELECT {sql_string(literal(rng, valid=True))}::vector::real[]::vector{typmod}",
        f"SELECT vector_to_float4({sql_string(literal(rng, valid=True))}, {rng.choice(INTS)}, true)",
        "INSERT",
    ])
    if sql == "INSERT":
        # The assignment cast, rolled back with the rest of the case.
        return Case("array_cast", [Step(f"INSERT INTO fuzz.free (id, v) VALUES (-1, ARRAY[{elements}]::{element_type}[]) RETURNING v"),
                                   Step("SELECT count(*) FROM fuzz.free")])
    return one("array_cast", sql)


def vector_expr(rng, n):
    """A valid vector of n elements as SQL: usually a literal, sometimes built
    from an array (16,000 elements), NULL, or a row of a table."""
    roll = rng.random()
    if roll < 0.9:
        return sql_string(valid_vector(rng, n)) + "::vector"
    if roll < 0.94:
        return f"array_fill({rng.choice(['1', '-1', '0', '3e38', '1e-45'])}::real, ARRAY[{n}])::vector"
    if roll < 0.97:
        return "NULL::vector"
    return "(SELECT v FROM fuzz.d3 ORDER BY id LIMIT 1)"


BINARY_OPERATORS = ["<->", "<#>", "<=>", "<+>", "+", "-", "*", "||", "<", "<=", "=", "<>", ">=", ">"]
BINARY_FUNCTIONS = ["l2_distance", "inner_product", "cosine_distance", "l1_distance", "vector_cmp",
                    "vector_l2_squared_distance", "vector_negative_inner_product", "vector_add", "vector_sub",
                    "vector_mul", "vector_concat", "vector_lt", "vector_eq", "vector_gt"]
UNARY_FUNCTIONS = ["vector_dims", "vector_norm", "l2_normalize", "vector_send", "vector_out"]


def float8_array(rng):
    """A float8[] for the aggregate support functions: odd lengths and values."""
    roll = rng.random()
    if roll < 0.15:
        return f"array_fill({rng.choice(['0', '1', '2'])}::float8, ARRAY[{rng.choice([16000, 16001, 16002, 70000])}])"
    if roll < 0.2:
        return "'{{1,2},{3,4}}'::float8[]"
    values = [rng.choice(["0", "1", "2", "-1", "0.5", "NaN", "Infinity", "-Infinity", "1e308", "-1e308", "NULL",
                          "3.4e38", "1e-320", str(rng.randint(-10, 10))]) for _ in range(rng.randint(0, 6))]
    return f"ARRAY[{', '.join(values)}]::float8[]"


def gen_function(rng):
    """Functions and operators on valid but awkward arguments."""
    n = rng.choice([1, 2, 3, 3, 4, 16, rng.randint(1, 100), 16000]) if rng.random() < 0.97 else 16000
    m = n if rng.random() < 0.8 else rng.randint(1, 5)
    a, b = vector_expr(rng, n), vector_expr(rng, m)
    roll = rng.randrange(10)
    if roll < 3:
        sql = f"SELECT {a} {rng.choice(BINARY_OPERATORS)} {b}"
    elif roll < 5:
        sql = f"SELECT {rng.choice(BINARY_FUNCTIONS)}({a}, {b})"
    elif roll < 6:
        sql = f"SELECT {rng.choice(UNARY_FUNCTIONS)}({a})"
    elif roll < 7:
        bounds = lambda: rng.choice(INTS + [n, n + 1, n - 1, -n, rng.randint(-5, n + 5)])
        sql = f"SELECT subvector({a}, {bounds()}, {bounds()})"
    elif roll < 8:
        rows = ", ".join(f"({vector_expr(rng, n if rng.random() < 0.9 else m)})" for _ in range(rng.randint(1, 5)))
        sql = rng.choice([f"SELECT avg(v), sum(v) FROM (VALUES {rows}) t(v)",
                          f"SELECT v, count(*) FROM (VALUES {rows}) t(v) GROUP BY v ORDER BY v",
                          f"SELECT DISTINCT v FROM (VALUES {rows}) t(v)",
                          f"SELECT min(v), max(v) FROM (VALUES {rows}) t(v)"])
    elif roll < 9:
        # The aggregates' support functions, called directly with any float8[].
        sql = rng.choice([f"SELECT vector_accum({float8_array(rng)}, {a})",
                          f"SELECT vector_avg({float8_array(rng)})",
                          f"SELECT vector_combine({float8_array(rng)}, {float8_array(rng)})"])
    else:
        # The verify functions on relations that are not their index.
        target = rng.choice(["'pg_class'::regclass", "'pg_class_oid_index'::regclass", "'fuzz.d3'::regclass",
                             "'fuzz.d3_pkey'::regclass", "'fuzz.vac_hnsw'::regclass", "'fuzz.vac_ivfflat'::regclass", "'fuzz.vac_sparse_hnsw'::regclass",
                             "0", "1", "4294967295", "NULL", "'fuzz.d3_id_seq'::regclass", "'pg_tables'::regclass"])
        sql = f"SELECT * FROM {rng.choice(['hnsw_verify', 'ivfflat_verify'])}({target})"
        if "vac_" in target and rng.random() < 0.7:
            # Each verify on its own index must find nothing (the table only ever sees ordinary DML).
            verify = "hnsw_verify" if "hnsw" in target else "ivfflat_verify"
            return one("verify", f"SELECT * FROM {verify}({target})", expect_no_rows=True)
    return one("function", sql)


# Tables the index inputs build on: name -> (dimensions or None, rows).
INDEX_TABLES = {"fuzz.d3": 3, "fuzz.d1": 1, "fuzz.d16": 16, "fuzz.d2000": 2000, "fuzz.empty": 4, "fuzz.free": None}
OPCLASSES = {"hnsw": ["vector_l2_ops", "vector_ip_ops", "vector_cosine_ops", "vector_l1_ops"],
             "ivfflat": ["vector_l2_ops", "vector_ip_ops", "vector_cosine_ops"]}
ALL_OPCLASSES = ["vector_l2_ops", "vector_ip_ops", "vector_cosine_ops", "vector_l1_ops", "vector_ops", ""]
OPERATOR_OF = {"vector_l2_ops": "<->", "vector_ip_ops": "<#>", "vector_cosine_ops": "<=>", "vector_l1_ops": "<+>"}
OPTION_VALUES = ["-1", "0", "1", "2", "3", "4", "8", "16", "32", "64", "100", "101", "999", "1000", "1001",
                 "32768", "32769", "2147483647", "2147483648", "1.5", "'7'", "'abc'", "true", "''"]
SETTINGS = {
    "hnsw.ef_search": ["0", "1", "2", "10", "40", "1000", "1001", "-1"],
    "hnsw.iterative_scan": ["off", "strict_order", "relaxed_order", "bogus", "on"],
    "hnsw.max_scan_tuples": ["0", "1", "2", "100", "20000", "2147483647"],
    "ivfflat.probes": ["0", "1", "2", "3", "10", "100", "32768", "32769"],
    "ivfflat.iterative_scan": ["off", "relaxed_order", "strict_order"],
    "ivfflat.max_probes": ["0", "1", "2", "32768", "32769"],
    "maintenance_work_mem": ["'1MB'", "'64kB'", "'64MB'"],
    "enable_seqscan": ["off", "off", "on"],
    "enable_indexscan": ["on", "on", "off"],
}


def gen_index(rng):
    """CREATE INDEX with random options, then inserts and a search under random settings."""
    table = rng.choice(["fuzz.d3"] * 6 + ["fuzz.d1"] * 2 + ["fuzz.d16"] * 2 + ["fuzz.empty", "fuzz.free", "fuzz.d2000"])
    n = INDEX_TABLES[table] or rng.randint(1, 4)
    am = rng.choice(["hnsw"] * 12 + ["ivfflat"] * 7 + ["btree"])
    opclass = rng.choice(OPCLASSES.get(am, ["vector_ops"])) if rng.random() < 0.9 else rng.choice(ALL_OPCLASSES)
    names = ["m", "ef_construction"] if am == "hnsw" else ["lists"]
    # k-means costs lists x rows x dimensions: at 2,000 dimensions only small lists.
    values = OPTION_VALUES if table != "fuzz.d2000" else [v for v in OPTION_VALUES if len(v) < 3]
    options = [f"{name} = {rng.choice(values)}" for name in names if rng.random() < 0.6]
    if rng.random() < 0.05:
        options.append(f"{rng.choice(['lists', 'm', 'fillfactor', 'bogus'])} = {rng.choice(OPTION_VALUES)}")
    # The typmod-less table needs an expression index to have dimensions.
    expression = "v" if table != "fuzz.free" or rng.random() < 0.3 else f"(v::vector({n}))"
    column = expression if expression == "v" else f"({expression})"
    with_clause = f" WITH ({', '.join(options)})" if options else ""
    where = rng.choice(["", "", "", " WHERE id % 2 = 0", " INCLUDE (id)"])
    steps = []
    for name in rng.sample(sorted(SETTINGS), rng.randint(0, 4)):
        steps.append(Step(f"SET LOCAL {name} = {rng.choice(SETTINGS[name])}"))
    steps.append(Step(f"CREATE INDEX fuzz_index ON {table} USING {am} ({column} {opclass}){where}{with_clause}"))
    if rng.random() < 0.4:
        rows = ", ".join(f"({100000 + i}, {sql_string(valid_vector(rng, n if rng.random() < 0.95 else n + 1))})"
                         for i in range(rng.randint(1, 20)))
        steps.append(Step(f"INSERT INTO {table} (id, v) VALUES {rows}"))
    if rng.random() < 0.2:
        steps.append(Step(f"DELETE FROM {table} WHERE id % {rng.randint(2, 5)} = 0"))
    operator = OPERATOR_OF.get(opclass, "<->") if rng.random() < 0.85 else rng.choice(list(OPERATOR_OF.values()))
    query = rng.choice([sql_string(valid_vector(rng, n if rng.random() < 0.9 else rng.randint(1, 5))),
                        sql_string("[" + ",".join(["0"] * n) + "]"), "NULL", "(SELECT v FROM " + table + " LIMIT 1)"])
    limit = rng.choice(["1", "5", "10", "100", "0", "ALL", "2147483647"])
    filter_ = rng.choice(["", "", f"WHERE id % {rng.randint(2, 50)} = 0 "])
    steps.append(Step(f"SELECT id, {expression} {operator} {query}::vector FROM {table} {filter_}"
                      f"ORDER BY {expression} {operator} {query}::vector LIMIT {limit}"))
    if am in ("hnsw", "ivfflat") and rng.random() < 0.3:
        steps.append(Step(f"SELECT * FROM {am}_verify('fuzz_index')", expect_no_rows=True))
    return Case("index", steps)


BIT_OPCLASSES = {"hnsw": ["bit_hamming_ops", "bit_jaccard_ops"], "ivfflat": ["bit_hamming_ops"]}
BIT_OPERATOR_OF = {"bit_hamming_ops": "<~>", "bit_jaccard_ops": "<%>"}


def gen_bit_index(rng):
    """An index on the bits of a table's vectors (pgvector's binary
    quantization recipe), then inserts and a search whose query bits may
    have another length than the index's."""
    table = rng.choice(["fuzz.d3"] * 4 + ["fuzz.d16"] * 3 + ["fuzz.d2000", "fuzz.empty"])
    n = INDEX_TABLES[table]
    bits = n if rng.random() < 0.8 else rng.choice([1, n + 1, 64, 64_000, 64_001])
    am = rng.choice(["hnsw"] * 3 + ["ivfflat"] * 2)
    opclass = rng.choice(BIT_OPCLASSES[am]) if rng.random() < 0.9 else rng.choice(["bit_jaccard_ops", "vector_l2_ops", "bit_ops"])
    expression = f"(binary_quantize(v)::bit({bits}))"
    options = " WITH (m = 4, ef_construction = 8)" if am == "hnsw" else f" WITH (lists = {rng.choice([1, 5, 50])})"
    steps = [Step(f"SET LOCAL {name} = {rng.choice(SETTINGS[name])}") for name in rng.sample(sorted(SETTINGS), rng.randint(0, 3))]
    steps.append(Step(f"CREATE INDEX fuzz_index ON {table} USING {am} ({expression} {opclass}){options}"))
    if rng.random() < 0.4:
        rows = ", ".join(f"({100000 + i}, {sql_string(valid_vector(rng, n))})" for i in range(rng.randint(1, 20)))
        steps.append(Step(f"INSERT INTO {table} (id, v) VALUES {rows}"))
    operator = BIT_OPERATOR_OF.get(opclass, "<~>") if rng.random() < 0.9 else rng.choice(["<~>", "<%>"])
    length = bits if rng.random() < 0.8 else rng.randint(1, min(bits, 100) + 2)
    query = rng.choice([f"B'{''.join(rng.choice('01') for _ in range(length))}'", "NULL::bit", f"binary_quantize((SELECT v FROM {table} LIMIT 1))"])
    steps.append(Step(f"SELECT id FROM {table} ORDER BY {expression} {operator} {query} LIMIT {rng.choice(['1', '10', 'ALL'])}"))
    if rng.random() < 0.3:
        steps.append(Step(f"SELECT * FROM {am}_verify('fuzz_index')", expect_no_rows=True))
    return Case("bit_index", steps)


SPARSE_OPCLASSES = ["sparsevec_l2_ops", "sparsevec_ip_ops", "sparsevec_cosine_ops", "sparsevec_l1_ops"]
SPARSE_OPERATOR_OF = dict(zip(SPARSE_OPCLASSES, ["<->", "<#>", "<=>", "<+>"]))


def gen_sparse_index(rng):
    """An hnsw index on a table's vectors cast to sparsevec (its zeros
    dropped, keys of their own lengths), then inserts, deletes with VACUUM
    (freed slots taken by shorter keys) and a search whose query may have
    other dimensions than the index's."""
    table = rng.choice(["fuzz.d3"] * 4 + ["fuzz.d16"] * 3 + ["fuzz.d2000", "fuzz.empty"])
    n = INDEX_TABLES[table]
    dims = n if rng.random() < 0.9 else rng.choice([1, n + 1, 1000000000])
    am = "hnsw" if rng.random() < 0.9 else "ivfflat"
    opclass = rng.choice(SPARSE_OPCLASSES) if rng.random() < 0.9 else rng.choice(["vector_l2_ops", "sparsevec_ops", "bit_hamming_ops"])
    expression = f"(v::sparsevec({dims}))"
    steps = [Step(f"SET LOCAL {name} = {rng.choice(SETTINGS[name])}") for name in rng.sample(sorted(SETTINGS), rng.randint(0, 3))]
    steps.append(Step(f"CREATE INDEX fuzz_index ON {table} USING {am} ({expression} {opclass}) WITH (m = 4, ef_construction = 8)"))
    if rng.random() < 0.4:
        rows = ", ".join(f"({100000 + i}, {sql_string(valid_vector(rng, n))})" for i in range(rng.randint(1, 20)))
        steps.append(Step(f"INSERT INTO {table} (id, v) VALUES {rows}"))
    operator = SPARSE_OPERATOR_OF.get(opclass, "<->") if rng.random() < 0.9 else rng.choice(list(SPARSE_OPERATOR_OF.values()))
    query = rng.choice([sql_string(sparse_literal(rng)), "NULL::sparsevec", f"(SELECT v FROM {table} LIMIT 1)::sparsevec",
                        sql_string("{}/" + str(dims))])
    steps.append(Step(f"SELECT id FROM {table} ORDER BY {expression} {operator} {query} LIMIT {rng.choice(['1', '10', 'ALL'])}"))
    if rng.random() < 0.3:
        steps.append(Step(f"SELECT * FROM {am}_verify('fuzz_index')", expect_no_rows=True))
    return Case("sparse_index", steps)


# Filter columns as expressions of the rows' ids: (SQL expression, conditions
# on it, each an operator and a right-hand side), with edge values.
FILTER_COLUMNS = [
    ("(id % 7)", ["=", "<", "<=", ">", ">=", "= ANY", "IN"], ["3", "0", "-1", "NULL", "9223372036854775807", "3::int2", "3::int8",
                                                            "'{1,2,3}'::int[]", "'{}'::int[]", "'{NULL,2}'::int8[]", "$$x$$"]),
    ("((id % 5)::int2)", ["=", "<", ">=", "= ANY"], ["2", "32767", "-32768", "2::int8", "'{1,4}'::int2[]", "NULL"]),
    ("((id % 11)::int8 * 1000000000000)", ["=", ">", "<=", "= ANY"], ["0", "-9223372036854775808", "2000000000000", "'{0,1}'::int8[]"]),
    ("((id % 4)::text)", ["=", "= ANY", "IN", "<"], ["'1'", "''", "NULL", "'{1,2}'::text[]", "'{}'::text[]", "1"]),
    ("(ARRAY[id % 6, id % 9])", ["&&", "@>", "="], ["'{1}'::int[]", "'{}'::int[]", "'{1,NULL}'::int[]", "ARRAY[1,2]", "'{1}'::int8[]", "NULL"]),
]


def gen_filter_index(rng):
    """An hnsw or ivfflat index with filter columns (integers, text, an
    integer array: expressions of the ids), then inserts and deletes, and a
    search under random conditions on them, edge values included."""
    table = rng.choice(["fuzz.d3"] * 4 + ["fuzz.d16"] * 3 + ["fuzz.empty"])
    n = INDEX_TABLES[table]
    am = rng.choice(["hnsw"] * 3 + ["ivfflat"] * 2)
    columns = rng.sample(FILTER_COLUMNS, rng.randint(1, 3))
    extra = [] if rng.random() < 0.9 else [rng.choice(["v", "(v::text)", "(id::numeric)", "(ARRAY[id::text])"])]
    keys = ", ".join([f"v {rng.choice(OPCLASSES[am])}"] + [c for c, _, _ in columns] + extra)
    options = " WITH (m = 4, ef_construction = 8)" if am == "hnsw" else f" WITH (lists = {rng.choice([1, 5, 50])})"
    steps = [Step(f"SET LOCAL {name} = {rng.choice(SETTINGS[name])}") for name in rng.sample(sorted(SETTINGS), rng.randint(0, 3))]
    steps.append(Step(f"CREATE INDEX fuzz_index ON {table} USING {am} ({keys}){options}"))
    if rng.random() < 0.4:
        rows = ", ".join(f"({100000 + i}, {sql_string(valid_vector(rng, n))})" for i in range(rng.randint(1, 20)))
        steps.append(Step(f"INSERT INTO {table} (id, v) VALUES {rows}"))
    if rng.random() < 0.2:
        steps.append(Step(f"DELETE FROM {table} WHERE id % {rng.randint(2, 5)} = 0"))
    conditions = []
    for column, operators, values in rng.sample(columns, rng.randint(0, len(columns))):
        operator, value = rng.choice(operators), rng.choice(values)
        if operator == "IN":
            conditions.append(f"{column} IN ({', '.join(rng.choice(values) for _ in range(rng.randint(1, 3)))})")
        elif operator == "= ANY":
            conditions.append(f"{column} = ANY({value})")
        else:
            conditions.append(f"{column} {operator} {value}")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    query = rng.choice([sql_string(valid_vector(rng, n)), "NULL", f"(SELECT v FROM {table} LIMIT 1)"])
    steps.append(Step(f"SELECT id FROM {table} {where}ORDER BY v <-> {query}::vector LIMIT {rng.choice(['1', '10', 'ALL'])}"))
    if rng.random() < 0.3:
        steps.append(Step(f"SELECT * FROM {am}_verify('fuzz_index')", expect_no_rows=True))
    return Case("filter_index", steps)


def valid_sparse(rng, dims):
    """A valid sparsevec literal of `dims` dimensions, 0 to `dims` non-zeros."""
    indices = sorted(rng.sample(range(1, dims + 1), rng.randint(0, dims)))
    return "{" + ",".join(f"{i}:{rng.choice([1, -1]) * rng.uniform(0.01, 10):.4g}" for i in indices) + f"}}/{dims}"


def gen_stateful(rng):
    """Ordinary DML, VACUUM and searches on long-lived indexed tables, one
    statement each: vector(3) under hnsw and ivfflat, sparsevec(8) (keys of
    0 to 8 non-zeros, whose freed slots shorter ones take) under hnsw."""
    table = rng.choice(["fuzz.vac", "fuzz.vac_ivf", "fuzz.vac_sparse"])
    sparse = table == "fuzz.vac_sparse"
    key = (lambda: valid_sparse(rng, 8)) if sparse else (lambda: valid_vector(rng, 3 if rng.random() < 0.95 else 2))
    roll = rng.random()
    if roll < 0.4:
        rows = ", ".join(f"({sql_string(valid_sparse(rng, 8) if sparse else valid_vector(rng, 3))})" for _ in range(rng.randint(1, 10)))
        sql = f"INSERT INTO {table} (v) VALUES {rows}"
    elif roll < 0.6:
        sql = f"DELETE FROM {table} WHERE id % {rng.randint(2, 7)} = {rng.randint(0, 1)} AND random() < 0.5"
    elif roll < 0.65:
        sql = f"VACUUM {table}"
    elif roll < 0.7:
        sql = f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT greatest(0, (SELECT count(*) FROM {table}) - 500))"
    else:
        operator = rng.choice(list(OPERATOR_OF.values())[:3])
        sql = (f"SELECT id FROM {table} ORDER BY v {operator} {sql_string(key())}"
               f" LIMIT {rng.choice([1, 10, 100])}")
    return one("stateful", sql)


def copy_stream(rng, fields):
    """A binary COPY stream: signature, flags, header extension, tuples of one field, trailer."""
    out = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    for field in fields:
        out += struct.pack(">h", 1) + (struct.pack(">i", -1) if field is None else struct.pack(">i", len(field)) + field)
    return out + struct.pack(">h", -1)


def gen_copy(rng):
    """Binary COPY into vector, vector(3) and vector[] columns: vector_recv with the column's typmod."""
    table = rng.choice(["fuzz.copy_any", "fuzz.copy_3", "fuzz.copy_arr"])
    fields = []
    for _ in range(rng.randint(1, 5)):
        if table == "fuzz.copy_arr":
            field = binary_array(rng, Types.vector, [wire(rng, 3) for _ in range(rng.randint(0, 3))])
        else:
            field = wire(rng, 3 if rng.random() < 0.7 else rng.randint(1, 6))
        if rng.random() < 0.5:
            field = mutate_bytes(rng, field)
        fields.append(None if rng.random() < 0.05 else field)
    data = copy_stream(rng, fields)
    if rng.random() < 0.1:
        data = mutate_bytes(rng, data)
    return Case("copy", [Step(f"COPY {table} (v) FROM STDIN (FORMAT binary)")], copy_data=data)


# (weight, generator): the share of inputs each one makes.
GENERATORS = [
    (30, gen_text_literal),
    (20, gen_binary),
    (10, gen_typmod),
    (15, gen_array_cast),
    (20, gen_function),
    (1.5, gen_index),
    (1, gen_bit_index),
    (1, gen_sparse_index),
    (1, gen_filter_index),
    (2, gen_stateful),
    (0.5, gen_copy),
    (15, gen_halfvec),
    (15, gen_sparsevec),
]


def make_case(seed, index, generators=GENERATORS):
    """Input `index` of the run with `seed`, independent of every other input."""
    rng = random.Random(seed * 1_000_003 + index)
    roll = rng.random() * sum(w for w, _ in generators)
    for weight, generator in generators:
        roll -= weight
        if roll < 0:
            break
    return generator(rng)


# ---------------------------------------------------------------------------
# Running the inputs

SETUP = """
DROP SCHEMA IF EXISTS fuzz CASCADE;
CREATE SCHEMA fuzz;
SELECT setseed(0.42);
CREATE TABLE fuzz.d3 (id int PRIMARY KEY, v vector(3));
INSERT INTO fuzz.d3 SELECT i, CASE WHEN i % 50 = 0 THEN '[0,0,0]' WHEN i % 7 = 0 THEN '[1,1,1]'
    ELSE ARRAY[floor(random() * 10), floor(random() * 10), random()]::vector END FROM generate_series(1, 300) i;
CREATE TABLE fuzz.d1 (id int PRIMARY KEY, v vector(1));
INSERT INTO fuzz.d1 SELECT i, ARRAY[i % 10]::vector FROM generate_series(1, 60) i;
CREATE TABLE fuzz.d16 (id int PRIMARY KEY, v vector(16));
INSERT INTO fuzz.d16 SELECT i, ARRAY(SELECT random() - 0.5 + 0 * i FROM generate_series(1, 16)) FROM generate_series(1, 500) i;
CREATE TABLE fuzz.d2000 (id int PRIMARY KEY, v vector(2000));
INSERT INTO fuzz.d2000 SELECT i, ARRAY(SELECT ((i * j) % 7)::real FROM generate_series(1, 2000) j) FROM generate_series(1, 40) i;
CREATE TABLE fuzz.empty (id int PRIMARY KEY, v vector(4));
CREATE TABLE fuzz.free (id int PRIMARY KEY, v vector);
INSERT INTO fuzz.free SELECT i, ARRAY(SELECT j FROM generate_series(1, 1 + i % 4) j)::vector FROM generate_series(1, 40) i;
CREATE TABLE fuzz.vac (id serial PRIMARY KEY, v vector(3));
CREATE TABLE fuzz.vac_ivf (id serial PRIMARY KEY, v vector(3));
INSERT INTO fuzz.vac (v) SELECT ARRAY[random(), random(), random()] FROM generate_series(1, 300);
INSERT INTO fuzz.vac_ivf (v) SELECT ARRAY[random(), random(), random()] FROM generate_series(1, 300);
CREATE INDEX vac_hnsw ON fuzz.vac USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8);
CREATE INDEX vac_ivfflat ON fuzz.vac_ivf USING ivfflat (v vector_l2_ops) WITH (lists = 5);
CREATE TABLE fuzz.vac_sparse (id serial PRIMARY KEY, v sparsevec(8));
INSERT INTO fuzz.vac_sparse (v) SELECT ARRAY(SELECT CASE WHEN random() < 0.5 THEN 0 ELSE random() END FROM generate_series(1, 8 + 0 * i))::vector
  FROM generate_series(1, 300) i;
CREATE INDEX vac_sparse_hnsw ON fuzz.vac_sparse USING hnsw (v sparsevec_l2_ops) WITH (m = 4, ef_construction = 8);
CREATE TABLE fuzz.copy_any (v vector);
CREATE TABLE fuzz.copy_3 (v vector(3));
CREATE TABLE fuzz.copy_arr (v vector[]);
"""


def connect():
    # Empty conninfo: libpq reads the PG* environment.
    conn = psycopg.connect("", autocommit=True)
    conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
    conn.execute("SET client_min_messages = error")
    conn.execute("SET search_path = fuzz, public")
    return conn


def reconnect(deadline=120):
    """A new connection once the server accepts them again (after a crash it
    restarts every backend and replays the WAL first)."""
    # Give the postmaster time to notice the crash: a connection made before
    # it does would be terminated with the others.
    time.sleep(1)
    stop = time.monotonic() + deadline
    while True:
        try:
            return connect()
        except psycopg.OperationalError:
            if time.monotonic() > stop:
                raise
            time.sleep(0.5)


class Outcome:
    """What one case came to: ok, an error with SQLSTATE, or a finding."""
    __slots__ = ("sqlstate", "message", "finding")

    def __init__(self, sqlstate=None, message="", finding=None):
        self.sqlstate = sqlstate
        self.message = message
        self.finding = finding  # None, "crash", "internal", "invalid output", "verify problem", "timeout"


FLOAT_EXPONENT = 0x7F800000
HALF_EXPONENT = 0x7C00


def check_vector_text(text):
    """None when `text` is a valid vector's output, else what is wrong with it."""
    if not (text.startswith("[") and text.endswith("]")):
        return f"not bracketed: {text[:80]!r}"
    parts = text[1:-1].split(",")
    if not 1 <= len(parts) <= MAX_DIM:
        return f"{len(parts) if text != '[]' else 0} dimensions: {text[:80]!r}"
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return f"unparsable element in {text[:80]!r}"
    if not all(math.isfinite(x) and abs(x) <= 3.4028235e38 for x in values):
        return f"non-finite element in {text[:80]!r}"
    return None


def check_vector_binary(data, element_bytes=4):
    """None when `data` is a valid vector's (element_bytes 4) or halfvec's
    (2) binary output, else what is wrong."""
    if len(data) < 4:
        return f"{len(data)} bytes"
    dim, unused = struct.unpack(">HH", data[:4])
    if not 1 <= dim <= MAX_DIM or unused != 0 or len(data) != 4 + element_bytes * dim:
        return f"header dim {dim} unused {unused} in {len(data)} bytes"
    code, exponent = ("I", FLOAT_EXPONENT) if element_bytes == 4 else ("H", HALF_EXPONENT)
    bits = struct.unpack(f">{dim}{code}", data[4:])
    if any(b & exponent == exponent for b in bits):
        return "non-finite element"
    return None


def check_sparsevec(value, binary):
    """None when `value` is a valid sparsevec output (text or binary), else what is wrong."""
    if binary:
        if len(value) < 12:
            return f"{len(value)} bytes"
        dim, nnz, unused = struct.unpack(">iii", value[:12])
        if not 1 <= dim <= 1_000_000_000 or not 0 <= nnz <= min(dim, MAX_DIM) or unused or len(value) != 12 + 8 * nnz:
            return f"header dim {dim} nnz {nnz} unused {unused} in {len(value)} bytes"
        indices = struct.unpack(f">{nnz}i", value[12:12 + 4 * nnz])
        values = struct.unpack(f">{nnz}f", value[12 + 4 * nnz:])
        indices = [i + 1 for i in indices]
    else:
        text = value.decode(errors="replace")
        try:
            body, dim = text.split("/")
            dim = int(dim)
            pairs = [p.split(":") for p in body[1:-1].split(",")] if body != "{}" else []
            indices = [int(i) for i, _ in pairs]
            values = [float(v) for _, v in pairs]
        except ValueError:
            return f"unparsable {text[:80]!r}"
        if not (body.startswith("{") and body.endswith("}")) or not 1 <= dim <= 1_000_000_000:
            return f"malformed {text[:80]!r}"
    if any(not 1 <= i <= dim for i in indices) or any(a >= b for a, b in zip(indices, indices[1:])):
        return "indices out of order or out of bounds"
    if not all(math.isfinite(x) and x != 0 for x in values):
        return "a zero or non-finite value"
    return None


def check_result(result, step):
    """Checks a successful result: every vector column, and the verify
    functions' empty answers. None, or (finding, what is wrong)."""
    if step.expect_no_rows and result.ntuples:
        first = [(result.get_value(0, c) or b"").decode(errors="replace") for c in range(result.nfields)]
        return "verify problem", f"{result.ntuples} problems, first {' '.join(first)}"
    for column in range(result.nfields):
        if result.ftype(column) == Types.sparsevec:
            for row in range(result.ntuples):
                value = result.get_value(row, column)
                problem = value is not None and check_sparsevec(value, result.fformat(column))
                if problem:
                    return "invalid output", f"column {column}: {problem}"
            continue
        if result.ftype(column) not in (Types.vector, Types.halfvec):
            continue
        element_bytes = 4 if result.ftype(column) == Types.vector else 2
        for row in range(result.ntuples):
            value = result.get_value(row, column)
            if value is None:
                continue
            problem = (check_vector_binary(value, element_bytes) if result.fformat(column)
                       else check_vector_text(value.decode(errors="replace")))
            if problem:
                return "invalid output", f"column {column}: {problem}"
    return None


def error_outcome(sqlstate, message):
    sqlstate = sqlstate.decode() if isinstance(sqlstate, bytes) else sqlstate
    if sqlstate is None or sqlstate.startswith("XX") or "panick" in message:
        return Outcome(sqlstate, message, "internal")
    if sqlstate == "57014":
        return Outcome(sqlstate, message, "timeout")
    return Outcome(sqlstate, message)


class Pipeline:
    """Sends a batch of cases down one connection in pipeline mode and reads
    their outcomes. Non-blocking I/O, reading while writing, so a large
    result never deadlocks against a large input."""

    def __init__(self, conn):
        self.conn = conn
        self.pgconn = conn.pgconn
        self.innocent = False   # the connection was lost for another backend's crash

    def run(self, cases):
        """Outcomes of the cases, in order; a None outcome means the
        connection was lost before the case's answer came back."""
        pgconn = self.pgconn
        # The schedule: ("q", case number, step) per statement, ("sync", case number) per Sync.
        schedule = []
        self.outcomes_so_far = []
        self.innocent = False
        self.last_answer = time.monotonic()
        pgconn.enter_pipeline_mode()
        pgconn.nonblocking = 1
        try:
            for number, case in enumerate(cases):
                multi = len(case.steps) > 1
                if multi:
                    self._send(Step("BEGIN"))
                    schedule.append(("q", number, None))
                for step in case.steps:
                    self._send(step)
                    schedule.append(("q", number, step))
                pgconn.pipeline_sync()
                schedule.append(("sync", number))
                if multi:
                    self._send(Step("ROLLBACK"))
                    schedule.append(("q", number, None))
                    pgconn.pipeline_sync()
                    schedule.append(("sync", number))
                self._pump(wait=False)
            outcomes = self._collect(schedule, len(cases))
        except psycopg.OperationalError:
            outcomes = self.outcomes_so_far
        if outcomes and len(outcomes) == len(cases):
            pgconn.nonblocking = 0
            pgconn.exit_pipeline_mode()
        # Otherwise the connection is lost or given up: the caller replaces it.
        return outcomes + [None] * (len(cases) - len(outcomes))

    def _send(self, step):
        self.pgconn.send_query_params(step.sql.encode(), step.params, step.types, step.formats, step.result_format)

    def _pump(self, wait):
        """Flushes what can be flushed; with wait, blocks until the socket is
        readable. An answer overdue by a minute (the statement timeout is
        10 s) means the connection is stuck: it is then given up as lost."""
        pgconn = self.pgconn
        pending = pgconn.flush()
        if wait or pending:
            readable, _, _ = select.select([pgconn.socket], [pgconn.socket] if pending else [], [], 1.0)
            if readable:
                pgconn.consume_input()
                self.last_answer = time.monotonic()
            elif time.monotonic() - self.last_answer > 60:
                print(f"no answer for 60 s (pipeline status {pgconn.pipeline_status}); giving up the connection", flush=True)
                raise psycopg.OperationalError("no answer for 60 s")

    def _collect(self, schedule, count):
        pgconn = self.pgconn
        self.outcomes_so_far = outcomes = []
        position = 0
        current = Outcome()          # the outcome of the case being read
        answered = False             # the current statement's result has been read
        while position < len(schedule):
            # After a crash libpq may still hold answers read before it: use them first.
            if pgconn.is_busy():
                if pgconn.status != pq.ConnStatus.OK:
                    raise psycopg.OperationalError("connection lost")
                self._pump(wait=True)
                continue
            result = pgconn.get_result()
            entry = schedule[position]
            if result is None:
                if entry[0] == "q" and answered:
                    position += 1
                    answered = False
                elif pgconn.status != pq.ConnStatus.OK:
                    raise psycopg.OperationalError("connection lost")
                else:
                    # Nothing to read yet though libpq is not busy: wait for the socket.
                    self._pump(wait=True)
                continue
            status = result.status
            if status == pq.ExecStatus.PIPELINE_SYNC:
                assert entry[0] == "sync", f"out of step at {entry}"
                position += 1
                # A case ends with its last Sync.
                if position == len(schedule) or schedule[position][1] != entry[1]:
                    outcomes.append(current)
                    current = Outcome()
                continue
            answered = True
            step = entry[2]
            if status == pq.ExecStatus.FATAL_ERROR:
                sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
                if sqlstate is None and pgconn.status != pq.ConnStatus.OK:
                    # libpq's own "server closed the connection": this statement crashed it.
                    raise psycopg.OperationalError("connection lost")
                if sqlstate in (b"57P01", b"57P02", b"57P03"):
                    # Shut down because another backend crashed (or the server is
                    # stopping): this input is not to blame and runs again.
                    self.innocent = True
                    raise psycopg.OperationalError("connection terminated by the server")
                if current.sqlstate is None and current.finding is None:
                    message = result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or result.error_message
                    current = error_outcome(result.error_field(pq.DiagnosticField.SQLSTATE),
                                            message.decode(errors="replace"))
                    if step is None and current.finding is None:
                        # BEGIN or ROLLBACK failed: the harness, not the input.
                        current.finding = "internal"
                    if current.finding is None and not current.message:
                        current.finding = "internal"
            elif status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK) and step is not None:
                problem = check_result(result, step)
                if problem and current.finding is None:
                    current = Outcome(None, problem[1], problem[0])
            elif status == pq.ExecStatus.PIPELINE_ABORTED or step is None:
                pass
            else:
                current = Outcome(None, f"unexpected result status {pq.ExecStatus(status).name}", "internal")
        assert len(outcomes) == count
        return outcomes


def run_copy(conn, case):
    """A COPY case, on its own connection outside any pipeline: None when the
    connection was lost."""
    try:
        with conn.transaction(force_rollback=True):
            with conn.cursor().copy(case.steps[0].sql) as copy:
                copy.write(case.copy_data)
        return Outcome()
    except psycopg.Error as error:
        if error.sqlstate in ("57P01", "57P02", "57P03"):
            return TERMINATED
        # OperationalError covers both a lost connection and SQLSTATE classes like 54.
        if conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
            return None
        return error_outcome(error.sqlstate, error.diag.message_primary or str(error))


# run_copy's answer when the server terminated the connection for another backend's crash.
TERMINATED = Outcome(None, "terminated by the server")


def run_batch(pipeline, copy_conn, numbers, cases):
    """Runs the cases in order: runs of ordinary ones through the pipeline,
    COPY ones (which cannot be pipelined) on their own connection. Stops at
    the first input whose connection was lost. Returns the outcomes by input
    number, that input's number or None, and whether the server terminated
    the connection for another backend's crash (the input is not to blame)."""
    results = {}
    start = 0
    while start < len(cases):
        if cases[start].copy_data is not None:
            outcome = run_copy(copy_conn, cases[start])
            if outcome is None or outcome is TERMINATED:
                return results, numbers[start], outcome is TERMINATED
            results[numbers[start]] = outcome
            start += 1
            continue
        stop = start
        while stop < len(cases) and cases[stop].copy_data is None:
            stop += 1
        outcomes = pipeline.run(cases[start:stop])
        for offset, outcome in enumerate(outcomes):
            if outcome is None:
                return results, numbers[start + offset], pipeline.innocent
            results[numbers[start + offset]] = outcome
        start = stop
    return results, None, False


class Report:
    """Counts outcomes and keeps a few examples of each distinct finding."""

    def __init__(self, seed):
        self.seed = seed
        self.inputs = 0
        self.errors = Counter()
        self.findings = Counter()                  # kind -> count
        self.examples = defaultdict(list)          # (kind, normalized message) -> [(index, case, message)]

    def add(self, index, case, outcome, counted=True):
        """Counts input `index` (unless not `counted`: a finding about several inputs)."""
        self.inputs += counted
        if outcome.sqlstate and outcome.finding != "internal":
            self.errors[outcome.sqlstate] += 1
        if outcome.finding:
            self.findings[outcome.finding] += 1
            # Numbers vary between instances of one finding: group without them.
            key = (outcome.finding, case.kind, re.sub(r"\d+", "N", outcome.message)[:200])
            if len(self.examples[key]) < EXAMPLES_PER_FINDING:
                self.examples[key].append((index, case, outcome))
                self.print_example(index, case, outcome, first=len(self.examples[key]) == 1)

    def print_example(self, index, case, outcome, first):
        label = "NEW " if first else ""
        print(f"{label}{outcome.finding} in input {index} ({case.kind}; replay: --seed {self.seed} --first {index} --count 1):"
              f" {outcome.sqlstate or '-'} {outcome.message}", flush=True)
        for step in case.steps:
            print(f"    {step!r}")
        if case.copy_data is not None:
            print(f"    copy data: {case.copy_data!r}")

    def summary(self, seconds):
        errors = sum(self.errors.values())
        by_state = ", ".join(f"{state}: {n}" for state, n in self.errors.most_common())
        print(f"fuzz: {self.inputs} inputs in {seconds:.0f} s ({self.inputs / max(seconds, 1e-9):.0f}/s)")
        if self.examples:
            print(f"distinct findings: {len(self.examples)}")
            for (kind, generator, message), examples in self.examples.items():
                print(f"  {kind} ({generator}): {message}  e.g. input {examples[0][0]}")
        print(f"fuzz: {self.inputs} inputs, {errors} errors ({by_state}), {self.findings['crash']} crashes, "
              f"{self.findings['internal']} internal errors, {self.findings['invalid output']} invalid outputs, "
              f"{self.findings['verify problem']} verify problems, {self.findings['timeout']} timeouts")

    def failed(self):
        return any(self.findings[kind] for kind in ("crash", "internal", "invalid output"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=20_000, help="inputs to run")
    parser.add_argument("--first", type=int, default=0, help="number of the first input (to replay one)")
    parser.add_argument("--no-setup", action="store_true", help="keep the existing fuzz schema")
    parser.add_argument("--only", action="append", metavar="GENERATOR",
                        help="only this generator (e.g. gen_binary); repeatable. Input numbers then differ.")
    args = parser.parse_args()
    generators = [(w, g) for w, g in GENERATORS if not args.only or g.__name__ in args.only]

    conn = connect()
    if not args.no_setup:
        conn.execute(SETUP)
    Types.vector, Types.vector_array, Types.halfvec, Types.halfvec_array, Types.sparsevec = conn.execute(
        "SELECT 'vector'::regtype::oid::int, 'vector[]'::regtype::oid::int,"
        " 'halfvec'::regtype::oid::int, 'halfvec[]'::regtype::oid::int, 'sparsevec'::regtype::oid::int").fetchone()
    copy_conn = connect()
    pipeline = Pipeline(conn)
    report = Report(args.seed)
    start = time.monotonic()
    last_progress = start
    index = args.first
    end = args.first + args.count
    # After a crash in a batch the inputs run again one at a time up to the
    # end of that batch: a dying backend loses answers it had not flushed
    # yet, so the first unanswered input is not necessarily the culprit.
    isolate_until = suspects = None
    while index < end:
        isolating = isolate_until is not None and index <= isolate_until
        numbers = range(index, min(index + (1 if isolating else BATCH), end))
        cases = [make_case(args.seed, i, generators) for i in numbers]
        results, lost, innocent = run_batch(pipeline, copy_conn, numbers, cases)
        if lost is not None:
            if innocent:
                print(f"connection terminated by the server at input {lost}; reconnecting", flush=True)
            elif isolating:
                results[lost] = Outcome(None, "connection lost (backend crash)", "crash")
                isolate_until = None
                print(f"connection lost at input {lost}, run alone: the backend crashed on it", flush=True)
            else:
                isolate_until, suspects = numbers[-1], (lost, numbers[-1])
                print(f"connection lost in inputs {lost} to {numbers[-1]}; running them one by one", flush=True)
            for c in (conn, copy_conn):
                c.close()
            conn = reconnect()
            copy_conn = reconnect()
            pipeline = Pipeline(conn)
        elif isolating and numbers[-1] == isolate_until:
            isolate_until = None
            fake = Case("batch", [Step(f"inputs {suspects[0]} to {suspects[1]}")])
            report.add(suspects[0], fake, Outcome(None, "connection lost in a batch, not again one by one", "crash"),
                       counted=False)
        for i, case in zip(numbers, cases):
            if i in results:
                report.add(i, case, results[i])
        # Resume after the last input with an outcome, or at the lost one.
        index = lost if lost is not None and lost not in results else max(results, default=index - 1) + 1
        now = time.monotonic()
        if now - last_progress > 30:
            last_progress = now
            print(f"... {report.inputs} inputs, {report.inputs / (now - start):.0f}/s", flush=True)
    report.summary(time.monotonic() - start)
    sys.exit(1 if report.failed() else 0)


if __name__ == "__main__":
    main()
