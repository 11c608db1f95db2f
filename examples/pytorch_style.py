"""An MLP on the bundled 8x8 digits, written exactly as a PyTorch user would write it.

Only the imports differ from the PyTorch script: ``torch`` -> ``jitgrad``,
``torch.nn`` -> ``jitgrad.nn``, ``torch.nn.functional`` -> ``jitgrad.nn.functional``. Run: ``python examples/pytorch_style.py``.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

import jitgrad
import jitgrad.nn.functional as F
from jitgrad import Tensor, nn
from jitgrad.apps.datasets import load_digits
from jitgrad.optim import AdamW
from jitgrad.optim.lr_scheduler import CosineAnnealingLR
from jitgrad.utils.data import Batches

EPOCHS = 10


def accuracy(model, x, y):
    model.eval()
    with jitgrad.no_grad():
        predicted = model(Tensor(x)).argmax(dim=1)
    model.train()
    return float((predicted == y).mean())


def main(epochs=EPOCHS):
    np.random.seed(0)
    digits = load_digits()
    train_x, test_x = digits.train_x.astype(np.float32), digits.test_x.astype(np.float32)

    model = nn.Sequential(nn.Linear(64, 128), nn.LayerNorm(128), nn.GELU(), nn.Linear(128, 10))
    print(model)
    optimizer = AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        for x, y in Batches(train_x, digits.train_y, batch_size=32, seed=epoch):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(Tensor(x)), Tensor(y))
            loss.backward()
            optimizer.step()
        scheduler.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, lr {scheduler.get_last_lr()[0]:.5f}, "
              f"test accuracy {accuracy(model, test_x, digits.test_y):.2%}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digits.safetensors"
        jitgrad.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
        checkpoint = jitgrad.load(path)
    restored = nn.Sequential(nn.Linear(64, 128), nn.LayerNorm(128), nn.GELU(), nn.Linear(128, 10))
    restored.load_state_dict(checkpoint["model"])
    test_accuracy = accuracy(restored, test_x, digits.test_y)
    print(f"restored from its state dict: test accuracy {test_accuracy:.2%}")
    return test_accuracy


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else EPOCHS)
