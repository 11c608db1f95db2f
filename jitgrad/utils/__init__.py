"""Utilities beside the models: ``data`` (PyTorch's ``torch.utils.data``: Dataset,
DataLoader, random_split; and jitgrad's ``Batches``), ``metrics`` (the metrics ``fit``
reports) and ``interrupts`` (Ctrl-C handling for training loops)."""
from jitgrad.utils import data

__all__ = ["data"]
