"""The baseline a reader of Grokking Deep Learning (ch. 13-14) would have: the book's design on NumPy.

A ``Tensor`` holds a NumPy array, records the tensors it was made from (``creators``) and how
(``creation_op``), and counts in each creator the ``children`` made from it. ``backward`` is
recursive, as in the book: a tensor adds up the gradients it receives and, once every child has
reported, passes the sum to its creators. Every op is one or two NumPy expressions; matrix
products use ``ndarray.dot`` (NumPy's BLAS).

Written for the benchmarks, with the book's evident bugs fixed so that the baseline is correct
and its speed does not drift during a long run:

- a child is forgotten once it has reported (the book kept it forever, so a parameter of a
  recurrent model checked an ever longer list at every use);
- an op's result takes part in autograd if any input does (the book required all), and
  gradients are computed only for inputs that take part (the data tensors do not);
- gradients are never modified in place, so two tensors may share one gradient array safely;
- cross-entropy is the batch mean with its true gradient (the book omitted the 1 / rows).

Ids come from a counter rather than the RNG, so building a model draws only its initial weights.
The small layers mirror jitgrad's (both are the book's API) but share no code with it, so the
baseline stays the same whatever jitgrad's internals become.
"""
import itertools

import numpy as np

_next_id = itertools.count().__next__


class Tensor:
    """An array and, when ``autograd``, the graph that made it.

    ``grad`` is a Tensor (without autograd) once a gradient has arrived, None before.
    """

    def __init__(self, data, autograd=False, creators=None, creation_op=None, saved=None):
        self.data = np.asarray(data)
        self.autograd = autograd
        self.creators = creators
        self.creation_op = creation_op
        self.saved = saved  # what this op's backward needs besides the creators' data
        self.grad = None
        self.children = {}
        self.id = _next_id()
        for creator in creators or ():
            if creator.autograd:
                creator.children[self.id] = creator.children.get(self.id, 0) + 1

    def _result(self, data, creation_op, others=(), saved=None):
        """A new Tensor for ``data``, made by ``creation_op`` from self and ``others``."""
        creators = [self, *others]
        if not any(c.autograd for c in creators):
            return Tensor(data)
        return Tensor(data, autograd=True, creators=creators, creation_op=creation_op,
                      saved=saved)

    # --- backward --------------------------------------------------------------------------
    def backward(self, grad=None, origin=None):
        """Receive ``grad`` (an array of this tensor's shape) from child ``origin``.

        Called by the user with no origin (and ``grad`` defaulting to ones) on the loss.
        """
        if not self.autograd:
            return
        if grad is None:
            grad = np.ones_like(self.data)
        if origin is not None:
            remaining = self.children.pop(origin.id) - 1
            if remaining:
                self.children[origin.id] = remaining
        self.grad = Tensor(grad if self.grad is None else self.grad.data + grad)
        if self.creators is None or (origin is not None and self.children):
            return  # a leaf, or some child has not reported yet
        for creator, creator_grad in zip(self.creators, self._creator_grads(self.grad.data)):
            if creator.autograd:
                creator.backward(creator_grad, origin=self)

    def _creator_grads(self, grad):
        """The gradient of each creator given this tensor's ``grad`` (None where unneeded)."""
        op, a = self.creation_op, self.creators[0]
        b = self.creators[1] if len(self.creators) > 1 else None
        if op == "add":
            return grad, grad
        if op == "sub":
            return grad, -grad
        if op == "mul":
            return (grad * b.data if a.autograd else None,
                    grad * a.data if b.autograd else None)
        if op == "neg":
            return (-grad,)
        if op == "mm":
            return (grad.dot(b.data.T) if a.autograd else None,
                    a.data.T.dot(grad) if b.autograd else None)
        if op == "transpose":
            return (grad.transpose(),)
        if op == "sum":
            dim = self.saved
            return (_repeat(grad, dim, a.data.shape[dim]),)
        if op == "expand":
            return (grad.sum(self.saved),)
        if op == "sigmoid":
            return (grad * self.data * (1 - self.data),)
        if op == "tanh":
            return (grad * (1 - self.data * self.data),)
        if op == "index_select":
            table_grad = np.zeros_like(a.data)
            np.add.at(table_grad, self.saved.reshape(-1), grad.reshape(self.saved.size, -1))
            return (table_grad,)
        if op == "cross_entropy":
            probs, targets = self.saved
            rows = np.arange(len(targets))
            logits_grad = probs.copy()
            logits_grad[rows, targets] -= 1
            logits_grad *= grad / len(targets)
            return (logits_grad.reshape(a.data.shape),)
        raise NotImplementedError(f"backward of {op!r}")

    # --- ops -------------------------------------------------------------------------------
    def __add__(self, other):
        return self._result(self.data + other.data, "add", [other])

    def __sub__(self, other):
        return self._result(self.data - other.data, "sub", [other])

    def __mul__(self, other):
        return self._result(self.data * other.data, "mul", [other])

    def __neg__(self):
        return self._result(-self.data, "neg")

    def mm(self, other):
        """(n, k).mm((k, m)) -> (n, m)."""
        return self._result(self.data.dot(other.data), "mm", [other])

    def transpose(self):
        return self._result(self.data.transpose(), "transpose")

    def sum(self, dim):
        """Sum over axis ``dim``, which disappears."""
        return self._result(self.data.sum(dim), "sum", saved=dim)

    def expand(self, dim, copies):
        """``copies`` repeats along a new axis at ``dim``: (3,).expand(0, 4) is (4, 3)."""
        return self._result(_repeat(self.data, dim, copies), "expand", saved=dim)

    def sigmoid(self):
        return self._result(1 / (1 + np.exp(-self.data)), "sigmoid")

    def tanh(self):
        return self._result(np.tanh(self.data), "tanh")

    def index_select(self, indices):
        """Rows of this (rows, width) table: (*indices.shape, width)."""
        return self._result(self.data[indices.data], "index_select", saved=indices.data)

    def cross_entropy(self, targets):
        """Mean over rows of -log softmax(logits)[row, target]: logits (rows, classes),
        int targets (rows,) -> a 0-d tensor."""
        logits = self.data.reshape(-1, self.data.shape[-1])
        labels = targets.data.reshape(-1)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(len(labels)), labels]).mean()
        return self._result(np.asarray(loss, dtype=logits.dtype), "cross_entropy",
                            saved=(probs, labels))


def _repeat(array, dim, copies):
    """``array`` repeated ``copies`` times along a new axis at ``dim``."""
    return np.repeat(np.expand_dims(array, dim), copies, axis=dim)


# --- layers ----------------------------------------------------------------------------------
class Layer:
    def __init__(self):
        self.parameters = []

    def get_parameters(self):
        return self.parameters


class Linear(Layer):
    """(batch, n_inputs) -> (batch, n_outputs): input.mm(weight) + bias repeated over the batch."""

    def __init__(self, n_inputs, n_outputs, bias=True, dtype=np.float64):
        super().__init__()
        weight = np.random.randn(n_inputs, n_outputs) * np.sqrt(2.0 / n_inputs)
        self.weight = Tensor(weight.astype(dtype), autograd=True)
        self.parameters.append(self.weight)
        self.bias = Tensor(np.zeros(n_outputs, dtype=dtype), autograd=True) if bias else None
        if bias:
            self.parameters.append(self.bias)

    def forward(self, input):
        out = input.mm(self.weight)
        return out if self.bias is None else out + self.bias.expand(0, len(input.data))


class Sequential(Layer):
    def __init__(self, layers):
        super().__init__()
        self.layers = layers

    def forward(self, input):
        for layer in self.layers:
            input = layer.forward(input)
        return input

    def get_parameters(self):
        return [p for layer in self.layers for p in layer.get_parameters()]


class Tanh(Layer):
    def forward(self, input):
        return input.tanh()


class Embedding(Layer):
    """int indices (batch,) -> rows of a (vocab_size, dim) table: (batch, dim)."""

    def __init__(self, vocab_size, dim, dtype=np.float64):
        super().__init__()
        weight = (np.random.rand(vocab_size, dim) - 0.5) / dim
        self.weight = Tensor(weight.astype(dtype), autograd=True)
        self.parameters.append(self.weight)

    def forward(self, input):
        return self.weight.index_select(input)


class LSTMCell(Layer):
    """(input (batch, n_inputs), (h, c) each (batch, n_hidden)) -> (output (batch, n_output),
    (h, c)), with one Linear per gate and input as the book has it."""

    GATES = ("f", "i", "o", "c")  # forget, input, output, candidate cell

    def __init__(self, n_inputs, n_hidden, n_output, dtype=np.float64):
        super().__init__()
        self.n_hidden, self.dtype = n_hidden, dtype
        self.from_input = {g: Linear(n_inputs, n_hidden, dtype=dtype) for g in self.GATES}
        self.from_hidden = {g: Linear(n_hidden, n_hidden, bias=False, dtype=dtype)
                            for g in self.GATES}
        self.w_ho = Linear(n_hidden, n_output, bias=False, dtype=dtype)
        for layer in [*self.from_input.values(), *self.from_hidden.values(), self.w_ho]:
            self.parameters += layer.get_parameters()

    def forward(self, input, hidden):
        prev_h, prev_c = hidden
        gate = {g: self.from_input[g].forward(input) + self.from_hidden[g].forward(prev_h)
                for g in self.GATES}
        f, i, o = gate["f"].sigmoid(), gate["i"].sigmoid(), gate["o"].sigmoid()
        c = f * prev_c + i * gate["c"].tanh()
        h = o * c.tanh()
        return self.w_ho.forward(h), (h, c)

    def init_hidden(self, batch_size=1):
        """The book's starting state: zeros but for a 1 in the first unit of h and of c."""
        state = np.zeros((batch_size, self.n_hidden), dtype=self.dtype)
        state[:, 0] = 1
        return Tensor(state, autograd=True), Tensor(state.copy(), autograd=True)


# --- losses and optimizer --------------------------------------------------------------------
class MSELoss(Layer):
    """Squared error summed over the batch: (batch, n), (batch, n) -> (n,)."""

    def forward(self, pred, target):
        return ((pred - target) * (pred - target)).sum(0)


class CrossEntropyLoss(Layer):
    def forward(self, input, target):
        return input.cross_entropy(target)


class SGD:
    """p.data -= alpha * p.grad.data for each parameter; then the gradients are dropped."""

    def __init__(self, parameters, alpha=0.1):
        self.parameters = parameters
        self.alpha = alpha

    def step(self, zero=True):
        for p in self.parameters:
            p.data -= self.alpha * p.grad.data
            if zero:
                p.grad = None
