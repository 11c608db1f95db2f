"""Identity: a layer that passes its input on."""
from jitgrad.nn.module import Layer


class Identity(Layer):
    """Its input, unchanged: a placeholder where a model may or may not have a layer."""

    def forward(self, input):  # noqa: A002
        return input

    def extra_repr(self):
        return ""
