"""Devices, PyTorch's way: jitgrad runs on the CPU, so ``"cpu"`` (or ``jitgrad.device("cpu")``)
is accepted wherever PyTorch takes a device, and any other device is a clear error."""


class device:  # noqa: N801 -- torch.device's name
    """``jitgrad.device("cpu")``: the one device jitgrad has."""

    __slots__ = ("type",)

    def __init__(self, kind="cpu"):
        self.type = check_device("device", kind) or "cpu"

    def __eq__(self, other):
        return str(other) == "cpu"

    def __hash__(self):
        return hash("cpu")

    def __str__(self):
        return "cpu"

    def __repr__(self):
        return "device(type='cpu')"


def check_device(who, kind):
    """``kind`` (None, ``"cpu"``, ``"cpu:0"`` or a ``device``) as ``"cpu"``, or a RuntimeError."""
    if kind is None:
        return None
    name = str(kind)
    if name not in ("cpu", "cpu:0"):
        raise RuntimeError(f"{who}: jitgrad runs on the CPU only, got device {name!r}; "
                           "use device='cpu' or leave it out")
    return "cpu"


CPU = device("cpu")


class cuda:  # noqa: N801 -- torch.cuda's name
    """``jitgrad.cuda.is_available()`` is False: scripts that test it take their CPU branch."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0
