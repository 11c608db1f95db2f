"""Hostile input, drawn at random: each op either gives NumPy's answer (and back-propagates),
or raises a ValueError, TypeError or IndexError that starts with the op's name and changes no
tensor. Never a raw Numba error, a crash or a wrong answer.

Shapes include 0-d tensors and sides of length 0; dims and indices run past both ends; index
dtypes include floats and bools; reductions take dim tuples, slices take any start, stop, step. Which inputs are valid is jitgrad's documented rule for each
op (elementwise ops broadcast as NumPy does).
"""
import math
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jitgrad import Tensor
from tests.helpers.unchanged import assert_unchanged

CLEAN_ERRORS = (ValueError, TypeError, IndexError)
SHAPES = st.lists(st.integers(0, 3), max_size=3).map(tuple)
INDEX_SHAPES = st.lists(st.integers(0, 3), max_size=2).map(tuple)
INDEX_DTYPES = st.sampled_from([np.int64, np.int32, np.uint8, np.float64, np.bool_])
ELEMENTWISE = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
               "div": operator.truediv}


def leaf(shape, low=-2.0, high=2.0):
    return Tensor(np.random.default_rng(0).uniform(low, high, shape), autograd=True)


def indices_of(data, shape, dtype, low, high):
    """An index array of ``shape`` and ``dtype`` with values drawn from [low, high]."""
    values = data.draw(st.lists(st.integers(low, high), min_size=math.prod(shape),
                                max_size=math.prod(shape)))
    return np.array(values, dtype=np.int64).reshape(shape).astype(dtype)


def all_in_range(indices, size):
    """Whether ``indices`` are valid for a dim of ``size``: integers in [0, size), or none."""
    if indices.size == 0:
        return True
    return indices.dtype.kind in "iu" and indices.min() >= 0 and indices.max() < size


def check(op, inputs, call, valid, expected):
    """If ``valid``, ``call()`` equals ``expected()`` (NumPy's answer) and back-propagates a
    gradient of each input's shape; otherwise it raises a clean error naming ``op``."""
    if not valid:
        assert_unchanged(inputs, call, CLEAN_ERRORS, rf"^{op}: ")
        return
    out = call()
    np.testing.assert_allclose(out.data, expected(), rtol=1e-10, atol=1e-12)
    out.backward()
    assert all(t.grad.data.shape == t.data.shape for t in inputs)


@given(st.sampled_from(sorted(ELEMENTWISE)), SHAPES, SHAPES)
def test_elementwise(op, a_shape, b_shape):
    a, b = leaf(a_shape), leaf(b_shape, 1.0, 2.0)  # a divisor away from 0
    apply = ELEMENTWISE[op]
    check(op, [a, b], lambda: apply(a, b), broadcasts(a_shape, b_shape),
          lambda: apply(a.data, b.data))


def broadcasts(*shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


@given(SHAPES, st.data())
def test_mm(a_shape, data):
    inner = a_shape[-1] if a_shape else 0
    b_shape = data.draw(st.one_of(SHAPES, st.tuples(st.just(inner), st.integers(0, 3))))
    a, b = leaf(a_shape), leaf(b_shape)
    valid = len(a_shape) == len(b_shape) == 2 and a_shape[1] == b_shape[0]
    check("mm", [a, b], lambda: a.mm(b), valid, lambda: a.data @ b.data)


@given(SHAPES, st.one_of(st.none(), st.integers(-4, 4)))
def test_sum(shape, dim):
    a = leaf(shape)
    check("sum", [a], lambda: a.sum(dim), dim is None or -len(shape) <= dim < len(shape),
          lambda: a.data.sum(axis=dim))


@given(SHAPES, st.integers(-5, 5), st.integers(-1, 3))
def test_expand(shape, dim, copies):
    a = leaf(shape)
    valid = -len(shape) - 1 <= dim <= len(shape) and copies >= 0
    check("expand", [a], lambda: a.expand(dim, copies), valid,
          lambda: np.repeat(np.expand_dims(a.data, dim), copies, axis=dim))


@given(SHAPES, st.sampled_from(["transpose", "sigmoid", "tanh"]))
def test_shape_preserving_ops_take_any_shape(shape, op):
    a = leaf(shape)
    expected = {"transpose": np.transpose, "tanh": np.tanh,
                "sigmoid": lambda x: 1 / (1 + np.exp(-x))}[op]
    check(op, [a], getattr(a, op), True, lambda: expected(a.data))


@given(SHAPES)
def test_softmax(shape):
    a = leaf(shape)

    def expected():
        e = np.exp(a.data - a.data.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    check("softmax", [a], a.softmax, len(shape) >= 1 and shape[-1] > 0, expected)


@given(SHAPES, INDEX_SHAPES, INDEX_DTYPES, st.data())
def test_index_select(shape, index_shape, dtype, data):
    table = leaf(shape)
    indices = indices_of(data, index_shape, dtype, -3, 5)
    valid = len(shape) >= 1 and all_in_range(indices, shape[0])
    check("index_select", [table], lambda: table.index_select(Tensor(indices)), valid,
          lambda: table.data[indices.astype(np.intp)])


@given(SHAPES, INDEX_DTYPES, st.data())
def test_cross_entropy(shape, dtype, data):
    logits = leaf(shape)
    classes, rows = (shape[-1], math.prod(shape[:-1])) if shape else (0, 0)
    target_shape = data.draw(st.one_of(st.just(shape[:-1]), INDEX_SHAPES))
    targets = indices_of(data, target_shape, dtype, -2, 4)
    valid = (classes > 0 and rows > 0 and targets.size == rows
             and targets.dtype.kind in "iu" and all_in_range(targets, classes))

    def expected():
        x, t = logits.data.reshape(rows, classes), targets.reshape(-1).astype(np.intp)
        log_sum = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
        return np.mean(log_sum - x[np.arange(rows), t])
    check("cross_entropy", [logits], lambda: logits.cross_entropy(Tensor(targets)), valid,
          expected)


REDUCTIONS = {"sum": np.sum, "mean": np.mean, "amax": np.amax, "amin": np.amin}


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
@given(st.sampled_from(sorted(REDUCTIONS)), SHAPES, st.data())
def test_reductions_over_dim_tuples(op, shape, data):
    a = leaf(shape)
    dims = data.draw(st.one_of(st.none(), st.integers(-4, 4),
                               st.lists(st.integers(-4, 4), max_size=3).map(tuple)))
    keepdim = data.draw(st.booleans())
    as_tuple = () if dims is None else dims if isinstance(dims, tuple) else (dims,)
    in_range = all(-len(shape) <= d < len(shape) for d in as_tuple)
    axes = {d % len(shape) for d in as_tuple} if in_range and shape else set()
    valid = in_range and len(axes) == len(as_tuple)
    if valid and op in ("amax", "amin"):  # nothing to take the largest of
        reduced = range(len(shape)) if dims is None else axes
        valid = all(shape[d] > 0 for d in reduced)
    check(op, [a], lambda: getattr(a, op)(dims, keepdim=keepdim), valid,
          lambda: REDUCTIONS[op](a.data, axis=dims, keepdims=keepdim))


@given(SHAPES, st.data())
def test_slicing(shape, data):
    a = leaf(shape)
    index = tuple(data.draw(st.one_of(st.integers(-4, 4), st.none(),
                                      st.builds(slice, st.integers(-4, 4) | st.none(),
                                                st.integers(-4, 4) | st.none(),
                                                st.sampled_from([None, 1, 2, -1]))))
                  for _ in range(data.draw(st.integers(1, 3))))
    try:
        expected = a.data[index]
    except IndexError:
        check("(index|select)", [a], lambda: a[index], False, None)
        return
    check("index", [a], lambda: a[index], True, lambda: expected)
