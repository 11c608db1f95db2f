"""PyTorch's containers: Sequential (of modules or an OrderedDict), ModuleList, ModuleDict,
ParameterList, ParameterDict.

Each keeps its layers by name in ``_modules`` (``"0"``, ``"1"``, ... or the dict's keys), so
parameters are named ``0.weight``, ``fc1.bias``, as in PyTorch. (The book's
``jitgrad.Sequential([a, b])`` is in ``jitgrad.book``.)
"""
from collections import OrderedDict

from jitgrad.nn.module import Layer
from jitgrad.nn.parameter import Parameter


class Container(Layer):
    """Layers by name: ``self._modules`` (an OrderedDict), reachable as attributes."""

    def __init__(self):
        super().__init__()
        self._modules = OrderedDict()

    def _entries(self):
        return list(self._modules.items())

    def add_module(self, name, module):
        if not isinstance(module, Layer) and module is not None:
            raise TypeError(f"{type(self).__name__}: {name!r} is a {type(module).__name__}, "
                            "not a Module")
        self._modules[str(name)] = module

    register_module = add_module

    def __getattr__(self, name):  # only called when normal lookup fails
        modules = vars(self).get("_modules")
        if modules is not None and name in modules:
            return modules[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __len__(self):
        return len(self._modules)


class IndexedContainer(Container):
    """A Container whose layers are numbered 0, 1, ...: indexing, slicing, iteration."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def _index(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for "
                             f"{len(self)} modules")
        return index % len(self)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return list(self._modules.values())[self._index(index)]

    def __setitem__(self, index, module):
        self.add_module(list(self._modules)[self._index(index)], module)

    def __delitem__(self, index):
        modules = list(self._modules.values())
        del modules[index]
        self._modules = OrderedDict((str(i), m) for i, m in enumerate(modules))

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules = OrderedDict()
        self.extend(modules)


class Sequential(IndexedContainer):
    """``Sequential(a, b, c)`` or ``Sequential(OrderedDict(name=module))``: each layer's
    output is the next one's input."""

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            super().__init__()
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            super().__init__(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):  # PyTorch keeps the names of the slice's modules
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)

    def forward(self, input):  # noqa: A002
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(IndexedContainer):
    """A list of layers whose parameters belong to the layer holding it."""

    def forward(self, *args):
        raise NotImplementedError("ModuleList has no forward(): call its modules")


class ModuleDict(Container):
    """A dict of layers (in insertion order) whose parameters belong to the layer holding it."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self.add_module(key, module)

    def pop(self, key):
        return self._modules.pop(key)

    def forward(self, *args):
        raise NotImplementedError("ModuleDict has no forward(): call its modules")


class ParameterList(IndexedContainer):
    """A list of parameters (``nn.Parameter``, or arrays made into them), named ``0``, ``1``, ...
    within the layer holding it."""

    def add_module(self, name, parameter):
        self._modules[str(name)] = as_parameter(type(self).__name__, parameter)

    def forward(self, *args):
        raise NotImplementedError("ParameterList has no forward()")


class ParameterDict(ModuleDict):
    """A dict of parameters (in insertion order), named by their keys within the layer
    holding it."""

    def add_module(self, name, parameter):
        self._modules[str(name)] = as_parameter(type(self).__name__, parameter)

    def forward(self, *args):
        raise NotImplementedError("ParameterDict has no forward()")


def as_parameter(who, value):
    """``value`` as an ``nn.Parameter`` (a Parameter as it is; a Tensor's array shared)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Layer):
        raise TypeError(f"{who}: holds parameters, not a {type(value).__name__} module")
    return Parameter(value)
