"""What compiles: ``jitgrad.compile`` records a training step and replays it (``step``), as one
generated Numba function where it can (``codegen``), with plain SGD fused into the backward
products (``fused_sgd``) and an LSTM window's input products batched (``lstm_windows``);
``jitgrad.warmup`` compiles every kernel ahead of the first step (``warmup``)."""
from jitgrad.compiler.step import compile  # noqa: A004 -- torch.compile's name
from jitgrad.compiler.warmup import warmup

__all__ = ["compile", "warmup"]
