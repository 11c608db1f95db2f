"""The backward pass: the book's children accounting, run as a loop instead of recursion.

The book lets every tensor wait until each of its ``children`` has sent a gradient, then pass
the sum on to its ``creators``. Counting every child ever recorded stalls on children that do
not lead to the tensor ``backward`` was called on (an RNN step's unused output), so the pass
first recounts ``children`` over the part of the graph that does lead there. Tensors are then
processed in that dependency order with an explicit stack, so graph depth is unlimited.
"""
import numpy as np

from kernels import elementwise

from . import anomaly
from . import tensor as _tensor  # circular, used only at call time


def backward(root, grad):
    """Send ``grad`` (an array of root's shape) back through the graph that made ``root``."""
    nodes = _recount_children(root)
    pending = {root: grad.astype(root._grad_dtype(), copy=True)}
    owned = _BufferOwnership()
    ready = [root]
    while ready:
        node = ready.pop()
        node_grad = pending.pop(node)
        _store_grad(node, node_grad, owned)
        op, node._op = node._op, None  # freed as it is used: a graph is back-propagated once
        if op is None:
            continue
        needs = [creator.autograd for creator in node.creators]
        creator_grads = op.backward(node_grad, needs)
        if anomaly.switch.active:
            anomaly.check_backward(node, node_grad, creator_grads)
        for creator, creator_grad in zip(node.creators, creator_grads):
            if not creator.autograd:
                continue
            creator_grad = creator_grad.astype(creator._grad_dtype(), copy=False)
            if creator in pending:  # a tensor used several times sums its gradients
                pending[creator] = _add(pending[creator], creator_grad)
            else:
                pending[creator] = creator_grad
            uses = creator.children[node.id] - 1
            if uses:
                creator.children[node.id] = uses
            else:
                del creator.children[node.id]
            if not creator.children:  # every child that leads to root has been heard from
                ready.append(creator)


def _recount_children(root):
    """Reset ``children`` of every tensor that leads to ``root`` to the uses that lead there.

    Raises before anything changes if part of the graph was already back-propagated.
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
    return nodes


class _BufferOwnership:
    """Makes sure no two tensors' ``.grad`` share memory (the book's add gave both inputs the
    same gradient object, so zeroing one parameter's gradient zeroed the other's too)."""

    def __init__(self):
        self._claimed = set()

    def claim(self, array):
        """``array``, or a copy of it if another tensor's ``.grad`` already uses its memory."""
        if id(_memory_owner(array)) in self._claimed:
            array = array.copy()
        self._claimed.add(id(_memory_owner(array)))
        return array


def _memory_owner(array):
    """The object that owns ``array``'s memory: the same for an array and all its views."""
    owner = array
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    return owner


def _store_grad(node, grad, owned):
    """Set ``node.grad`` to ``grad``, or add ``grad`` into the gradient it already has."""
    if node.grad is None or node.grad.data.shape != grad.shape:
        node.grad = _tensor.Tensor.wrap(owned.claim(grad))
    elif node.grad.data.dtype == grad.dtype:
        np.add(node.grad.data, grad, out=node.grad.data)  # in place: the buffer is node's own
    else:
        node.grad.data = node.grad.data + grad


def _add(a, b):
    """a + b for two gradients of one shape, as a new array."""
    if a.dtype != b.dtype:
        return a + b
    return elementwise.add(np.ascontiguousarray(a).reshape(-1),
                           np.ascontiguousarray(b).reshape(-1)).reshape(a.shape)
