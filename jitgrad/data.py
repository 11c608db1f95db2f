"""``jitgrad.data``: ``Batches``, before it moved to ``jitgrad.utils.data``."""
from jitgrad.utils.data import Batches  # noqa: F401
