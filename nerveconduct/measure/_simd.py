"""Block extrema of a smoothed trace in vector instructions (private).

numba compiles a min/max reduction over a few samples to scalar instructions (two per
sample, bound by the floating-point ports), which made the block extrema the SNAP kernel's
largest single step (~0.1 us of ~0.7 us per 300-sample SNAP). :func:`_minmax16` writes the
reduction of one 16-sample block directly as LLVM vector operations (``llvm.minnum`` /
``llvm.maxnum`` on four ``<4 x double>`` and a horizontal reduction), through numba's public
``numba.extending.intrinsic``. Minimum and maximum are exact, so the result equals the scalar
loop's for finite samples (the kernels search the extrema only after checking that every
sample is finite); on hardware without 256-bit vectors LLVM splits the operations.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._kernel_layout import BLOCK

__all__ = ["block_extrema"]

_F8 = ir.DoubleType()
_V4 = ir.VectorType(_F8, 4)
_FM = ("nnan", "nsz")  # finite samples: no NaN handling, either zero of equal values
assert BLOCK == 16  # _minmax16 reduces four vectors of four samples


@intrinsic
def _minmax16(typingctx, vs, o):
    """``(min, max)`` of ``vs[o:o + 16]``: ``vs`` a C-contiguous 1-D float64 array."""
    if not (isinstance(vs, types.Array) and vs.dtype == types.float64 and vs.ndim == 1
            and vs.layout == "C" and isinstance(o, types.Integer)):
        return None
    sig = types.UniTuple(types.float64, 2)(vs, o)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, value=args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), _V4.as_pointer())
        vecs = [builder.load(builder.gep(ptr, [ir.Constant(ir.IntType(64), k)]), align=8)
                for k in range(4)]
        module = builder.module

        def fn(name, ret, *arg_types):
            return cgutils.get_or_insert_function(module, ir.FunctionType(ret, list(arg_types)),
                                                  name)

        out = []
        for op in ("min", "max"):
            pair = fn(f"llvm.{op}num.v4f64", _V4, _V4, _V4)
            low = builder.call(pair, [vecs[0], vecs[1]], fastmath=_FM)
            high = builder.call(pair, [vecs[2], vecs[3]], fastmath=_FM)
            both = builder.call(pair, [low, high], fastmath=_FM)
            out.append(builder.call(fn(f"llvm.vector.reduce.f{op}.v4f64", _F8, _V4), [both],
                                    fastmath=_FM))
        return context.make_tuple(builder, signature.return_type, out)

    return sig, codegen


@numba.njit(inline="always", nogil=True, error_model="numpy")
def block_extrema(vs, lo, hi, bmin, bmax):
    """Min and max of ``vs`` over each BLOCK-sample block of ``[lo, hi)`` (last one partial).

    The same values as :func:`nerveconduct.measure._trace_ops._block_extrema` for finite
    samples; ``vs`` must be C-contiguous float64.
    """
    nb = (hi - lo) // BLOCK
    for b in range(nb):
        bmin[b], bmax[b] = _minmax16(vs, lo + b * BLOCK)
    o = lo + nb * BLOCK
    if o < hi:
        m1 = vs[o]
        m2 = m1
        for j in range(o + 1, hi):
            m1 = min(m1, vs[j])
            m2 = max(m2, vs[j])
        bmin[nb] = m1
        bmax[nb] = m2
