"""What the Python cluster tests share about vectors: reading the
pydoc-minilm set from ../shared/data and writing vector literals."""
import os

import numpy as np


def pydoc_minilm(name, limit=None):
    """The float4 rows of pydoc-minilm's `name` (base.fvecs, query.fvecs), at most `limit`."""
    raw = np.fromfile(f"{os.environ['DATA']}/pydoc-minilm/{name}", dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:limit, 1:].view(np.float32)


def literal(vector):
    """A vector's text form, every element exact."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"
