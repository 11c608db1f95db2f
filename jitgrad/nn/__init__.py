"""``jitgrad.nn``, PyTorch's door: ``Module``, the layers by family, ``functional`` and
``init``, with PyTorch's names. The book's layers whose meaning differs from PyTorch's
(``Linear``, ``Sequential``, ``MSELoss``, ``Embedding``, ``RNNCell``, ``LSTMCell``) are in
``jitgrad.book`` (docs/pytorch.md has the table)."""
from jitgrad.nn import functional, init
from jitgrad.nn.activation import (
           GELU,
           LeakyReLU,
           LogSoftmax,
           ReLU,
           Sigmoid,
           Softmax,
           Tanh,
)
from jitgrad.nn.dropout import Dropout
from jitgrad.nn.flatten import Flatten
from jitgrad.nn.linear import Identity
from jitgrad.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss
from jitgrad.nn.module import Layer, Module, ParameterList, StateDictError
from jitgrad.nn.normalization import BatchNorm1d, LayerNorm

__all__ = ["BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten", "GELU",
           "Identity", "L1Loss", "Layer", "LayerNorm", "LeakyReLU", "LogSoftmax", "Module",
           "ParameterList", "ReLU", "Sigmoid", "Softmax", "StateDictError", "Tanh", "functional",
           "init"]
