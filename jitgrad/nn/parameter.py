"""``nn.Parameter``: a Tensor that is a model's parameter (``requires_grad=True``)."""
import numpy as np

from jitgrad.autograd.tensor import Tensor
from jitgrad.backend.dtypes import pytorch_parameter_dtype


class Parameter(Tensor):
    """A leaf Tensor that wants gradients, as PyTorch's ``nn.Parameter(data)``.

    Given a Tensor it shares that Tensor's array (as PyTorch does); given an array or a
    list it copies it. Every parameter ``jitgrad.nn``'s layers make is one, so
    ``isinstance(p, nn.Parameter)`` holds for them; a layer finds its parameters by what its
    attributes hold (any leaf Tensor with ``requires_grad``), so plain Tensors work too.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=pytorch_parameter_dtype())
        super().__init__(data.data if isinstance(data, Tensor) else data, autograd=requires_grad)
        if isinstance(data, Tensor):
            self.data = data.data

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def uniform_parameter(shape, bound, dtype):
    """A Parameter of ``shape`` drawn from U(-bound, bound) (NumPy's global RNG), in ``dtype``."""
    return Parameter(np.random.uniform(-bound, bound, shape).astype(dtype))
