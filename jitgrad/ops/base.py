"""What every op shares: the Op protocol, array layouts, and checks of dims and indices."""
import numpy as np

from jitgrad.backend.dtypes import describe
from kernels import gather


class Marker:
    """A value ``backward`` returns in place of a gradient array, compared by identity."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


#: What ``backward`` returns for an input whose gradient it added into the ``into`` buffer.
ACCUMULATED = Marker("ACCUMULATED")

#: What ``backward`` returns for an input whose gradient a later op of the same backward pass
#: delivers: an LSTM step's weights get all the unrolled steps' gradients from the first step.
#: An op that returns it says, through ``undelivered()``, whether it is still owed at the end.
DEFERRED = Marker("DEFERRED")


class Op:
    """One kind of graph node. ``creation_op`` is the book's name for it (``"mm"``, ``"sum_0"``).

    An op with ``accumulates = True`` takes a third argument to ``backward``: for each input,
    a gradient buffer to add its gradient into (or None), and returns ``ACCUMULATED`` where it
    did. Products use it to add straight into a parameter's ``.grad`` (BLAS beta = 1).
    Any op may return ``DEFERRED`` for an input whose gradient another op, run later in the
    same pass, will deliver.

    ``forward`` may run again on the same instance with new arrays (``jitgrad.compile``
    replays a recorded step that way), so it keeps no state between calls beyond what it
    decides on its first (an LSTM step's window).
    """

    creation_op = "op"
    accumulates = False
    #: Names of attributes that hold data rather than settings (indices, targets): forward
    #: reads them and never overwrites them, so a compiled step can rebind them per call.
    operands = ()
    #: False for an op whose forward cannot run again on new arrays: a step using it is not
    #: compiled (``jitgrad.compile`` runs it eagerly and says why).
    replayable = True
    #: True for an op whose forward draws random numbers: a replay keeps it in its place
    #: among the ops, so that it draws from the stream as eager code does.
    draws_random = False

    def forward(self, *arrays):
        """Check the inputs, compute the output array and keep what ``backward`` needs."""
        raise NotImplementedError

    #: Inputs whose gradients ``add_scaled_grads`` can add, scaled, straight into arrays.
    scaled_grad_inputs = ()
    #: True when ``add_scaled_grads`` takes all of ``scaled_grad_inputs`` at once, with one
    #: scale, or none of them.
    scaled_grads_together = False

    def grad_delivery(self):
        """(key, delivers): ops with the same key hand their inputs' gradients over together,
        in the one whose ``delivers`` is True (an LSTM window's first step); by default each
        op on its own."""
        return self, True

    def add_scaled_grads(self, grad, targets):
        """For each (index, out, scale) of ``targets``: ``out += scale * g``, where g is input
        ``index``'s gradient given ``grad``, without making g. A compiled step fuses a plain
        SGD update (scale = -lr) into the products that compute weights' gradients this way
        (jitgrad/fused_sgd.py), after ``backward`` ran with ``needs_grad`` False for those
        inputs. ``out``: C-contiguous, of the input's shape and dtype; ``scale``: a scalar of
        that dtype."""
        raise NotImplementedError

    #: True for an op with a source form (``emit_forward``, ``emit_backward`` and, if it has
    #: ``scaled_grad_inputs``, ``emit_scaled``): a compiled step made only of such ops runs
    #: as one generated Numba function (jitgrad/codegen.py). A subclass whose ``forward``
    #: or ``backward`` differs must set it False or emit its own.
    emits = False

    def emit_forward(self, src, name, ins):
        """Add to ``src`` (a ``codegen.Source``) the lines that compute this op's output into
        the variable ``name`` from the arrays named ``ins``, with the kernels, arguments and
        order of ``forward`` (so the numbers are the same); what the backward needs goes in
        names starting with ``name``. The shapes and dtypes are this recorded op's: raise
        ``NotEmitted`` for a case without a source form."""
        raise NotImplementedError

    def emit_backward(self, src, name, ins, grad, needs_grad, into=None):
        """Add the lines of ``backward`` given the gradient named ``grad``; returns the name
        of each input's gradient, None where ``needs_grad`` is False. An op that
        ``accumulates`` gets ``into``: for each input, the name of the ``.grad`` buffer its
        ``backward`` would add into, or None; where it adds, it returns None."""
        raise NotImplementedError

    def operand_arrays(self, **operands):
        """For an op with ``operands`` and a source form: the arrays its source reads, as
        ``{name}_operand0``, ``{name}_operand1``..., made from this call's ``operands`` and
        checked as ``forward`` checks them (raising its errors)."""
        raise NotImplementedError

    def emit_scaled(self, src, name, ins, grad, targets):
        """Add the lines of ``add_scaled_grads``: ``targets`` is [(input index, name of the
        array, name of the scale)]."""
        raise NotImplementedError

    def undelivered(self):
        """After a backward pass in which this op returned DEFERRED: a description of the
        gradients still owed (the pass raises with it), or None when all were delivered."""
        return None

    def backward(self, grad, needs_grad):
        """Gradients for each input, given ``grad`` (output's shape and dtype).

        ``needs_grad[i]`` is False where input i wants no gradient; that entry may be None.
        Each gradient is a new array or a view of ``grad``, never one new array for two inputs
        (the backward pass relies on that to know which buffers it may add into).
        """
        raise NotImplementedError


class NotEmitted(Exception):
    """A recorded op (or tape) without a source form (``Op.emit_forward``), and why."""


def add_or_return(into, fresh_kernel, into_kernel, *args):
    """``into_kernel(*args, into)`` and ACCUMULATED if there is a buffer, else ``fresh_kernel(*args)``."""
    if into is None:
        return fresh_kernel(*args)
    into_kernel(*args, into)
    return ACCUMULATED


def flat(array, dtype):
    """``array`` as a C-contiguous 1-D array of ``dtype`` (a view when it already is one)."""
    return np.ascontiguousarray(array, dtype=dtype).reshape(-1)


def rows(array, dtype, width, count=-1):
    """``array`` as a C-contiguous (count, width) array of ``dtype`` (a view when possible).

    Give ``count`` when ``width`` may be 0: NumPy cannot infer it from an empty array.
    """
    return np.ascontiguousarray(array, dtype=dtype).reshape(count, width)


def matrix(array, dtype):
    """``array`` as a C- or F-contiguous 2-D array of ``dtype``: BLAS takes either as it is."""
    array = array.astype(dtype, copy=False)
    if array.flags.c_contiguous or array.flags.f_contiguous:
        return array
    return np.ascontiguousarray(array)


def check_dim(op, array, dim, extra=0):
    """``dim`` as a non-negative axis of ``array`` (plus ``extra`` positions past its last).

    Negative dims count from the end, as in NumPy.
    """
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}")
    bound = array.ndim + extra
    if not -bound <= dim < bound:
        valid = f"valid: {-bound} to {bound - 1}" if bound else "a 0-d tensor has no dims"
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape "
                         f"{describe(array)} ({valid})")
    return int(dim) % bound


def check_indices(op, indices, size):
    """``indices`` as a flat intp array, each in [0, size); raises naming ``op`` otherwise.

    An empty list of indices is fine whatever its dtype (``np.array([])`` is float64).
    """
    if indices.dtype.kind not in "iu" and indices.size:
        raise TypeError(f"{op}: indices must be integers, got {describe(indices)}")
    flat_indices = indices.reshape(-1)
    if flat_indices.size:
        low, high = _index_range(flat_indices)
        if low < 0 or high >= size:
            raise IndexError(f"{op}: indices must lie in [0, {size}), got values from "
                             f"{low} to {high}")
    return np.ascontiguousarray(flat_indices, dtype=np.intp)


def _index_range(flat_indices):
    """(smallest, largest) of a non-empty int array, by one kernel pass over it as intp.

    Unsigned values too large for intp would wrap to negative ones in that cast, so those
    arrays are measured as they are.
    """
    if flat_indices.dtype.kind == "u" and flat_indices.dtype.itemsize >= np.dtype(np.intp).itemsize:
        return flat_indices.min(), flat_indices.max()
    return gather.index_range(np.ascontiguousarray(flat_indices, dtype=np.intp))
