"""``python -m jitgrad``: the same as the ``jitgrad`` command."""
import sys

from jitgrad.apps.cli import main

sys.exit(main())
