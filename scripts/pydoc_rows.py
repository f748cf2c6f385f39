#!/usr/bin/env python3
"""pydoc-minilm as COPY text rows, with the Python standard library only
(the demo needs no numpy).

    python3 pydoc_rows.py DATA_DIR base    # id, chars, text, embedding per base row
    python3 pydoc_rows.py DATA_DIR query N # the text and embedding of query N, tab-separated

DATA_DIR is ../shared/data; the vectors are base.fvecs / query.fvecs (each
row an int32 dimension count, then that many float32) and the texts
texts_base.txt / texts_query.txt, one per line in the same order.
"""
import struct
import sys
from pathlib import Path


def vectors(path):
    with open(path, "rb") as f:
        while header := f.read(4):
            (dim,) = struct.unpack("<i", header)
            yield struct.unpack(f"<{dim}f", f.read(4 * dim))


def literal(vector):
    return "[" + ",".join("%.9g" % x for x in vector) + "]"


def copy_text(text):
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    folder = Path(sys.argv[1]) / "pydoc-minilm"
    if sys.argv[2] == "base":
        texts = (folder / "texts_base.txt").read_text(encoding="utf-8").splitlines()
        out = sys.stdout
        for i, (text, vector) in enumerate(zip(texts, vectors(folder / "base.fvecs"))):
            out.write(f"{i}\t{len(text)}\t{copy_text(text)}\t{literal(vector)}\n")
    else:
        n = int(sys.argv[3])
        texts = (folder / "texts_query.txt").read_text(encoding="utf-8").splitlines()
        for i, vector in enumerate(vectors(folder / "query.fvecs")):
            if i == n:
                print(f"{texts[i]}\t{literal(vector)}")
                return


if __name__ == "__main__":
    main()
