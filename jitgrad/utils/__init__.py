"""PyTorch's ``torch.utils`` door: ``jitgrad.utils.data`` (Dataset, DataLoader, random_split)."""
from . import data

__all__ = ["data"]
