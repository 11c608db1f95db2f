"""exp, tanh and sigmoid of one float, written so that loops over arrays vectorize.

Numba's ``np.exp``/``np.tanh`` call the C library one element at a time (about 10 ns each,
against NumPy's 1-2 ns SIMD loops), and this llvmlite has no vector math library. These
versions use only arithmetic that LLVM vectorizes: exp(y) = 2**n * (1 + q) with
n = round(y / ln 2), q = expm1(y - n ln 2) by its Taylor series to the 13th power (error below
1e-17 on |y - n ln 2| <= ln(2) / 2), and 2**n built directly from its IEEE-754 bits.
They compute in float64 whatever the array's dtype; results are within a few ulp of NumPy's.
Every caller must be compiled with ``error_model="numpy"`` (the ``kernel`` decorator is), or
Python's zero-division checks stop the vectorizer.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

inline = njit(cache=True, inline="always", error_model="numpy")

LOG2_E = 1.4426950408889634
LN2_HIGH = 0.693147180369123816490  # ln 2 split in two so that n * LN2_HIGH is exact
LN2_LOW = 1.90821492927058770002e-10
EXP_UNDERFLOW = -708.0  # below this exp(y) is subnormal or 0; taken as 0


@intrinsic
def _float64_from_bits(typingctx, bits):
    """Reinterpret an int64's bits as a float64 (an LLVM bitcast, free and vectorizable)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@inline
def power_of_two(n):
    """2.0 ** n for a whole float n in [-1022, 1023], from the exponent bits."""
    return _float64_from_bits((np.int64(n) + 1023) << 52)


@inline
def exp_split(y):
    """(2**n, q) with exp(y) = 2**n * (1 + q) and |q| < 0.42; y in [-708, 709]."""
    n = np.floor(y * LOG2_E + 0.5)
    r = (y - n * LN2_HIGH) - n * LN2_LOW
    q = 1.0 / 6227020800.0  # Horner's rule for r + r**2/2! + ... + r**13/13!
    for inverse_factorial in (1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                              1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0,
                              1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5):
        q = q * r + inverse_factorial
    return power_of_two(n), q * r * r + r


@inline
def exp_nonpositive(y):
    """exp(y) for y <= 0 (0 below -708; NaN stays NaN)."""
    scale, q = exp_split(EXP_UNDERFLOW if y < EXP_UNDERFLOW else y)
    return 0.0 if y < EXP_UNDERFLOW else scale + scale * q


@inline
def tanh(x):
    """tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), with the sign of x.

    expm1 keeps full relative precision for small |x|; past |x| = 32 tanh is 1 in float64.
    """
    y = -2.0 * abs(x)
    scale, q = exp_split(-64.0 if y < -64.0 else y)
    expm1 = scale * q + (scale - 1.0)
    return np.copysign(expm1 / -(2.0 + expm1), x)


@inline
def sigmoid(x):
    """1 / (1 + exp(-x)), computed from e = exp(-|x|) <= 1 so that nothing overflows."""
    e = exp_nonpositive(-abs(x))
    s = 1.0 / (1.0 + e)
    return s if x >= 0 else e * s
