"""Layers that only reshape or pass their input on: Flatten and Identity."""
from .layers import Layer


class Flatten(Layer):
    """input -> input.flatten(start_dim, end_dim); by default every dim after the batch's."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):  # noqa: A002 -- torch's argument name
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Layer):
    """Its input, unchanged: a placeholder where a model may or may not have a layer."""

    def forward(self, input):  # noqa: A002
        return input

    def extra_repr(self):
        return ""
