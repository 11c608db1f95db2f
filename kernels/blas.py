"""General matrix multiply with accumulation, C = alpha * A @ B + beta * C, inside Numba, on
the BLAS chosen for the product's shape class.

``np.dot`` always writes a new array. A parameter used in many steps of a graph (an RNN's
weights) then costs a temporary and an extra pass over memory per use; with beta = 1 the
product adds straight into the gradient buffer.

Which BLAS runs a product is read at call time from ``TABLE``, one slot per dtype and shape
class (``shape_class``): 0 means the BLAS behind Numba's ``np.dot`` (SciPy's OpenBLAS, through
Numba's ``numba_xxgemm`` helper), anything else is the address of a Fortran-interface
``sgemm``/``dgemm`` (such as MKL's, ``kernels.mkl``). The table lives in this process's memory
and compiled kernels find it by symbol name, so they stay in Numba's on-disk cache and the
choice can change without recompiling. ``jitgrad.backend.gemm`` fills it.
"""
import ctypes

import llvmlite.binding
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable
from numba.np.linalg import _BLAS, get_blas_kind

#: Products are told apart by shape: a small volume (a small MLP's batch, where a call's fixed
#: cost outweighs the arithmetic), a few rows or columns (an LSTM's gates, a classifier's
#: output layer), a medium volume (an MLP of a few hundred units), or a large one.
SHAPE_CLASSES = ("small", "skinny", "medium", "large")
#: Below this many multiply-adds (m * k * n) a product is "small": 2**18 is 32 x 64 x 128.
SMALL = 2 ** 18
#: At most this many rows or columns makes a larger product "skinny".
SKINNY = 32
#: From this many multiply-adds (m * k * n) on, a product is "large": 2**26 is 256 x 512 x 512.
LARGE = 2 ** 26
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_SYMBOL = "jitgrad_gemm_table"
#: The addresses of the gemm to call, slot ``dtype index * len(SHAPE_CLASSES) + class``.
#: The kernels that call ``gemm`` compile this arithmetic in; Numba's cache does not follow
#: imports, so jitgrad drops the cached kernels when any file here changes
#: (``jitgrad.backend.kernel_cache.drop_if_sources_changed``: stale slots multiplied float64 operands
#: with sgemm). benchmarks/gemm.py's own kernels: touch that file after changing the classes.
TABLE = (ctypes.c_void_p * (len(DTYPES) * len(SHAPE_CLASSES)))()
llvmlite.binding.add_symbol(_SYMBOL, ctypes.addressof(TABLE))


def slot(dtype, shape_class_name):
    """TABLE's index for products of ``dtype`` in the shape class named ``shape_class_name``."""
    return DTYPES.index(np.dtype(dtype)) * len(SHAPE_CLASSES) + SHAPE_CLASSES.index(shape_class_name)


@register_jitable
def shape_class(m, k, n):
    """The index in SHAPE_CLASSES of an (m, k) @ (k, n) product."""
    volume = m * k * n
    if volume < SMALL:
        return 0
    if min(m, n) <= SKINNY:
        return 1
    return 2 if volume < LARGE else 3


def gemm(a, b, c, alpha, beta):
    """c = alpha * a @ b + beta * c, in place: a (m, k), b (k, n), c (m, n) C-contiguous.

    a and b may be C- or F-contiguous (so ``x.T`` views need no copy). With beta = 0, c's
    old contents are ignored (it may be ``np.empty``). Only callable from Numba-compiled code.
    """
    raise NotImplementedError("gemm is compiled into kernels; call it from @kernel code")


@intrinsic
def _table_entry(typingctx, index):
    """TABLE[index], read when the kernel runs (not frozen at compile time)."""
    def codegen(context, builder, signature, args):
        entries = ir.ArrayType(ir.IntType(64), len(TABLE))
        table = builder.module.globals.get(_SYMBOL)
        if table is None:
            table = ir.GlobalVariable(builder.module, entries, _SYMBOL)
            table.linkage = "external"
        return builder.load(builder.gep(table, [ir.Constant(ir.IntType(32), 0), args[0]]))
    return types.int64(types.intp), codegen


@intrinsic
def _call_fortran_gemm(typingctx, function, addresses):
    """Call the Fortran-interface gemm at address ``function`` with ``addresses``, a tuple of
    its 13 arguments' addresses (transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)."""
    def codegen(context, builder, signature, args):
        pointer = ir.IntType(8).as_pointer()
        callee = builder.inttoptr(args[0], ir.FunctionType(ir.VoidType(), [pointer] * 13).as_pointer())
        builder.call(callee, [builder.inttoptr(address, pointer)
                              for address in cgutils.unpack_tuple(builder, args[1])])
        return context.get_dummy_value()
    return types.void(function, addresses), codegen


@register_jitable
def _keep_alive(arrays):
    """Referenced after the BLAS call, so the arrays it reads are not freed before it runs."""
    return arrays[0]


@overload(gemm)
def _gemm_impl(a, b, c, alpha, beta):
    if not isinstance(a, types.Array) or a.dtype not in (types.float32, types.float64):
        return None
    xxgemm = _BLAS().numba_xxgemm(a.dtype)
    kind = ord(get_blas_kind(a.dtype, "gemm"))
    no_transpose, transpose = ord("N"), ord("T")
    dtype = a.dtype
    first_slot = DTYPES.index(np.dtype(str(dtype))) * len(SHAPE_CLASSES)

    def impl(a, b, c, alpha, beta):
        m, k = a.shape
        n = b.shape[1]
        if m == 0 or n == 0:
            return
        if k == 0:
            if beta == 0:
                c[...] = 0
            else:
                c *= beta
            return
        # BLAS is column-major: a row-major C is a column-major C.T = B.T @ A.T, and a
        # C-contiguous matrix read column-major is its own transpose.
        b_flag, ldb = (no_transpose, n) if b.flags.c_contiguous else (transpose, k)
        a_flag, lda = (no_transpose, k) if a.flags.c_contiguous else (transpose, m)
        scalars = np.array([alpha, beta], dtype=dtype)
        function = _table_entry(first_slot + shape_class(m, k, n))
        if function == 0:
            xxgemm(kind, b_flag, a_flag, n, m, k, scalars[0:].ctypes, b.ctypes, ldb,
                   a.ctypes, lda, scalars[1:].ctypes, c.ctypes, n)
        else:
            # the Fortran interface takes every argument by address
            ints = np.array([n, m, k, ldb, lda, n], dtype=np.int32)
            flags = np.array([b_flag, a_flag], dtype=np.uint8)
            i, f, s = ints.ctypes.data, flags.ctypes.data, scalars.ctypes.data
            _call_fortran_gemm(function, (f, f + 1, i, i + 4, i + 8, s, b.ctypes.data, i + 12,
                                          a.ctypes.data, i + 16, s + scalars.itemsize,
                                          c.ctypes.data, i + 20))
            _keep_alive((ints, flags))
        _keep_alive((a, b, c, scalars))
    return impl
