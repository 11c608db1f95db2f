"""``jitgrad.functional``: the name ``jitgrad.nn.functional`` had before the packages by layer."""
from jitgrad.nn.functional import *  # noqa: F401,F403
from jitgrad.nn.functional import lstm_cell  # noqa: F401
