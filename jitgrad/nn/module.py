"""``Module`` (the book's ``Layer``): a piece of a model, its parameters, names and state.

The base of every layer, the book's (``jitgrad.book``) and PyTorch's (``jitgrad.nn``):
``parameters`` serves both styles, names follow the attributes as in PyTorch, and
``train()``/``eval()``/``to()``/``state_dict()`` work on the whole tree of layers.
"""
import numpy as np

from jitgrad.autograd import engine as autograd
from jitgrad.autograd import recording
from jitgrad.autograd.recording import recorded
from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.dtypes import describe, parameter_dtype


class ParameterList(list):
    """The list behind a layer's ``parameters`` attribute, which can also be called.

    Written to, it is the book's list: ``self.parameters.append(p)`` and
    ``self.parameters += layer.get_parameters()`` change the layer's own list. Read (len,
    iteration, indexing) and called, it gives *all* the layer's parameters,
    ``layer.get_parameters()``: for the book's layers that is the same list, and for a
    Sequential or a PyTorch-style model whose own list stays empty it is their layers'
    parameters, so ``len(model.parameters)`` is never silently 0.
    """

    def __init__(self, layer, values=()):
        super().__init__(values)
        self.layer = layer

    def __call__(self):
        return list(self.layer.get_parameters())

    def own(self):
        """The parameters appended to this list itself (a plain list)."""
        return list.copy(self)

    def __iter__(self):
        return iter(self.layer.get_parameters())

    def __len__(self):
        return len(self.layer.get_parameters())

    def __getitem__(self, index):
        return self.layer.get_parameters()[index]

    def __contains__(self, tensor):
        return any(tensor is p for p in self.layer.get_parameters())

    def __eq__(self, other):  # by identity: Tensor's == is elementwise
        mine, theirs = list(self), list(other)
        return len(mine) == len(theirs) and all(a is b for a, b in zip(mine, theirs))

    __hash__ = None

    def __repr__(self):
        return repr(list(self))

class Layer:
    """A piece of a model: ``forward(...)`` (also ``layer(...)``) and its parameters.

    ``parameters`` serves two styles at once. The book's code treats it as a list attribute
    (``self.parameters = list()``, ``.append(p)``, ``+= other.get_parameters()``), and
    ``get_parameters()`` returns it; PyTorch-style code calls ``model.parameters()``. Any list
    assigned to it becomes a ``ParameterList``, so both work.

    ``get_parameters()`` is the layer's own list followed by every parameter (a leaf Tensor
    with ``autograd=True``) held by its attributes, directly, in layers, or in lists of them,
    each once. A PyTorch-style model that only assigns ``self.fc = Linear(...)`` has them all.

    Names (``named_parameters()``, ``state_dict()``) follow the attributes, as in PyTorch:
    ``fc.weight``, ``cell.xf.bias``, ``0.weight`` in a Sequential; a parameter only in the
    book's list is ``parameters.<i>``. ``buffers`` names array attributes that are state but
    not parameters (BatchNorm's running statistics): they are saved and converted too.

    ``train()`` and ``eval()`` set ``training`` on the layer and every layer inside it.
    """

    buffers = ()

    def __init__(self):
        self.parameters = []

    @property
    def parameters(self):
        if "_parameters" not in vars(self):  # a subclass that never called Layer.__init__
            self._parameters = ParameterList(self)
        return self._parameters

    @parameters.setter
    def parameters(self, values):
        if not (isinstance(values, ParameterList) and values.layer is self):  # += keeps it
            values = ParameterList(self, values)
        self._parameters = values

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def get_parameters(self):
        found = UniqueList(self.parameters.own())
        for _, child in self.named_children():
            found.extend(child.get_parameters() if isinstance(child, Layer) else [child])
        return found.items

    # --- the tree of layers ---------------------------------------------------------------
    def named_children(self):
        """(name, Layer or parameter Tensor) held by this layer's attributes, in their order;
        a list or tuple attribute gives ``name.<i>`` for each item."""
        children = []
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (list, tuple)):
                children += [(f"{name}.{i}", item) for i, item in enumerate(value) if is_child(item)]
            elif is_child(value):
                children.append((name, value))
        return children

    def named_parameters(self, prefix=""):
        """[(name, Tensor)] in ``get_parameters()`` order, e.g. ``("0.weight", tensor)``."""
        names = {}
        self._collect_names(prefix, names)
        return [(names[id(p)], p) for p in self.get_parameters()]

    def _collect_names(self, prefix, names):
        """Map id(tensor) to its first attribute path under this layer; a parameter only in
        the book's list is ``parameters.<i>``."""
        for name, child in self.named_children():
            if isinstance(child, Layer):
                child._collect_names(f"{prefix}{name}.", names)
            else:
                names.setdefault(id(child), prefix + name)
        for i, p in enumerate(self.parameters.own()):
            names.setdefault(id(p), f"{prefix}parameters.{i}")

    def layers_within(self):
        """This layer and every Layer reachable through its attributes (and lists of them)."""
        found, stack = {}, [self]
        while stack:
            layer = stack.pop()
            if id(layer) in found:
                continue
            found[id(layer)] = layer
            stack.extend(child for _, child in layer.named_children() if isinstance(child, Layer))
        return list(found.values())

    def named_buffers(self, prefix=""):
        """[(name, array)] of every layer's ``buffers`` attributes."""
        out = [(prefix + name, getattr(self, name)) for name in self.buffers]
        for name, child in self.named_children():
            if isinstance(child, Layer):
                out += child.named_buffers(f"{prefix}{name}.")
        return out

    # --- state ----------------------------------------------------------------------------
    def state_dict(self):
        """{name: array copy} of every parameter, then every buffer, in order."""
        return {name: np.array(value, copy=True) for name, value in self._state_items()}

    def load_state_dict(self, state, strict=True):
        """Copy ``state`` ({name: array or Tensor}) into the parameters and buffers, in place.

        Names, shapes and dtypes must match; with ``strict`` every name must be present and no
        other given. Raises one KeyError-like ``StateDictError`` that lists every problem,
        changing nothing. Returns (missing, unexpected) names.
        """
        if not hasattr(state, "items"):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict of "
                            f"{{name: array}}, got {type(state).__name__}")
        own = dict(self._state_items())
        given = {name: np.asarray(getattr(value, "data", value)) for name, value in state.items()}
        missing = [name for name in own if name not in given]
        unexpected = [name for name in given if name not in own]
        mismatched = [f"{name}: {describe(given[name])} given, {describe(own[name])} in the model"
                      for name in own if name in given and (given[name].shape != own[name].shape
                                                            or given[name].dtype != own[name].dtype)]
        problems = [f"mismatched {m}" for m in mismatched]
        if strict:
            problems += [f"missing {name}" for name in missing]
            problems += [f"unexpected {name}" for name in unexpected]
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: "
                                 f"{len(problems)} problem(s): " + "; ".join(problems))
        for name, target in own.items():
            if name in given:
                target[...] = given[name]
        return missing, unexpected

    def _state_items(self):
        return [(name, p.data) for name, p in self.named_parameters()] + self.named_buffers()

    @recorded
    def zero_grad(self, set_to_none=True):
        """Release every parameter's gradient (None), or fill it with zeros."""
        for p in self.get_parameters():
            autograd.zero_grad(p, set_to_none)

    def to(self, dtype):
        """Convert every parameter and buffer to ``dtype`` (float32 or float64), in place;
        returns the layer. Gradients are dropped. Create optimizers after this."""
        dtype = parameter_dtype(dtype)
        for p in self.get_parameters():
            if p.data.dtype != dtype:
                p.data, p.grad, p._grad_buffer = p.data.astype(dtype), None, None
        for layer in self.layers_within():
            for name in layer.buffers:
                setattr(layer, name, getattr(layer, name).astype(dtype))
            if isinstance(vars(layer).get("dtype"), (type, np.dtype)):  # init_hidden's dtype
                layer.dtype = dtype
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # --- modes ----------------------------------------------------------------------------
    @property
    def training(self):
        """Whether the layer is in training mode. A step being compiled notes which layers'
        modes it read, and records it again when one of them changes."""
        if recording.switch.active:
            recording.switch.tape.mode_read(self)
        return vars(self).get("_training", True)

    @training.setter
    def training(self, mode):
        self._training = mode

    def train(self, mode=True):
        """Put this layer and every layer inside it in training mode (``mode=False``: eval)."""
        for layer in self.layers_within():
            layer.training = mode
        return self

    def eval(self):
        """Put this layer and every layer inside it in evaluation mode (no dropout)."""
        return self.train(False)

    # --- repr -----------------------------------------------------------------------------
    def extra_repr(self):
        """The layer's settings for ``repr``, e.g. ``in_features=3, out_features=4``."""
        return ""

    def __repr__(self):
        lines = [f"({name}): {indent(repr(child))}" for name, child in self.named_children()
                 if isinstance(child, Layer)]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(([extra] if extra else []) + lines) + "\n)"

Module = Layer  # PyTorch's name for the same class

class StateDictError(KeyError):
    """A state dict that does not fit a model: names, shapes or dtypes."""

    def __str__(self):  # KeyError's str() would quote the message
        return self.args[0]

class UniqueList:
    """A list that keeps each object once (by identity), in first-seen order."""

    def __init__(self, items=()):
        self.items, self._seen = [], set()
        self.extend(items)

    def extend(self, items):
        for item in items:
            if id(item) not in self._seen:
                self._seen.add(id(item))
                self.items.append(item)

def is_child(value):
    """A Layer, or a parameter: a leaf Tensor that wants gradients."""
    return isinstance(value, Layer) or (isinstance(value, Tensor) and value.autograd
                                        and value.creators is None)

def indent(text):
    return text.replace("\n", "\n  ")
