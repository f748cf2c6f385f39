"""What the Python cluster tests (and scripts/bench_sparse.py) share about
vectors: reading the pydoc-minilm set from ../shared/data, the sparse set
derived from its texts, and writing vector literals."""
import math
import os
import re
from collections import Counter

import numpy as np

WORD = re.compile(r"[a-z][a-z0-9_]+")


def pydoc_minilm(name, limit=None):
    """The float4 rows of pydoc-minilm's `name` (base.fvecs, query.fvecs), at most `limit`."""
    raw = np.fromfile(f"{os.environ['DATA']}/pydoc-minilm/{name}", dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:limit, 1:].view(np.float32)


def literal(vector):
    """A vector's text form, every element exact."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def texts(name):
    """The lines of one of pydoc-minilm's text files, one text each."""
    with open(f"{os.environ['DATA']}/pydoc-minilm/{name}", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def tf_idf():
    """pydoc-minilm's texts as sparse vectors: (dimensions, base vectors,
    query vectors), each vector a sorted list of (0-based index, weight).

    Each text's TF-IDF vector over the words (runs of letters, digits and
    underscores starting with a letter, lower-cased) that at least two base
    texts use, weighted (1 + ln tf) * ln(N / df), not normalized: about
    10,800 dimensions and 10 non-zeros per text (at most a few dozen), as
    BM25-style vectors have."""
    base_words = [Counter(WORD.findall(t.lower())) for t in texts("texts_base.txt")]
    query_words = [Counter(WORD.findall(t.lower())) for t in texts("texts_query.txt")]
    df = Counter(w for words in base_words for w in words)
    vocabulary = {w: i for i, w in enumerate(sorted(w for w, n in df.items() if n >= 2))}
    n = len(base_words)

    def vector(words):
        entries = [(vocabulary[w], (1 + math.log(tf)) * math.log(n / df[w])) for w, tf in words.items() if w in vocabulary]
        return sorted(entries)

    return len(vocabulary), [vector(w) for w in base_words], [vector(w) for w in query_words]


def sparse_literal(vector, dims):
    return "{" + ",".join(f"{i + 1}:{w!r}" for i, w in vector) + f"}}/{dims}"


class ExactSparse:
    """Brute-force distances from a query to every row, through an inverted index."""

    def __init__(self, vectors):
        self.count = len(vectors)
        self.postings = {}
        for row, vector in enumerate(vectors):
            for i, w in vector:
                self.postings.setdefault(i, []).append((row, w))
        self.postings = {i: (np.array([r for r, _ in p]), np.array([w for _, w in p])) for i, p in self.postings.items()}
        self.squares = np.array([sum(w * w for _, w in v) for v in vectors])
        self.absolutes = np.array([sum(abs(w) for _, w in v) for v in vectors])

    def dot(self, query):
        scores = np.zeros(self.count)
        for i, w in query:
            if i in self.postings:
                rows, weights = self.postings[i]
                np.add.at(scores, rows, w * weights)
        return scores

    def distances(self, operator, query):
        dot = self.dot(query)
        q_squares = sum(w * w for _, w in query)
        if operator == "<#>":
            return -dot
        if operator == "<->":
            return np.sqrt(np.maximum(self.squares + q_squares - 2 * dot, 0))
        if operator == "<=>":
            with np.errstate(divide="ignore", invalid="ignore"):
                return 1 - dot / np.sqrt(self.squares * q_squares)
        # <+>: |a - b| summed: what only one has, plus the difference where both have
        l1 = self.absolutes + sum(abs(w) for _, w in query)
        for i, w in query:
            if i in self.postings:
                rows, weights = self.postings[i]
                np.add.at(l1, rows, np.abs(w - weights) - np.abs(w) - np.abs(weights))
        return l1
