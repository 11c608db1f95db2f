"""Random computation graphs from every op, drawn by hypothesis, for gradient tests.

A graph is a ``Program``: a list of nodes, each a leaf (an input of some shape) or an op on
earlier nodes. The last node is the output. Ops pick their inputs among all earlier nodes, so
tensors get used several times and nodes that do not lead to the output are dead-end branches.

Programs are plain data, so one program runs many times and on several libraries: ``run``
takes a table of op implementations, ``JITGRAD_OPS`` here, a torch one in the torch test.
Shapes stay small (at most 3-D, sides 1 to 3) so finite differences stay cheap. Elementwise
ops take equal shapes, a 0-d operand, or (the ``broadcast`` rules) shapes NumPy broadcasts.
"""
import dataclasses
import math
import operator

import numpy as np
from hypothesis import strategies as st

import jitgrad
from jitgrad import Tensor
from jitgrad.nn import functional as F

MAX_NDIM = 3
SIDES = st.integers(1, 3)


@dataclasses.dataclass(frozen=True)
class Node:
    """``op`` applied to the nodes at positions ``inputs``, with extra arguments ``params``;
    a leaf has op ``"leaf"`` and no inputs. ``shape`` is the shape of its value."""

    op: str
    shape: tuple
    inputs: tuple = ()
    params: tuple = ()


@dataclasses.dataclass(frozen=True)
class Program:
    nodes: tuple

    @property
    def leaf_shapes(self):
        return [node.shape for node in self.nodes if node.op == "leaf"]

    @property
    def leaf_positions(self):
        return [position for position, node in enumerate(self.nodes) if node.op == "leaf"]

    def needed_by_output(self):
        """The positions of the nodes the output depends on, its own included."""
        needed = {len(self.nodes) - 1}
        for position in range(len(self.nodes) - 1, -1, -1):
            if position in needed:
                needed.update(self.nodes[position].inputs)
        return needed

    def leads_to_output(self):
        """For each leaf, in order: whether the output depends on it."""
        needed = self.needed_by_output()
        return [position in needed for position in self.leaf_positions]

    def on_paths_from(self, start):
        """The positions of the nodes on some path from node ``start`` to the output, both
        ends included (none if the output does not depend on ``start``)."""
        reached = {start}
        for position in range(start + 1, len(self.nodes)):
            if reached.intersection(self.nodes[position].inputs):
                reached.add(position)
        return reached & self.needed_by_output()


# --- how each op's node is drawn -------------------------------------------------------------
# Each rule takes hypothesis's ``draw`` and the nodes so far, and appends the new node (plus any
# fresh leaf it needs). A rule whose operand is missing (no 2-D node for mm) adds a leaf for it.

def _pick(draw, nodes, fits=lambda shape: True):
    """The position of an earlier node whose shape ``fits``, or None.

    Mostly the newest, so that graphs grow deep rather than wide; sometimes any of them, so
    that nodes are reused and some branches end without reaching the output.
    """
    candidates = [i for i, node in enumerate(nodes) if fits(node.shape)]
    if not candidates:
        return None
    if draw(st.integers(0, 3)):
        return candidates[-1]
    return draw(st.sampled_from(candidates))


def _pick_or_add_leaf(draw, nodes, fits, shape_strategy, fresh=st.booleans()):
    """A fitting earlier node, or (when ``fresh`` draws True, or none fits) a fresh leaf."""
    position = _pick(draw, nodes, fits)
    if position is None or draw(fresh):
        nodes.append(Node("leaf", draw(shape_strategy)))
        position = len(nodes) - 1
    return position


def _shapes(min_ndim=0, max_ndim=MAX_NDIM):
    return st.lists(SIDES, min_size=min_ndim, max_size=max_ndim).map(tuple)


def _binary(op):
    """add, sub, mul, div: equal shapes, or one operand 0-d (on either side)."""
    def rule(draw, nodes):
        x = _pick(draw, nodes)
        shape = nodes[x].shape
        y = _pick_or_add_leaf(draw, nodes, lambda s: s in (shape, ()), st.sampled_from([shape, ()]))
        if draw(st.booleans()):
            x, y = y, x
        nodes.append(Node(op, max(nodes[x].shape, nodes[y].shape, key=len), (x, y)))
    return rule


def _scalar(draw, nodes):
    """A Python number with an op on either side: ``x * 0.5``, ``1.5 - x``, ..."""
    x = _pick(draw, nodes)
    params = (draw(st.sampled_from(["add", "sub", "mul", "div"])), draw(st.booleans()),
              draw(st.sampled_from([-1.5, 0.5, 2.0])))
    nodes.append(Node("scalar", nodes[x].shape, (x,), params))


def _unary(op, min_ndim=0):
    def rule(draw, nodes):
        x = _pick(draw, nodes, lambda s: len(s) >= min_ndim)
        if x is not None:
            nodes.append(Node(op, nodes[x].shape, (x,)))
    return rule


def _sum(draw, nodes):
    """sum(dim) over any dim, or sum() over everything."""
    x = _pick(draw, nodes)
    shape = nodes[x].shape
    dim = draw(st.sampled_from([None, *range(len(shape))]))
    out = () if dim is None else shape[:dim] + shape[dim + 1:]
    nodes.append(Node("sum", out, (x,), (dim,)))


def _expand(draw, nodes):
    """expand(dim, copies) at any position of a node of at most 2 dims."""
    x = _pick(draw, nodes, lambda s: len(s) < MAX_NDIM)
    if x is None:
        return
    shape = nodes[x].shape
    dim, copies = draw(st.integers(0, len(shape))), draw(SIDES)
    nodes.append(Node("expand", shape[:dim] + (copies,) + shape[dim:], (x,), (dim, copies)))


def _transpose(draw, nodes):
    x = _pick(draw, nodes)
    nodes.append(Node("transpose", nodes[x].shape[::-1], (x,)))


def _mm(draw, nodes):
    """x.mm(y): x any 2-D node (n, k), y any (k, m) node, either one maybe a fresh leaf.
    An mm's output is 2-D again, so later mm's chain onto it."""
    x = _pick_or_add_leaf(draw, nodes, lambda s: len(s) == 2, _shapes(2, 2), st.just(False))
    k = nodes[x].shape[1]
    y = _pick_or_add_leaf(draw, nodes, lambda s: len(s) == 2 and s[0] == k,
                          SIDES.map(lambda m: (k, m)))
    nodes.append(Node("mm", (nodes[x].shape[0], nodes[y].shape[1]), (x, y)))


def _index_select(draw, nodes):
    """Rows of a 1-D or 2-D node, picked by 1-D or 2-D indices that repeat freely."""
    x = _pick(draw, nodes, lambda s: 1 <= len(s) <= 2)
    if x is None:
        return
    shape = nodes[x].shape
    index_shape = draw(_shapes(1, MAX_NDIM - len(shape) + 1))
    flat = draw(st.lists(st.integers(0, shape[0] - 1), min_size=math.prod(index_shape),
                         max_size=math.prod(index_shape)))
    indices = np.array(flat, dtype=np.int64).reshape(index_shape)
    nodes.append(Node("index_select", index_shape + shape[1:], (x,), (indices,)))


def _cross_entropy(draw, nodes):
    """Mean cross-entropy of a node's last dim (the classes) against one target per row."""
    x = _pick(draw, nodes, lambda s: len(s) >= 1)
    if x is None:
        return
    shape = nodes[x].shape
    flat = draw(st.lists(st.integers(0, shape[-1] - 1), min_size=math.prod(shape[:-1]),
                         max_size=math.prod(shape[:-1])))
    targets = np.array(flat, dtype=np.int64).reshape(shape[:-1])
    nodes.append(Node("cross_entropy", (), (x,), (targets,)))


def _broadcast(op):
    """add, sub, mul, div of an earlier node and an operand it broadcasts with: the node's
    shape with some dims set to 1 and some leading dims dropped, on either side."""
    def rule(draw, nodes):
        x = _pick(draw, nodes)
        shape = nodes[x].shape
        other = tuple(1 if draw(st.booleans()) else size for size in shape)
        other = other[draw(st.integers(0, len(other))):]
        nodes.append(Node("leaf", other))
        operands = (x, len(nodes) - 1) if draw(st.booleans()) else (len(nodes) - 1, x)
        nodes.append(Node(op, np.broadcast_shapes(shape, other), operands))
    return rule


def _reduce(op):
    """sum or mean over a tuple of dims (maybe none of them: every dim), maybe keeping them."""
    def rule(draw, nodes):
        x = _pick(draw, nodes)
        shape = nodes[x].shape
        dims = tuple(sorted(draw(st.sets(st.integers(0, len(shape) - 1), max_size=len(shape)))
                            if shape else ()))
        keepdim = draw(st.booleans())
        dims_or_all = dims or tuple(range(len(shape)))
        out = tuple(1 if d in dims_or_all else size for d, size in enumerate(shape)) if keepdim \
            else tuple(size for d, size in enumerate(shape) if d not in dims_or_all)
        nodes.append(Node(op, out, (x,), (dims or None, keepdim)))
    return rule


def _permute(draw, nodes):
    x = _pick(draw, nodes)
    dims = tuple(draw(st.permutations(range(len(nodes[x].shape)))))
    nodes.append(Node("permute", tuple(nodes[x].shape[d] for d in dims), (x,), (dims,)))


def _flatten(draw, nodes):
    x = _pick(draw, nodes, lambda s: len(s) >= 1)
    if x is not None:
        nodes.append(Node("flatten", (math.prod(nodes[x].shape),), (x,)))


def _slice(draw, nodes):
    """x[..., start:] along the last dim, or x[index_array] along the first (repeats)."""
    x = _pick(draw, nodes, lambda s: len(s) >= 1)
    if x is None:
        return
    shape = nodes[x].shape
    if draw(st.booleans()):
        start = draw(st.integers(0, shape[-1] - 1))
        nodes.append(Node("slice", shape[:-1] + (shape[-1] - start,), (x,), (start,)))
    else:
        rows = np.array(draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=4)))
        nodes.append(Node("take_rows", (len(rows),) + shape[1:], (x,), (rows,)))


def _cat(draw, nodes):
    """cat of an earlier node and a fresh leaf along its first dim."""
    x = _pick(draw, nodes, lambda s: len(s) >= 1)
    if x is None:
        return
    shape = nodes[x].shape
    nodes.append(Node("leaf", (draw(SIDES),) + shape[1:]))
    nodes.append(Node("cat", (shape[0] + nodes[-1].shape[0],) + shape[1:], (x, len(nodes) - 1)))


RULES = {
    "add": _binary("add"), "sub": _binary("sub"), "mul": _binary("mul"), "div": _binary("div"),
    "broadcast add": _broadcast("add"), "broadcast sub": _broadcast("sub"),
    "broadcast mul": _broadcast("mul"), "broadcast div": _broadcast("div"),
    "sum dims": _reduce("sum dims"), "mean": _reduce("mean"), "permute": _permute,
    "flatten": _flatten, "slice": _slice, "cat": _cat, "gelu": _unary("gelu"),
    "log_softmax": _unary("log_softmax", min_ndim=1), "square": _unary("square"),
    "neg": _unary("neg"), "scalar": _scalar, "sum": _sum, "expand": _expand,
    "transpose": _transpose, "mm": _mm, "sigmoid": _unary("sigmoid"), "tanh": _unary("tanh"),
    "softmax": _unary("softmax", min_ndim=1), "index_select": _index_select,
    "cross_entropy": _cross_entropy,
}


@st.composite
def programs(draw, max_ops=12):
    """A random Program of 2 to ``max_ops`` ops, whose last node is an op's output."""
    nodes = [Node("leaf", draw(_shapes()))]
    for _ in range(draw(st.integers(2, max_ops))):
        RULES[draw(st.sampled_from(sorted(RULES)))](draw, nodes)
    if nodes[-1].op == "leaf":  # the last rule only added a leaf, or found no operand
        _unary("tanh")(draw, nodes)
    return Program(tuple(nodes))


# --- running a program -------------------------------------------------------------------------

def _scalar_op(x, kind, scalar_first, c):
    """``c <kind> x`` or ``x <kind> c``; a scalar divided by x divides by x*x + 1 instead."""
    if kind == "div":
        return c / (x * x + 1.0) if scalar_first else x / c
    apply = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}[kind]
    return apply(c, x) if scalar_first else apply(x, c)


#: What both libraries spell the same. Division is by y*y + 1 (always >= 1), so finite
#: differences never straddle a pole.
COMMON_OPS = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (y * y + 1.0),
    "neg": lambda x: -x,
    "scalar": _scalar_op,
    "mm": lambda x, y: x.mm(y),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "sum dims": lambda x, dims, keepdim: x.sum(dims, keepdim=keepdim) if dims else
    x.sum(tuple(range(x.ndim)), keepdim=keepdim),
    "mean": lambda x, dims, keepdim: x.mean(dims, keepdim=keepdim) if dims else
    x.mean(tuple(range(x.ndim)), keepdim=keepdim),
    "permute": lambda x, dims: x.permute(dims),
    "flatten": lambda x: x.flatten(),
    "slice": lambda x, start: x[..., start:],
    "square": lambda x: x ** 2,
}

JITGRAD_OPS = {
    **COMMON_OPS,
    "sum": lambda x, dim: x.sum(dim),
    "expand": lambda x, dim, copies: x.expand(dim, copies),
    "transpose": lambda x: x.transpose(),
    "softmax": lambda x: x.softmax(),
    "index_select": lambda x, indices: x.index_select(Tensor(indices)),
    "cross_entropy": lambda x, targets: x.cross_entropy(Tensor(targets)),
    "take_rows": lambda x, rows: x[Tensor(rows)],
    "cat": lambda x, y: jitgrad.cat([x, y], 0),
    "gelu": lambda x: F.gelu(x),
    "log_softmax": lambda x: F.log_softmax(x, -1),
}


def run(program, leaves, ops=JITGRAD_OPS):
    """The output of ``program`` with ``leaves`` (one value per leaf, in order) as inputs."""
    return run_every_node(program, leaves, ops)[-1]


def run_every_node(program, leaves, ops=JITGRAD_OPS):
    """The value of every node of ``program``, in order, the leaves being ``leaves``."""
    values, leaves = [], iter(leaves)
    for node in program.nodes:
        if node.op == "leaf":
            values.append(next(leaves))
        else:
            values.append(ops[node.op](*(values[i] for i in node.inputs), *node.params))
    return values


def leaf_values(program, seed, dtype=np.float64):
    """Random inputs in [-2, 2] for every leaf of ``program``, rounded through float32 so
    that float32 and float64 runs start from the same numbers."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, shape).astype(np.float32).astype(dtype)
            for shape in program.leaf_shapes]
