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

    An op whose work is a few kernel calls writes them once, as *programs*
    (``forward_program``, ``backward_program`` and, with ``scaled_grad_inputs``,
    ``scaled_program``), and its eager methods check and coerce their arrays, then run them
    with ``run_eagerly``. A compiled step runs the same programs on symbols instead of
    arrays to write its generated function (jitgrad/compiler/codegen.py), so the two cannot
    drift apart. A program calls every kernel through ``run(kernel, *args)`` (``results=2``
    for a kernel that returns a pair, 0 for one that returns nothing; NumPy functions that
    Numba compiles, such as ``np.asarray``, go through ``run`` too), and uses no more of its
    arrays than ``.reshape``, ``.shape``, ``.size``, ``.T``, ``.dtype``, ``.item()``,
    ``.astype``, unary minus and products with a number; numbers it needs come from the
    op's settings (``self.shape`` noted by ``forward``), never from array values.
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

    # the programs (class docstring): optional, for an op whose work is kernel calls

    def forward_program(self, run, *arrays):
        """(output, saved): the output computed from ``arrays`` (the inputs as ``forward``
        coerced them, then the arrays of ``operand_arrays``; in a compiled step C-contiguous
        arrays of one dtype), and what ``backward_program`` reads, which ``forward`` keeps
        (a compiled step keeps it in its function instead)."""
        raise NotImplementedError

    def backward_program(self, run, saved, grad, needs_grad, into=None):
        """``backward``'s gradients given ``saved`` (``forward_program``'s) and ``grad`` (the
        output's shape and dtype, as ``backward`` coerced it); ``into`` only for an op that
        ``accumulates``."""
        raise NotImplementedError

    def scaled_program(self, run, saved, grad, targets):
        """``add_scaled_grads``'s updates, given ``saved`` and ``grad`` as for
        ``backward_program``."""
        raise NotImplementedError

    def operand_arrays(self, **operands):
        """For an op with ``operands`` and programs: the arrays ``forward_program`` takes
        after the inputs, made from this call's ``operands`` and checked as ``forward``
        checks them (raising its errors); a compiled step calls it at every call."""
        raise NotImplementedError


def run_eagerly(function, *args, results=1):
    """A program's ``run`` in eager code: ``function(*args)`` (``Op.forward_program``)."""
    return function(*args)


def add_or_return(run, into, fresh_kernel, into_kernel, *args):
    """``into_kernel(*args, into)`` and ACCUMULATED if there is a buffer, else
    ``fresh_kernel(*args)``, each called through a program's ``run``."""
    if into is None:
        return run(fresh_kernel, *args)
    run(into_kernel, *args, into, results=0)
    return ACCUMULATED


def contiguous(array, dtype):
    """``array`` as a C-contiguous array of ``dtype`` and its shape (itself when it is one)."""
    return np.asarray(array, dtype=dtype, order="C")


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
