"""Counter-based uniform random numbers: ``u = hash(seed, time step, index)``.

Batched copies of a network draw their Poisson input from this instead of ``rand()``: a copy's
input spikes then depend only on its own seed, the time step and the input's index -- not on how
many copies share the network, nor on the backend's random number generator.  The hash is
splitmix64 (two rounds over a linear mix of the three integers), written identically in C++, CUDA
and numpy; ``tests/test_copies.py`` checks C++ against numpy bit for bit.
"""
import numpy as np
from brian2 import Function

_HASH_BODY = """
    uint64_t z = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + (uint64_t)step * 0xD1B54A32D192ED03ULL
               + (uint64_t)idx * 0x8CB92BA72F3D8DD7ULL;
    for (int r = 0; r < 2; r++) {
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z = z ^ (z >> 31);
    }
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
"""
_CPP_HASH = ("#include <stdint.h>\nstatic inline double _bsnn_uniform(const int64_t seed, const int64_t step, "
             "const int64_t idx)\n{" + _HASH_BODY + "}\n")
_CUDA_HASH = ("__host__ __device__ static inline double _bsnn_uniform(const int64_t seed, const int64_t step, "
              "const int64_t idx)\n{" + _HASH_BODY + "}\n")

_M = [np.uint64(x) for x in (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03, 0x8CB92BA72F3D8DD7,
                             0xBF58476D1CE4E5B9, 0x94D049BB133111EB)]


def hash_uniform(seed, step, idx):
    """numpy reference of the C++/CUDA ``_bsnn_uniform``: uniform in [0, 1) from three integers."""
    with np.errstate(over="ignore"):
        s, t, i = (np.asarray(a).astype(np.int64).astype(np.uint64) for a in (seed, step, idx))
        z = s * _M[0] + t * _M[1] + i * _M[2]
        for _ in range(2):
            z = z + _M[0]
            z = (z ^ (z >> np.uint64(30))) * _M[3]
            z = (z ^ (z >> np.uint64(27))) * _M[4]
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


bsnn_uniform = Function(hash_uniform, arg_units=[1, 1, 1], return_unit=1,
                        arg_types=["integer", "integer", "integer"], return_type="float",
                        stateless=True, auto_vectorise=False)
bsnn_uniform.implementations.add_implementation("cpp", _CPP_HASH, name="_bsnn_uniform")
bsnn_uniform.implementations.add_implementation("cuda", _CUDA_HASH, name="_bsnn_uniform")
