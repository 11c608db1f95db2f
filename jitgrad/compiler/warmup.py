"""Make sure every kernel is compiled into Numba's on-disk cache before the first training step."""
import contextlib
import itertools
import json
import os
import sys
import time

import numpy as np

from jitgrad import ops
from jitgrad.autograd.tensor import Tensor
from jitgrad.backend import gemm, kernel_cache
from jitgrad.backend.atomic import atomic_write
from jitgrad.book import LSTMCell
from jitgrad.compiler import step as compiler
from jitgrad import functional
from jitgrad.ops import registry
from jitgrad.optim import SGD, Adam, RMSprop
from kernels import bf16

#: The file, beside the kernels' cache, recording that a full warm-up filled it.
RECORD = "warmup.json"


def _exercise_every_op(dtype, layouts):
    """Run each op forward and backward once on tiny arrays of ``dtype``: every registered
    op's examples (jitgrad/ops/registry.py), then what they do not cover.

    ``layouts`` are the memory orders (``"C"``, ``"F"``) to feed mm's operands and gradient in,
    since its kernels are compiled per layout.
    """
    rng = np.random.default_rng(0)

    def leaf(*shape, order="C"):
        tensor = Tensor(rng.standard_normal(shape).astype(dtype), autograd=True)
        tensor.data = np.asarray(tensor.data, order=order)
        return tensor

    for spec in registry.SPECS.values():
        yield spec.name, lambda spec=spec: [registry.run_example(example, dtype)
                                            for example in spec.examples]
    yield "optimizers", lambda: _one_step_of_each_optimizer(leaf)
    yield "compiled sgd", lambda: _compiled_sgd_steps(leaf)
    yield "lstm_cell", lambda: _lstm_step_twice(leaf)
    yield "bfloat16", lambda: bf16.from_bf16(bf16.to_bf16(np.ones(3, np.float32)))
    yield "accumulation", lambda: _used_three_times(leaf(2, 3) * leaf(2, 3)).sum().backward()
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
        state = Tensor._from_op(ops.LSTMStep(), (x, h, c, *weights))
        (state[0] + state[1]).sum().backward()


def _one_step_of_each_optimizer(leaf):
    """Every update kernel: the book's SGD, SGD with momentum, Adam (AdamW shares its kernel)
    and RMSprop, on C-contiguous parameters (updated together) and on an F-ordered one
    (updated alone)."""
    for make in (lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                 lambda ps: Adam(ps), lambda ps: RMSprop(ps)):
        for order in "CF":
            parameter = leaf(2, 3, order=order)
            (parameter * parameter).sum().backward()
            make([parameter]).step()


def _compiled_sgd_steps(leaf):
    """A compiled step with plain SGD through a linear and a two-step LSTM window, recorded
    and replayed: in float32 the updates fuse into the backward products
    (jitgrad/fused_sgd.py), and the window's input products are batched
    (jitgrad/input_batching.py), whose kernels this compiles."""
    x, weight, bias = leaf(2, 3), leaf(3, 4), leaf(4)
    cell = LSTMCell(4, 4, 4, dtype=x.data.dtype)
    optimizer = SGD([weight, bias, *cell.parameters()], lr=0.1)

    def step():
        inputs = functional.linear(x, weight, bias)
        hidden = cell.init_hidden(batch_size=2)
        for _ in range(2):
            out, hidden = cell.forward(inputs, hidden)
        loss = out.sum()
        loss.backward()
        optimizer.step()
        return loss
    step = compiler.compile(step)
    for _ in range(3):
        step()


def _used_three_times(tensor):
    """Three uses: the backward pass sums two gradients, then adds the third in place."""
    return tensor + tensor + tensor


def warmup(dtypes=("float32", "float64"), progress=True, stream=None, load_now=False,
           remeasure_blas=False):
    """Choose the BLAS (``jitgrad.backend.gemm``), then make sure every kernel for each of ``dtypes``
    is compiled into Numba's on-disk cache, so that no training step waits for a compile;
    returns the seconds it took.

    The first call on a machine compiles (tens of seconds) and stores the machine code in
    Numba's cache, then records what that code depends on (``kernel_cache.stamp``). Later
    calls that find the record unchanged return at once: each kernel then loads from the cache
    at its first use, in milliseconds, so a step loads only the kernels it runs. With
    ``load_now``, every kernel is loaded into this process now all the same. With
    ``progress``, each step is reported on ``stream`` (stderr by default). With
    ``remeasure_blas``, the BLAS backends are timed again instead of taking the cached
    verdict (which a busy machine may have skewed; ``jitgrad info`` shows its timings).
    """
    stream = stream or sys.stderr
    start = time.perf_counter()
    if remeasure_blas:
        gemm.choose(use_cache=False)
    gemm.ensure_chosen()
    dtypes = [np.dtype(d).name for d in dtypes]
    stamp = kernel_cache.stamp()
    if not load_now and _all_cached(stamp, dtypes):
        seconds = time.perf_counter() - start
        if progress:
            print(f"jitgrad warmup: every kernel for {', '.join(dtypes)} is in the cache "
                  f"({kernel_cache.folder()}); each loads at its first use", file=stream, flush=True)
        return seconds
    steps = [(dtype, name, run) for dtype in dtypes
             for name, run in _exercise_every_op(np.dtype(dtype), layouts=("C", "F"))]
    for number, (dtype, name, run) in enumerate(steps, 1):
        if progress:
            print(f"\rjitgrad warmup [{number}/{len(steps)}] {dtype} {name:<16}", end="",
                  file=stream, flush=True)
        run()
    _record_cached(stamp, dtypes)
    seconds = time.perf_counter() - start
    if progress:
        print(f"\rjitgrad warmup: {len(steps)} steps for {', '.join(dtypes)} "
              f"in {seconds:.2f} s{' ' * 12}", file=stream, flush=True)
    return seconds


def _record_path():
    folder = kernel_cache.folder()
    return None if folder is None else os.path.join(folder, RECORD)


def _all_cached(stamp, dtypes):
    """Whether a full warm-up of ``dtypes`` recorded ``stamp`` (same code, same CPU)."""
    try:
        with open(_record_path()) as file:
            record = json.load(file)
    except (TypeError, OSError, ValueError):
        return False
    return record.get("stamp") == stamp and set(dtypes) <= set(record.get("dtypes", ()))


def _record_cached(stamp, dtypes):
    """Note that every kernel of ``dtypes`` is cached; a read-only cache just goes unnoted."""
    path = _record_path()
    if path is None:
        return
    with contextlib.suppress(OSError):
        with atomic_write(path) as file:
            file.write(json.dumps({"stamp": stamp, "dtypes": sorted(dtypes)}).encode())
