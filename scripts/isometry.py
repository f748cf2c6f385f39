"""Maps vectors isometrically into more dimensions: zero-padded, then
turned by a seeded random rotation, so every distance, inner product and
norm (and so every exact answer) stays what it was. Used to test and
measure indexes past 2,000 dimensions on real data.

The rotation of a D-dimensional space is the Kronecker product of two
random orthogonal matrices of sizes a and b, a * b = D, applied to each
vector reshaped to a x b as Q1 X Q2^T: it mixes every coordinate into
every other, and a dense D x D matrix (2 GB at 16,000) is never formed."""
import numpy as np


def random_orthogonal(n, rng):
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def factors(dim):
    """a <= b with a * b = dim, a as large as it gets."""
    a = max(d for d in range(1, int(dim ** 0.5) + 1) if dim % d == 0)
    return a, dim // a


def embed(vectors, dim, seed):
    """`vectors` (n x d, d <= dim) in `dim` dimensions, as float32."""
    assert vectors.shape[1] <= dim, "an isometry into fewer dimensions does not exist"
    rng = np.random.default_rng(seed)
    a, b = factors(dim)
    q1, q2 = random_orthogonal(a, rng), random_orthogonal(b, rng)
    padded = np.zeros((len(vectors), dim))
    padded[:, :vectors.shape[1]] = vectors
    return (q1 @ padded.reshape(-1, a, b) @ q2.T).reshape(-1, dim).astype(np.float32)
