"""The registry of public ops: each op module declares, once, what the rest of jitgrad needs.

An op module defines its ``Op`` classes (forward and backward, calling the kernels) and a
public function that applies them, then calls ``register``: the function's Tensor method
names, its ``jitgrad.nn.functional`` names, example calls and bad inputs. From ``SPECS``:

- ``jitgrad.autograd.tensor`` installs the Tensor methods (``install``), and
  ``jitgrad.nn.functional`` exports the ``F.`` functions (``functional_names``);
- ``jitgrad.warmup()`` runs every example forward and backward in float32 and float64;
- the tests gradient-check every example against finite differences in float64 and against
  torch, and feed every op its bad inputs (tests/ops/test_registry.py). No op needs test code
  of its own.
"""
import dataclasses
import types
from typing import Callable

import numpy as np

#: Tensor, set by ``install`` when jitgrad.autograd.tensor is imported (ops import no Tensor themselves).
_Tensor = None

#: name -> OpSpec, in registration order.
SPECS = {}

SAME = "same"  # Example.torch: torch spells the call as jitgrad does


@dataclasses.dataclass(frozen=True)
class Example:
    """One call of an op, for gradient checks, torch comparisons and warm-up.

    ``call(lib, *leaves)`` returns the op's output for leaves made from ``inputs``: each a
    shape (standard normal values) or an array (used as it is: positive numbers for log).
    ``lib`` names the library's functions (``lib.F``, ``lib.cat``, ``lib.stack``, ``lib.where``, and
    ``lib.tensor`` for constants such as targets), so one call serves jitgrad and torch.
    ``torch`` is torch's spelling where it differs (same arguments), or None where torch
    has no counterpart. ``grad=False`` for outputs that are not differentiable (argmax).
    """

    call: Callable
    inputs: tuple
    torch: object = SAME
    grad: bool = True


@dataclasses.dataclass(frozen=True)
class BadInput:
    """``call(lib, *leaves)`` on leaves made from ``inputs`` raises ``error`` matching ``match``
    (a regular expression that starts with the op's name) and changes no tensor."""

    call: Callable
    inputs: tuple
    error: type
    match: str


@dataclasses.dataclass(frozen=True)
class OpSpec:
    name: str
    function: Callable
    methods: tuple
    properties: tuple
    functional: tuple
    examples: tuple
    bad_inputs: tuple


def register(name, function, methods=(), functional=(), examples=(), bad_inputs=(),
             properties=()):
    """Record ``function`` as the public op ``name``; returns ``function``.

    ``methods``: Tensor method names it becomes (its first argument is the tensor);
    ``properties``: Tensor properties it becomes (``x.T``);
    ``functional``: its names in ``jitgrad.nn.functional``; ``examples`` (``Example``) and
    ``bad_inputs`` (``BadInput``) as described there.
    """
    if name in SPECS:
        raise ValueError(f"register: op {name!r} is registered twice")
    SPECS[name] = OpSpec(name, function, tuple(methods), tuple(properties), tuple(functional),
                         tuple(examples), tuple(bad_inputs))
    return function


def apply(op, *inputs):
    """The Tensor ``op`` makes from ``inputs`` (Tensors), with its graph edge recorded."""
    return _Tensor._from_op(op, inputs)


def install(tensor_class):
    """Give ``tensor_class`` every registered method; ``apply`` builds instances of it."""
    global _Tensor
    _Tensor = tensor_class
    for spec in SPECS.values():
        for method in spec.methods:
            setattr(tensor_class, method, spec.function)
        for name in spec.properties:
            setattr(tensor_class, name, property(spec.function, doc=spec.function.__doc__))


def functional_names():
    """{name: function} of everything registered for ``jitgrad.nn.functional``."""
    return {name: spec.function for spec in SPECS.values() for name in spec.functional}


def library():
    """The ``lib`` argument of examples run on jitgrad."""
    functional = types.SimpleNamespace(**functional_names())  # jitgrad.nn.functional's ops
    return types.SimpleNamespace(F=functional, cat=SPECS["cat"].function,
                                 stack=SPECS["stack"].function, where=SPECS["where"].function,
                                 tensor=_Tensor)


def run_example(example, dtype):
    """``example`` on fresh leaves of ``dtype``: (output, leaves), back-propagated (with a
    gradient of ones) if it is differentiable."""
    leaves = [_Tensor(array, autograd=True) for array in example_arrays(example.inputs, dtype)]
    out = example.call(library(), *leaves)
    if example.grad:
        out.backward()
    return out, leaves


def lift(tensor, other):
    """``other`` as a Tensor beside ``tensor`` (Python numbers take its float dtype)."""
    return tensor._lift(other)


def constant(value):
    """``value`` (a Tensor or array-like) as a Tensor that wants no gradient."""
    return value if isinstance(value, _Tensor) else _Tensor(value)


def is_tensor(value):
    """Whether ``value`` is a Tensor (op modules cannot import the class)."""
    return isinstance(value, _Tensor)


def stays_integral(tensor):
    """Whether an op keeps ``tensor``'s integer or bool dtype (sum, amax, neg, abs), as
    PyTorch does: for a tensor outside the graph. The book's integer leaves with
    ``autograd=True`` compute in float64 and get gradients, as they always did."""
    return tensor.data.dtype.kind in "biu" and not tensor.autograd


def array_of(value):
    """The array of a Tensor, or ``value`` as an array (indices, targets, masks)."""
    return value.data if isinstance(value, _Tensor) else np.asarray(value)


def example_arrays(inputs, dtype, seed=0):
    """The arrays of an Example's or BadInput's ``inputs`` in ``dtype`` (float ones only)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in inputs:
        if isinstance(spec, np.ndarray):
            arrays.append(spec.astype(dtype) if spec.dtype.kind == "f" and dtype else spec)
        else:
            arrays.append(rng.standard_normal(spec).astype(dtype or np.float64))
    return arrays


def positive(*shape, seed=1):
    """An array of ``shape`` with values in [0.5, 2]: inputs for log and sqrt."""
    return np.asarray(np.random.default_rng(seed).uniform(0.5, 2.0, shape))
