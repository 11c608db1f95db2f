"""exp, tanh and sigmoid of one float, written so that loops over arrays vectorize.

Numba's ``np.exp``/``np.tanh`` call the C library one element at a time (about 10 ns each,
against NumPy's 1-2 ns SIMD loops), and this llvmlite has no vector math library. These
versions use only arithmetic that LLVM vectorizes: exp(y) = 2**n * (1 + q) with
n = round(y / ln 2), q = expm1(y - n ln 2) by a polynomial in r = y - n ln 2 (|r| <= ln(2) / 2),
and 2**n built directly from its IEEE-754 bits.

Each function has a float64 and a float32 version, chosen by the argument's type, so float32
arrays are computed in float32 (twice the SIMD width): float64 sums r's Taylor series to the
13th power (error below 1e-17), float32 uses Cephes' degree-7 minimax polynomial for ``expf``.
Results are within a few ulp of NumPy's. Every caller must be compiled with
``error_model="numpy"`` (the ``kernel`` decorator is), or Python's zero-division checks stop
the vectorizer; and float32 constants are spelled ``np.float32(...)``, as a bare literal would
promote the arithmetic to float64.
"""
import math
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import intrinsic, overload

inline = njit(cache=True, inline="always", error_model="numpy")

LOG2_E = 1.4426950408889634
LN2_HIGH = 0.693147180369123816490  # ln 2 split in two so that n * LN2_HIGH is exact
LN2_LOW = 1.90821492927058770002e-10
EXP_UNDERFLOW = -708.0  # below this exp(y) is subnormal or 0; taken as 0

F32_ONE, F32_TWO, F32_HALF = np.float32(1.0), np.float32(2.0), np.float32(0.5)
F32_LOG2_E = np.float32(1.44269504088896341)
F32_LN2_HIGH, F32_LN2_LOW = np.float32(0.693359375), np.float32(-2.12194440e-4)
F32_EXP_UNDERFLOW = np.float32(-87.0)
F32_TANH_SATURATION = np.float32(-20.0)  # past |x| = 10 tanh is 1 in float32
SQRT_HALF = 0.7071067811865476
#: erfc(z) = t * exp(P(2t - 1) - z**2) with t = 1 / (1 + z / 2), for every z >= 0: P's power
#: coefficients, lowest first, from a degree-12 least-squares fit of log(erfcx(z) / t) on 4000
#: Chebyshev nodes in t (scipy.special.erfcx). Relative error of erfc below 6e-9: float32's
#: normal CDF to within its rounding, with arithmetic that vectorizes (no libm erf call).
ERFC_POLY = (-0.6717940849756808, 0.672643156924773, 0.0473434026946692, -0.04689369086348398,
             -0.009874336711412548, 0.008809148156098167, 0.0017697122141539037,
             -0.0022895974391798565, -0.00018073266178258022, 0.0005746934666383657,
             -3.412300411003188e-05, -8.765562211096111e-05, 1.4104065183121112e-05)
F32_ERFC_POLY = tuple(np.float32(c) for c in ERFC_POLY)
#: P's constant term as a float32 pair, so that its rounding does not reach the result
F32_ERFC_POLY_0_HIGH = np.float32(ERFC_POLY[0])
F32_ERFC_POLY_0_LOW = np.float32(ERFC_POLY[0] - float(F32_ERFC_POLY_0_HIGH))
F32_HALF_SQRT_HALF = np.float32(0.5 * SQRT_HALF)
F32_SPLIT = np.float32(4097.0)  # 2**12 + 1: Veltkamp's constant for 12-bit halves
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
F32_INV_SQRT_2PI = np.float32(INV_SQRT_2PI)
F32_EXPM1_POLY = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3,
                                                 8.3334519073e-3, 4.1665795894e-2,
                                                 1.6666665459e-1, 5.0000001201e-1))


@intrinsic
def _float_from_bits(typingctx, bits):
    """Reinterpret an int64's (int32's) bits as a float64 (float32): a free LLVM bitcast."""
    if bits == types.int64:
        signature, target = types.float64(types.int64), ir.DoubleType()
    elif bits == types.int32:
        signature, target = types.float32(types.int32), ir.FloatType()
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], target)
    return signature, codegen


# --- float64 -----------------------------------------------------------------------------
@inline
def power_of_two(n):
    """2.0 ** n for a whole float n in [-1022, 1023], from the exponent bits."""
    return _float_from_bits((np.int64(n) + 1023) << 52)


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
def _exp_nonpositive64(y):
    scale, q = exp_split(EXP_UNDERFLOW if y < EXP_UNDERFLOW else y)
    return 0.0 if y < EXP_UNDERFLOW else scale + scale * q


@inline
def _tanh64(x):
    y = -2.0 * abs(x)
    scale, q = exp_split(-64.0 if y < -64.0 else y)
    expm1 = scale * q + (scale - 1.0)
    return np.copysign(expm1 / -(2.0 + expm1), x)


@inline
def _sigmoid64(x):
    e = _exp_nonpositive64(-abs(x))
    s = 1.0 / (1.0 + e)
    return s if x >= 0 else e * s


# --- float32 -----------------------------------------------------------------------------
@inline
def _exp_split32(y):
    """(2**n, q) with exp(y) = 2**n * (1 + q), in float32; y in [-87, 88]."""
    n = np.floor(y * F32_LOG2_E + F32_HALF)
    return _power_of_two32(n), _expm1_poly32((y - n * F32_LN2_HIGH) - n * F32_LN2_LOW)


@inline
def _power_of_two32(n):
    """2.0 ** n for a whole float32 n in [-126, 127], from the exponent bits."""
    # Numba widens int32 arithmetic to int64: narrow the exponent bits back before the bitcast
    return _float_from_bits(np.int32((np.int64(n) + 127) << 23))


@inline
def _expm1_poly32(r):
    """expm1(r) for |r| <= ln(2) / 2 by Cephes' polynomial, Horner's rule written out."""
    c = F32_EXPM1_POLY
    return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) * r * r + r


@inline
def _neg_half_square32(x):
    """(hi, lo) with hi + lo = -x**2 / 2 beyond float32's precision: hi is x's top 12 bits
    squared (exact, by Veltkamp's split), lo the small rest. A rounded -x**2 / 2 would be off
    by up to 4 ulp of 8 at x = 4, which exp turns into 4 ulp of its result."""
    c = F32_SPLIT * x
    top = c - (c - x)
    rest = x - top
    return -F32_HALF * top * top, -F32_HALF * rest * (x + top)


@inline
def _exp_sum32(hi, mid, lo):
    """exp(hi + mid + lo) <= 1 in float32, for a large exact ``hi`` (``_neg_half_square32``)
    and smaller ``mid`` and ``lo``: they are added only after hi is reduced by n ln 2, so
    none of hi's bits is rounded away. 0 below float32's smallest normal result."""
    y = hi + mid + lo
    n = np.floor((F32_EXP_UNDERFLOW if y < F32_EXP_UNDERFLOW else y) * F32_LOG2_E + F32_HALF)
    r = (((hi - n * F32_LN2_HIGH) + mid) + lo) - n * F32_LN2_LOW
    scale = _power_of_two32(n)
    return np.float32(0.0) if y < F32_EXP_UNDERFLOW else scale + scale * _expm1_poly32(r)


@inline
def _exp_nonpositive32(y):
    scale, q = _exp_split32(F32_EXP_UNDERFLOW if y < F32_EXP_UNDERFLOW else y)
    return np.float32(0.0) if y < F32_EXP_UNDERFLOW else scale + scale * q


@inline
def _tanh32(x):
    y = -F32_TWO * abs(x)
    scale, q = _exp_split32(F32_TANH_SATURATION if y < F32_TANH_SATURATION else y)
    expm1 = scale * q + (scale - F32_ONE)
    return np.copysign(expm1 / -(F32_TWO + expm1), x)


@inline
def _sigmoid32(x):
    e = _exp_nonpositive32(-abs(x))
    s = F32_ONE / (F32_ONE + e)
    return s if x >= 0 else e * s


@inline
def _normal_cdf32(x):
    """Phi(x) from erfc(|x| / sqrt 2) = t * exp(P(2t - 1) - x**2 / 2), all in float32: the
    square kept exact (``_neg_half_square32``) and P's constant term added after the
    reduction. Within 6 ulp of the exact Phi on [-4, 4] (torch's float32 GELU is off by up
    to 6e4 ulp there), at 16 lanes a vector."""
    t = F32_ONE / (F32_ONE + abs(x) * F32_HALF_SQRT_HALF)
    u = F32_TWO * t - F32_ONE
    c = F32_ERFC_POLY
    p = (((((((((((c[12] * u + c[11]) * u + c[10]) * u + c[9]) * u + c[8]) * u + c[7]) * u
                + c[6]) * u + c[5]) * u + c[4]) * u + c[3]) * u + c[2]) * u + c[1]) * u
    hi, lo = _neg_half_square32(x)
    half_erfc = F32_HALF * t * _exp_sum32(hi, F32_ERFC_POLY_0_HIGH, lo + (p + F32_ERFC_POLY_0_LOW))
    return half_erfc if x < 0 else F32_ONE - half_erfc


@inline
def _normal_density32(x):
    hi, lo = _neg_half_square32(x)
    return F32_INV_SQRT_2PI * _exp_sum32(hi, np.float32(0.0), lo)


@inline
def _normal_density64(x):
    return INV_SQRT_2PI * _exp_nonpositive64(-0.5 * x * x)


@inline
def _normal_cdf64(x):
    return 0.5 * (1.0 + math.erf(x * SQRT_HALF))


# --- one name per function, the precision chosen by the argument's type -------------------
def exp_nonpositive(y):
    """exp(y) for y <= 0 (0 below the smallest normal result; NaN stays NaN)."""
    raise NotImplementedError("compiled into kernels only")


def tanh(x):
    """tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)), with the sign of x.

    expm1 keeps full relative precision for small |x|; large |x| saturate to +-1.
    """
    raise NotImplementedError("compiled into kernels only")


def sigmoid(x):
    """1 / (1 + exp(-x)), computed from e = exp(-|x|) <= 1 so that nothing overflows."""
    raise NotImplementedError("compiled into kernels only")


def normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF: float32 from the fitted
    erfc above (vectorizes), float64 from libm's erf (exact, one call per element)."""
    raise NotImplementedError("compiled into kernels only")


def normal_density(x):
    """phi(x) = exp(-x**2 / 2) / sqrt(2 pi), the standard normal density."""
    raise NotImplementedError("compiled into kernels only")


# Numba's pedantic SSA check says that variables of these overloads, inlined with
# inline="always", are "not in scope" when a kernel using them compiles: about twenty
# warnings on a machine's first warm-up. The code is right (every kernel is tested against
# NumPy and finite differences); only these messages are silenced (Numba starts them with
# a terminal escape code, hence the leading ".*").
warnings.filterwarnings("ignore", message=r".*variable '_by_precision__locals__",
                        category=NumbaIRAssumptionWarning)


def _by_precision(function, single, double):
    """Compile ``function`` as ``single`` for float32 arguments, else as ``double``, inlined
    by Numba: LLVM's own inliner gave up on the larger ones (float32 GELU 110 -> 1360 us at
    128x512), and a call in the loop stops it from vectorizing."""
    @overload(function, inline="always")
    def choose(x):
        return (lambda x: single(x)) if x == types.float32 else (lambda x: double(x))


_by_precision(exp_nonpositive, _exp_nonpositive32, _exp_nonpositive64)
_by_precision(tanh, _tanh32, _tanh64)
_by_precision(sigmoid, _sigmoid32, _sigmoid64)
_by_precision(normal_cdf, _normal_cdf32, _normal_cdf64)
_by_precision(normal_density, _normal_density32, _normal_density64)
