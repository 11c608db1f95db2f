"""Optimizers (the book's SGD, and PyTorch's SGD, Adam, AdamW, RMSprop), learning-rate
schedulers (``jitgrad.optim.lr_scheduler``) and gradient clipping.

Every update runs as one Numba kernel pass per parameter, in the parameter's own dtype.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .clip import clip_grad_norm
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "clip_grad_norm", "lr_scheduler"]
