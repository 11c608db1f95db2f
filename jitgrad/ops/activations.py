"""sigmoid, tanh and relu; each keeps its output, from which its backward is computed."""
from kernels import activations as k

from ..dtypes import float_dtype
from .base import Op, flat


class Activation(Op):
    """An elementwise nonlinearity whose derivative is a function of its output."""

    kernel = backward_kernel = None

    def forward(self, a):
        self.y = type(self).kernel(flat(a, float_dtype(self.creation_op, a)))
        return self.y.reshape(a.shape)

    def backward(self, grad, needs_grad):
        grad_in = type(self).backward_kernel(flat(grad, self.y.dtype), self.y)
        return [grad_in.reshape(grad.shape)]


class Sigmoid(Activation):
    creation_op = "sigmoid"
    kernel, backward_kernel = k.sigmoid, k.sigmoid_backward


class Tanh(Activation):
    creation_op = "tanh"
    kernel, backward_kernel = k.tanh, k.tanh_backward


class ReLU(Activation):
    creation_op = "relu"
    kernel, backward_kernel = k.relu, k.relu_backward
