"""Activation layers: the book's Tanh, Sigmoid and ReLU, and GELU, LeakyReLU, ELU, SiLU,
Softmax and LogSoftmax, each the module form of its ``jitgrad.nn.functional`` function.

``inplace=True`` (PyTorch's option to overwrite the input) is accepted and computes out of
place: the output is the same, the input is left as it was."""
from jitgrad.nn import functional
from jitgrad.nn.module import Layer


class Tanh(Layer):
    def forward(self, input):
        return input.tanh()

class Sigmoid(Layer):
    def forward(self, input):
        return input.sigmoid()

class Inplace(Layer):
    """A layer with PyTorch's ``inplace`` flag, shown in its repr and otherwise ignored."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""

    def joined_repr(self, text):
        """``text`` followed by the inplace flag, if set."""
        return ", ".join(part for part in (text, Inplace.extra_repr(self)) if part)

class ReLU(Inplace):
    def forward(self, input):
        return input.relu()

class GELU(Layer):
    """x * Phi(x), Phi the standard normal CDF (the exact erf form), or its tanh
    approximation with ``approximate='tanh'``."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):  # noqa: A002 -- torch's argument name
        return functional.gelu(input, self.approximate)

    def extra_repr(self):
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class LeakyReLU(Inplace):
    """x where x >= 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input):  # noqa: A002
        return functional.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return self.joined_repr(f"negative_slope={self.negative_slope}")


class Softmax(Layer):
    """Softmax along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return functional.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax) along ``dim``, stable."""

    def forward(self, input):  # noqa: A002
        return functional.log_softmax(input, self.dim)


class ELU(Inplace):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input):  # noqa: A002
        return functional.elu(input, self.alpha)

    def extra_repr(self):
        return self.joined_repr(f"alpha={self.alpha}")


class SiLU(Inplace):
    """x * sigmoid(x)."""

    def forward(self, input):  # noqa: A002
        return functional.silu(input)
