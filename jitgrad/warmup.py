"""Compile (or load from Numba's on-disk cache) every kernel before the first training step."""
import itertools
import sys
import time

import numpy as np

from . import functional, gemm, ops
from .optim import SGD
from .tensor import Tensor


def _exercise_every_op(dtype, layouts):
    """Run each op forward and backward once on tiny arrays of ``dtype``.

    ``layouts`` are the memory orders (``"C"``, ``"F"``) to feed mm's operands and gradient in,
    since its kernels are compiled per layout.
    """
    rng = np.random.default_rng(0)

    def leaf(*shape, order="C"):
        tensor = Tensor(rng.standard_normal(shape).astype(dtype), autograd=True)
        tensor.data = np.asarray(tensor.data, order=order)
        return tensor

    yield "elementwise", lambda: ((leaf(2, 3) + leaf(2, 3)) * leaf(2, 3) - leaf(2, 3) / leaf(2, 3)
                                  ).__neg__().sum().backward()
    yield "sgd", lambda: _one_sgd_step(leaf(2, 3))
    yield "lstm_cell", lambda: _lstm_step_twice(leaf)
    yield "accumulation", lambda: _used_three_times(leaf(2, 3) * leaf(2, 3)).sum().backward()
    yield "activations", lambda: (leaf(2, 3).sigmoid() + leaf(2, 3).tanh() + leaf(2, 3).relu()
                                  ).sum().backward()
    yield "softmax", lambda: (leaf(2, 3).softmax() * leaf(2, 3)).sum().backward()
    yield "cross_entropy", lambda: leaf(2, 3).cross_entropy(Tensor(np.array([0, 2]))).backward()
    yield "index_select", lambda: leaf(4, 3).index_select(Tensor(np.array([[0, 3]]))).sum().backward()
    yield "sum/expand", lambda: (leaf(3).expand(0, 2).sum(1).sum()).backward()
    yield "squared_error", lambda: functional.squared_error(leaf(2, 3), leaf(2, 3)).sum().backward()
    for a_order, b_order, grad_order in itertools.product(layouts, repeat=3):
        yield f"mm {a_order}{b_order}{grad_order}", lambda a=a_order, b=b_order, g=grad_order: (
            _products_twice(leaf(2, 3, order=a), leaf(3, 4, order=b), leaf(4), g))


def _products_twice(a, b, bias, grad_order):
    """mm and linear, back-propagated twice: the second pass adds into the leaves' grads.

    A transposed output gets its gradient in the other memory layout.
    """
    for _ in range(2):
        for out in (a.mm(b), functional.linear(a, b, bias)):
            (out.transpose() if grad_order == "F" else out).sum().backward()


def _lstm_step_twice(leaf):
    """An LSTM step (2 rows, 3 inputs, 4 hidden), back-propagated twice so that the second
    pass adds into the weights' gradients."""
    x, h, c = leaf(2, 3), leaf(2, 4), leaf(2, 4)
    weights = [leaf(3, 4) if i % 2 == 0 else leaf(4) for i in range(8)] + [leaf(4, 4) for _ in range(4)]
    for _ in range(2):
        state = Tensor._from_op(ops.LSTMCell(), (x, h, c, *weights))
        (state[0] + state[1]).sum().backward()


def _one_sgd_step(parameter):
    (parameter * parameter).sum().backward()
    SGD([parameter], alpha=0.1).step()


def _used_three_times(tensor):
    """Three uses: the backward pass sums two gradients, then adds the third in place."""
    return tensor + tensor + tensor


def warmup(dtypes=("float32", "float64"), progress=True, stream=None):
    """Choose the BLAS (``jitgrad.gemm``), then compile every kernel for each of ``dtypes``;
    returns the seconds it took.

    The first call on a machine compiles (tens of seconds) and stores the machine code in
    Numba's cache; later processes load it from there in well under a second. With
    ``progress``, each step is reported on ``stream`` (stderr by default).
    """
    stream = stream or sys.stderr
    start = time.perf_counter()
    gemm.ensure_chosen()
    steps = [(np.dtype(d).name, name, run) for d in dtypes
             for name, run in _exercise_every_op(np.dtype(d), layouts=("C", "F"))]
    for number, (dtype, name, run) in enumerate(steps, 1):
        if progress:
            print(f"\rjitgrad warmup [{number}/{len(steps)}] {dtype} {name:<16}", end="",
                  file=stream, flush=True)
        run()
    seconds = time.perf_counter() - start
    if progress:
        print(f"\rjitgrad warmup: {len(steps)} steps for {', '.join(map(str, dtypes))} "
              f"in {seconds:.2f} s{' ' * 12}", file=stream, flush=True)
    return seconds
