"""``jitgrad.init``: the name ``jitgrad.nn.init`` had before the packages by layer."""
from jitgrad.nn.init import *  # noqa: F401,F403
