"""Optimizers (the book's SGD, and PyTorch's SGD, Adam, AdamW, RMSprop, LBFGS), learning-rate
schedulers (``jitgrad.optim.lr_scheduler``) and gradient clipping.

Every first-order update runs as one Numba kernel pass per parameter, in the parameter's own
dtype; LBFGS works on the parameters as one flat NumPy vector.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .clip import clip_grad_norm
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "clip_grad_norm", "lr_scheduler"]
