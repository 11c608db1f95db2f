"""The backward pass: the book's children accounting, run as a loop instead of recursion.

The book lets every tensor wait until each of its ``children`` has sent a gradient, then pass
the sum on to its ``creators``. Counting every child ever recorded stalls on children that do
not lead to the tensor ``backward`` was called on (an RNN step's unused output), so the pass
first recounts ``children`` over the part of the graph that does lead there. Tensors are then
processed in that dependency order with an explicit stack, so graph depth is unlimited.

Gradients are kept only where they are asked for, as in PyTorch: in ``.grad`` of leaves
(tensors no op made, such as parameters) and of tensors that called ``retain_grad()``.

Buffers: an op's backward returns, for each input, either a new array or a view of the
gradient it was given ("borrowed"). A leaf's ``.grad`` buffer is always its own: a borrowed
first gradient is copied, later ones are added in place. An inner tensor used several times
sums its gradients into one new buffer, then adds in place into that. A leaf's gradient that
is released (``release_grad``: ``optimizer.step()``, ``zero_grad()``) leaves ``.grad`` None
and keeps the gradient Tensor with its zeroed buffer, which the next pass takes back
(``leaf_buffer``).
"""
import weakref

import numpy as np

from jitgrad.autograd import anomaly, recording
from jitgrad.backend import profiler
from jitgrad.backend.dtypes import describe
from jitgrad.ops.base import ACCUMULATED, DEFERRED, flat
from kernels import elementwise


class _Versions:
    """The in-place clock: ``now`` counts in-place writes to tensors, ``written`` holds the time
    of each written tensor's last write (for as long as the tensor lives), and an op output's
    ``_recorded_at`` is the time its graph edge was recorded. Backward refuses an edge whose
    tensors were written since: PyTorch's version counters, kept where they cost nothing for
    the tensors never written in place (nearly all: a tensor carries no counter of its own)."""

    def __init__(self):
        self.now = 0
        # id(tensor) -> time; by id, since a Tensor's == is elementwise (a WeakKeyDictionary
        # would compare keys with it); the entry goes when the tensor does
        self.written = {}

    def wrote(self, tensor):
        """Note an in-place write to ``tensor``."""
        self.now += 1
        key = id(tensor)
        if key not in self.written:
            weakref.finalize(tensor, self.written.pop, key, None)
        self.written[key] = self.now

    def version(self, tensor):
        """The time of ``tensor``'s last in-place write; 0 if it never had one."""
        return self.written.get(id(tensor), 0)


versions = _Versions()


def backward(root, grad):
    """Send ``grad`` (an array of root's shape) back through the graph that made ``root``."""
    _recount_children(root)
    if recording.switch.active:
        recording.switch.tape.backward_root(root, grad)
    pending = {root: grad.astype(root._grad_dtype(), copy=True)}
    summed = set()  # inner tensors whose pending gradient is a buffer of the pass's own
    deferring = []  # ops that returned DEFERRED: each must have been settled by the end
    ready = [root]
    if root.creators is None:
        _add_to_leaf(root, pending.pop(root), borrowed=False)
        ready = []
    while ready:
        node = ready.pop()
        node_grad = pending.pop(node)
        summed.discard(node)
        if recording.switch.active:
            recording.switch.tape.backward_node(node)
        if node._retain_grad:
            _add_to_leaf(node, node_grad, borrowed=True)
        op, node._op = node._op, None  # freed as it is used: a graph is back-propagated once
        needs = [creator.autograd for creator in node.creators]
        grads = run_backward(op, node_grad, needs, node.creators)
        if anomaly.switch.active:
            anomaly.check_backward(node, node_grad, grads)
        grad_owner = memory_owner(node_grad)
        for creator, creator_grad in zip(node.creators, grads):
            if not creator.autograd:
                continue
            if not is_gradient(op, creator_grad, deferring):
                _heard_from(creator, node)  # a leaf is never made ready
                continue
            if creator_grad.dtype != creator.data.dtype:
                creator_grad = creator_grad.astype(creator._grad_dtype(), copy=False)
            deliver(creator, creator if creator.creators is None else None, creator_grad,
                    grad_owner, pending, summed)
            if _heard_from(creator, node) and creator.creators is not None:
                ready.append(creator)
    check_delivered(deferring)


def check_versions(node):
    """Raise if ``node`` or one of its inputs was written in place after ``node``'s op ran:
    the op's backward would read the new values and return a wrong gradient."""
    for tensor in (node, *node.creators):
        if versions.version(tensor) > node._recorded_at:
            raise RuntimeError(
                f"backward: one of the variables needed for gradient computation has been "
                f"modified by an inplace operation: a tensor of {describe(tensor.data)} used by "
                f"{node.creation_op!r} was written in place after that op ran; do the in-place "
                "write after backward(), or write y = y + x instead of y += x")


def run_backward(op, node_grad, needs, creators):
    """``op``'s gradients for its inputs, given ``node_grad``; ``creators``: the input Tensors
    (an accumulating op adds straight into the ``.grad`` buffers of the leaves among them)."""
    args = (needs, [leaf_buffer(c, node_grad.dtype) for c in creators]) if op.accumulates else (needs,)
    if profiler.switch.active:
        return profiler.timed_backward(op, node_grad, args)
    return op.backward(node_grad, *args)


def is_gradient(op, creator_grad, deferring):
    """Whether ``op`` returned a gradient array, not a marker: ACCUMULATED (already added)
    or DEFERRED (noted in ``deferring``: a later op of the pass delivers it)."""
    if creator_grad is ACCUMULATED:
        return False
    if creator_grad is DEFERRED:
        if not deferring or deferring[-1] is not op:
            deferring.append(op)
        return False
    return True


def deliver(key, leaf, creator_grad, grad_owner, pending, summed):
    """Hand one input's gradient on: into ``leaf.grad`` (``leaf``: the input if it is a
    leaf, else None) or into ``pending[key]``, summed with what its other uses sent.

    ``key`` is the input Tensor in eager backward and a slot of the tape in a compiled
    step's replay: both route through here, so they add the same gradients in the same order.
    """
    if leaf is not None:  # nothing waits on a leaf: add to .grad now
        _add_to_leaf(leaf, creator_grad, memory_owner(creator_grad) is grad_owner)
    elif key in summed:
        _add_into(pending[key], creator_grad)
    elif key in pending:  # a tensor used several times sums its gradients
        pending[key] = _sum(pending[key], creator_grad)
        summed.add(key)
    else:
        pending[key] = creator_grad


def check_delivered(deferring):
    """Raise if an op's deferred gradients were never delivered (they would be missing from
    ``.grad`` without a word)."""
    owed = [message for message in (op.undelivered() for op in deferring) if message]
    if owed:
        raise RuntimeError(f"backward: gradients deferred and never delivered: {'; '.join(owed)}")


def leaf_buffer(tensor, dtype):
    """The ``.grad`` buffer of a leaf that an op may add its gradient into, or None.

    A leaf whose gradient was released (``optimizer.step()``, ``zero_grad()``) gets its kept,
    zeroed buffer back as ``.grad``.
    """
    if tensor.creators is not None or not tensor.autograd:
        return None
    kept = tensor._grad_buffer
    if tensor.grad is None and kept is not None and fits(kept.data, tensor.data.shape, dtype):
        tensor.grad, tensor._grad_buffer = kept, None
    grad = tensor.grad
    if grad is None or not fits(grad.data, tensor.data.shape, dtype):
        return None
    return grad.data


def release_grad(tensor, zeroed=False):
    """Set ``tensor.grad`` to None, keeping the gradient Tensor with its buffer (zeroed here
    unless ``zeroed`` says it already is) for the next backward pass to add into: the same
    Tensor comes back as ``.grad``, so a step makes no new one."""
    grad = tensor.grad
    if fits(grad.data, tensor.data.shape, tensor.data.dtype):
        if not zeroed:
            grad.data.fill(0)
        tensor._grad_buffer = grad
    tensor.grad = None


def zero_grad(tensor, set_to_none=True):
    """Release ``tensor``'s gradient (``set_to_none``, PyTorch's default) or fill it with 0."""
    if tensor.grad is None:
        return
    if set_to_none:
        release_grad(tensor)
    else:
        tensor.grad.data.fill(0)


def fits(buffer, shape, dtype):
    """Whether gradients of ``shape`` and ``dtype`` can be added into ``buffer`` in place."""
    return (buffer is not None and buffer.shape == shape and buffer.dtype == dtype
            and buffer.flags.c_contiguous and buffer.flags.writeable)


def _heard_from(creator, child):
    """Count one gradient from ``child``; True once every child leading to root has sent one."""
    uses = creator.children[child.id] - 1
    if uses:
        creator.children[child.id] = uses
    else:
        del creator.children[child.id]
    return not creator.children


def _recount_children(root):
    """Reset ``children`` of every tensor that leads to ``root`` to the uses that lead there.

    Raises before anything changes if part of the graph was already back-propagated, or if a
    tensor an op needs was written in place after the op ran.
    """
    nodes, stack, seen = [], [root], {root}
    while stack:
        node = stack.pop()
        nodes.append(node)
        if node.creators is None:
            continue
        if node._op is None:
            raise RuntimeError(
                f"backward: the graph through this {node.creation_op!r} tensor was already "
                "back-propagated; run the forward pass again to build a new graph")
        if versions.now > node._recorded_at:  # something was written in place since
            check_versions(node)
        for creator in node.creators:
            if creator.autograd and creator not in seen:
                seen.add(creator)
                stack.append(creator)
    for node in nodes:
        node.children = {}
    for node in nodes:
        for creator in node.creators or ():
            if creator.autograd:
                creator.children[node.id] = creator.children.get(node.id, 0) + 1


def memory_owner(array):
    """The object that owns ``array``'s memory: the same for an array and all its views."""
    owner = array
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    return owner


def _add_to_leaf(tensor, grad, borrowed):
    """Add ``grad`` into ``tensor.grad``, which is created on first use and never shared."""
    current = tensor.grad
    if current is None:
        kept = tensor._grad_buffer
        if borrowed and kept is not None and fits(kept.data, grad.shape, grad.dtype):
            np.copyto(kept.data, grad)  # the released buffer, instead of a copy
            tensor.grad, tensor._grad_buffer = kept, None
            return
        # type(tensor): a .grad is a Tensor like its owner, and autograd never imports tensor.py
        tensor.grad, tensor._grad_buffer = type(tensor).wrap(grad.copy() if borrowed else grad), None
    elif current.data.shape != grad.shape:
        raise RuntimeError(f"backward: the gradient {describe(grad)} does not fit the .grad "
                           f"{describe(current.data)} already held by a tensor of shape "
                           f"{describe(tensor.data)}; zero_grad() before changing its shape")
    elif current.data.dtype == grad.dtype:
        _add_into(current.data, grad)
    else:
        current.data = current.data + grad


def _add_into(total, grad):
    """total += grad, in place (``total`` is a C-contiguous buffer of the pass's own)."""
    elementwise.add_into(total.reshape(-1), flat(grad, total.dtype))


def _sum(a, b):
    """a + b for two gradients of one shape, as a new array."""
    if a.dtype != b.dtype:
        return a + b
    return elementwise.add(flat(a, a.dtype), flat(b, a.dtype)).reshape(a.shape)
