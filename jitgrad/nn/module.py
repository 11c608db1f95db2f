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
from jitgrad.nn.parameter import Parameter


class ParametersAttribute(list):
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

    def __call__(self, recurse=True):
        if not recurse:
            return [p for _, p in self.layer.named_parameters(recurse=False)]
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
    assigned to it becomes a ``ParametersAttribute``, so both work.

    ``get_parameters()`` is the layer's own list, then every parameter (a leaf Tensor with
    ``autograd=True``) held directly by its attributes, then its sublayers' parameters (in
    layers, or in lists of them), each once: PyTorch's order. A PyTorch-style model that only
    assigns ``self.fc = Linear(...)`` has them all.

    Names (``named_parameters()``, ``state_dict()``) follow the attributes, as in PyTorch:
    ``fc.weight``, ``cell.xf.bias``, ``0.weight`` in a Sequential; a parameter only in the
    book's list is ``parameters.<i>``. Buffers (``register_buffer``: state that is not a
    parameter, as BatchNorm's running statistics, arrays or Tensors) are saved and converted
    too; ``state_dict()`` lists each layer's parameters, then its buffers, layer by layer.

    ``train()`` and ``eval()`` set ``training`` on the layer and every layer inside it.
    """

    def __init__(self):
        self.parameters = []

    @property
    def parameters(self):
        if "_parameters" not in vars(self):  # a subclass that never called Layer.__init__
            self._parameters = ParametersAttribute(self)
        return self._parameters

    @parameters.setter
    def parameters(self, values):
        if not (isinstance(values, ParametersAttribute) and values.layer is self):  # += keeps it
            values = ParametersAttribute(self, values)
        self._parameters = values

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def get_parameters(self):
        found = UniqueList(self.parameters.own())
        entries = self._entries()
        found.extend(child for _, child in entries if not isinstance(child, Layer))
        for _, child in entries:
            if isinstance(child, Layer):
                found.extend(child.get_parameters())
        return found.items

    # --- PyTorch's registration: what attribute assignment does in torch ------------------
    def register_buffer(self, name, tensor, persistent=True):
        """Keep ``tensor`` (an array or a Tensor, or None) as the buffer ``name``: state
        saved by ``state_dict()`` (unless not ``persistent``) and converted by ``to()``."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{type(self).__name__}.register_buffer: bad buffer name {name!r}")
        names = vars(self).setdefault("_buffer_names", {})
        names[name] = persistent
        setattr(self, name, tensor)

    def register_parameter(self, name, param):
        """``setattr(self, name, param)``: attributes holding parameters are registered."""
        setattr(self, name, param)

    def add_module(self, name, module):
        """``setattr(self, name, module)``: attributes holding layers are registered."""
        setattr(self, name, module)

    register_module = add_module

    # --- the tree of layers ---------------------------------------------------------------
    def _entries(self):
        """(name, Layer or parameter Tensor) held by this layer's attributes, in their order;
        a list or tuple attribute gives ``name.<i>`` for each item."""
        entries = []
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (list, tuple)):
                entries += [(f"{name}.{i}", item) for i, item in enumerate(value) if is_child(item)]
            elif is_child(value):
                entries.append((name, value))
        return entries

    def named_children(self):
        """[(name, Layer)] of the layers this one holds directly, each once."""
        seen, children = set(), []
        for name, child in self._entries():
            if isinstance(child, Layer) and id(child) not in seen:
                seen.add(id(child))
                children.append((name, child))
        return children

    def children(self):
        return [child for _, child in self.named_children()]

    def named_modules(self, memo=None, prefix=""):
        """[(name, Layer)] of this layer ("") and every layer inside it, each once, in
        PyTorch's order (depth first, in attribute order)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return []
        memo.add(id(self))
        found = [(prefix, self)]
        for name, child in self.named_children():
            found += child.named_modules(memo, f"{prefix}.{name}" if prefix else name)
        return found

    def modules(self):
        return [module for _, module in self.named_modules()]

    def layers_within(self):
        """This layer and every Layer reachable through its attributes (and lists of them)."""
        return self.modules()

    def apply(self, fn):
        """Call ``fn`` on every sublayer, then on this layer (PyTorch's order); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def named_parameters(self, prefix="", recurse=True):
        """[(name, Tensor)] in ``get_parameters()`` order, e.g. ``("0.weight", tensor)``."""
        names = {}
        self._collect_names(prefix, names)
        params = self.get_parameters() if recurse else self._own_parameters()
        return [(names[id(p)], p) for p in params]

    def _own_parameters(self):
        found = UniqueList(self.parameters.own())
        found.extend(child for _, child in self._entries() if not isinstance(child, Layer))
        return found.items

    def _collect_names(self, prefix, names):
        """Map id(tensor) to its first attribute path under this layer; a parameter only in
        the book's list is ``parameters.<i>``."""
        entries = self._entries()
        for name, child in entries:
            if not isinstance(child, Layer):
                names.setdefault(id(child), prefix + name)
        for name, child in entries:
            if isinstance(child, Layer):
                child._collect_names(f"{prefix}{name}.", names)
        for i, p in enumerate(self.parameters.own()):
            names.setdefault(id(p), f"{prefix}parameters.{i}")

    def named_buffers(self, prefix="", recurse=True, persistent_only=False):
        """[(name, buffer)]: this layer's buffers, then (``recurse``) its sublayers'."""
        out = [(prefix + name, getattr(self, name))
               for name, persistent in vars(self).get("_buffer_names", {}).items()
               if getattr(self, name) is not None and (persistent or not persistent_only)]
        if recurse:
            for name, child in self.named_children():
                out += child.named_buffers(f"{prefix}{name}.", True, persistent_only)
        return out

    def buffers(self, recurse=True):
        return [buffer for _, buffer in self.named_buffers(recurse=recurse)]

    def requires_grad_(self, requires_grad=True):
        """Whether gradients flow to every parameter; returns self."""
        for p in self.get_parameters():
            p.autograd = requires_grad
        return self

    # --- state ----------------------------------------------------------------------------
    def state_dict(self):
        """{name: array copy}: each layer's parameters, then its persistent buffers, layer by
        layer (PyTorch's order and names)."""
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
        given = {name: as_state_array(value) for name, value in state.items()}
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
        """[(name, array)] of the parameters and persistent buffers, layer by layer."""
        rank = {name: i for i, (name, _) in enumerate(self.named_modules())}
        items = [((rank.get(owner(name), 0), 0), name, p.data)
                 for name, p in self.named_parameters()]
        items += [((rank.get(owner(name), 0), 1), name, array_of(b))
                  for name, b in self.named_buffers(persistent_only=True)]
        return [(name, array) for _, name, array in sorted(items, key=lambda item: item[0])]

    @recorded
    def zero_grad(self, set_to_none=True):
        """Release every parameter's gradient (None), or fill it with zeros."""
        for p in self.get_parameters():
            autograd.zero_grad(p, set_to_none)

    def to(self, *args, dtype=None, **kwargs):
        """Convert every parameter and float buffer to ``dtype`` (float32 or float64), in
        place; returns the layer. Gradients are dropped. Create optimizers after this.
        A device (``"cpu"``) is accepted and ignored: jitgrad runs on the CPU."""
        for arg in args:
            if is_device(arg):
                continue
            if dtype is not None:
                raise TypeError(f"{type(self).__name__}.to: two dtypes given")
            dtype = arg
        if not is_device(kwargs.pop("device", "cpu")) or kwargs:
            raise TypeError(f"{type(self).__name__}.to: unexpected arguments {kwargs}")
        if dtype is None:
            return self
        dtype = parameter_dtype(dtype)
        for p in self.get_parameters():
            if p.data.dtype != dtype:
                p.data, p.grad, p._grad_buffer = p.data.astype(dtype), None, None
        for layer in self.layers_within():
            for name in vars(layer).get("_buffer_names", {}):
                buffer = getattr(layer, name)
                if buffer is not None and array_of(buffer).dtype.kind == "f":
                    setattr(layer, name, convert_buffer(buffer, dtype))
            if isinstance(vars(layer).get("dtype"), (type, np.dtype)):  # init_hidden's dtype
                layer.dtype = dtype
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def cpu(self):
        return self

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
        lines = [f"({name}): {indent(repr(child))}" for name, child in self.named_children()]
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
    """A Layer, or a parameter: an ``nn.Parameter`` (even frozen), or a leaf Tensor that
    wants gradients."""
    return isinstance(value, (Layer, Parameter)) or (isinstance(value, Tensor) and value.autograd
                                                     and value.creators is None)

def indent(text):
    return text.replace("\n", "\n  ")

def owner(name):
    """The name of the layer a parameter or buffer name belongs to: ``"cell.xf"`` for
    ``"cell.xf.weight"``, ``"cell"`` for the book's list's ``"cell.parameters.2"``."""
    path = name.rpartition(".")[0]
    if path == "parameters" or path.endswith(".parameters"):
        path = path[:-len("parameters")].rstrip(".")
    return path

def is_device(value):
    """``"cpu"``, ``"cpu:0"`` or a device object whose ``type`` is cpu (torch's)."""
    kind = value if isinstance(value, str) else getattr(value, "type", None)
    return isinstance(kind, str) and kind.split(":")[0] == "cpu"

def array_of(buffer):
    return buffer.data if isinstance(buffer, Tensor) else buffer

def convert_buffer(buffer, dtype):
    if isinstance(buffer, Tensor):
        buffer.data = buffer.data.astype(dtype)
        return buffer
    return buffer.astype(dtype)

def as_state_array(value):
    """A state dict's value (an array, a Tensor, or another library's tensor) as an array."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)
