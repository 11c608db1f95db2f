"""Seeing the steps that the apps and ``fit`` compile."""
import re

import jitgrad


def keep_compiled_steps(monkeypatch, module):
    """Make ``module.compile_step`` (its ``jitgrad.compile``) keep the steps it makes; the
    list they go to."""
    made = []

    def compile_and_keep(fn):
        made.append(jitgrad.compile(fn))
        return made[-1]
    monkeypatch.setattr(module, "compile_step", compile_and_keep)
    return made


def replayed(step):
    """True when ``step`` (a CompiledStep) holds tapes and never fell back to eager."""
    return step.eager_reason is None and bool(step._tapes)


def without_timings(out):
    """A command's output without what varies from run to run: speeds and elapsed times."""
    return re.sub(r" *[\d,]+ (samples|characters)/s| in [\d.]+ s", "", out)
