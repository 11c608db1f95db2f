"""Optimizers (the book's SGD, and PyTorch's SGD, Adam, AdamW, RMSprop, LBFGS), learning-rate
schedulers (``jitgrad.optim.lr_scheduler``) and gradient clipping.

Every first-order update runs as one Numba kernel pass per parameter, in the parameter's own
dtype; LBFGS works on the parameters as one flat NumPy vector.
"""
from jitgrad.optim import lr_scheduler
from jitgrad.optim.adam import Adam, AdamW
from jitgrad.optim.clip import clip_grad_norm
from jitgrad.optim.lbfgs import LBFGS
from jitgrad.optim.optimizer import Optimizer
from jitgrad.optim.rmsprop import RMSprop
from jitgrad.optim.sgd import SGD

__all__ = ["Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "clip_grad_norm", "lr_scheduler"]
