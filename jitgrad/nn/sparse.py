"""Embedding (PyTorch's: N(0, 1) rows, ``padding_idx``)."""
import numpy as np

from jitgrad.backend.dtypes import pytorch_parameter_dtype
from jitgrad.nn import functional
from jitgrad.nn.module import Layer
from jitgrad.nn.parameter import Parameter


class Embedding(Layer):
    """PyTorch's ``nn.Embedding``: int indices (any shape) -> rows of ``weight``
    (num_embeddings, embedding_dim), (*indices.shape, embedding_dim).

    weight ~ N(0, 1), its ``padding_idx`` row zeros and never updated (it gets no gradient).
    (The book's ``jitgrad.Embedding`` keeps its word2vec initialisation.)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, _weight=None,
                 device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is outside its "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        dtype = pytorch_parameter_dtype(dtype)
        if _weight is None:
            weight = np.random.standard_normal((num_embeddings, embedding_dim)).astype(dtype)
            if padding_idx is not None:
                weight[padding_idx] = 0
        else:
            weight = np.asarray(getattr(_weight, "data", _weight))
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {weight.shape}, not "
                                 f"({num_embeddings}, {embedding_dim})")
        self.weight = Parameter(weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding whose weight is a copy of ``embeddings`` (2-D), frozen by default."""
        rows, dim = np.asarray(getattr(embeddings, "data", embeddings)).shape
        layer = cls(rows, dim, padding_idx=padding_idx, _weight=embeddings)
        layer.weight.autograd = not freeze
        return layer

    def forward(self, input):  # noqa: A002
        return functional.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
