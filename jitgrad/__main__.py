"""``python -m jitgrad``: the same as the ``jitgrad`` command."""
import sys

from .cli import main

sys.exit(main())
