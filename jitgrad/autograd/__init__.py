"""The Tensor and the backward pass: ``Tensor`` (``tensor``), the book's children accounting
as a loop (``engine``), ``no_grad`` (``grad_mode``), ``detect_anomaly`` (``anomaly``), the
creation functions (``creation``) and the hooks ``jitgrad.compile`` records through
(``recording``). Imports ``jitgrad.ops`` and ``jitgrad.backend`` below it; the ops never
import it (they reach the Tensor class through ``ops.registry.install``)."""
from jitgrad.autograd.anomaly import AnomalyError, detect_anomaly
from jitgrad.autograd.grad_mode import no_grad
from jitgrad.autograd.tensor import Tensor

__all__ = ["AnomalyError", "Tensor", "detect_anomaly", "no_grad"]
