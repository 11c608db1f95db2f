"""``jitgrad.nn``, PyTorch's door: ``Module``, ``Parameter``, the containers, the layers by
family, ``functional`` and ``init``, with PyTorch's names, signatures, parameter layouts and
initialisations (``nn.Linear``'s weight is (out, in), ``nn.MSELoss`` averages). The book's
layers of the same names (``jitgrad.Linear``, ``jitgrad.Sequential([...])``,
``jitgrad.MSELoss``, ``jitgrad.Embedding``, ``jitgrad.RNNCell``, ``jitgrad.LSTMCell``) keep
the book's meanings in ``jitgrad.book`` (docs/pytorch.md has the table)."""
from jitgrad.nn import functional, init, utils
from jitgrad.nn.activation import (
           ELU,
           GELU,
           LeakyReLU,
           LogSoftmax,
           ReLU,
           Sigmoid,
           SiLU,
           Softmax,
           Tanh,
)
from jitgrad.nn.container import (
           ModuleDict,
           ModuleList,
           ParameterDict,
           ParameterList,
           Sequential,
)
from jitgrad.nn.dropout import Dropout
from jitgrad.nn.flatten import Flatten
from jitgrad.nn.linear import Identity, Linear
from jitgrad.nn.loss import (
           BCELoss,
           BCEWithLogitsLoss,
           CrossEntropyLoss,
           HuberLoss,
           L1Loss,
           MSELoss,
           NLLLoss,
           SmoothL1Loss,
)
from jitgrad.nn.module import Layer, Module, StateDictError
from jitgrad.nn.normalization import BatchNorm1d, LayerNorm
from jitgrad.nn.parameter import Parameter
from jitgrad.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from jitgrad.nn.sparse import Embedding

__all__ = ["BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "ELU",
           "Embedding", "Flatten", "GELU", "GRU", "GRUCell", "HuberLoss", "Identity", "L1Loss",
           "LSTM", "LSTMCell", "Layer", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax",
           "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter",
           "ParameterDict", "ParameterList", "RNN", "RNNCell", "ReLU", "Sequential", "SiLU", "Sigmoid",
           "SmoothL1Loss", "Softmax", "StateDictError", "Tanh", "functional", "init", "utils"]
