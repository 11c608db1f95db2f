"""Flatten: a layer that only reshapes its input."""
from jitgrad.nn.module import Layer


class Flatten(Layer):
    """input -> input.flatten(start_dim, end_dim); by default every dim after the batch's."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):  # noqa: A002 -- torch's argument name
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
