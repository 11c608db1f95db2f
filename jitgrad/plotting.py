"""Loss and accuracy curves of a training run as an image (needs matplotlib: ``jitgrad[plot]``)."""
import os

from .atomic import atomic_write

MISSING = 'matplotlib is not installed; install it with: pip install "jitgrad[plot]"'


def require_matplotlib():
    """Raise ImportError with the install command unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(MISSING) from None


def plot_history(history, path, title):
    """Write the curves of ``history`` (a list of ``training.EpochStats``) to ``path``.

    Two panels: cross-entropy loss and accuracy per epoch, training and test. The format
    follows the file's suffix (``.png``, ``.svg``, ``.pdf``; PNG otherwise).
    """
    require_matplotlib()
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    epochs = [s.epoch for s in history]
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, metric, label in ((loss_axes, "loss", "cross-entropy loss"),
                                (accuracy_axes, "accuracy", "accuracy")):
        axes.plot(epochs, [getattr(s, metric) for s in history], label="train")
        axes.plot(epochs, [getattr(s, "test_" + metric) for s in history], label="test")
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
    loss_axes.set_yscale("log")
    figure.suptitle(title)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    with atomic_write(path) as file:
        figure.savefig(file, format=suffix if suffix in ("png", "svg", "pdf") else "png", dpi=100)
