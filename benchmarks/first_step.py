"""With a warm kernel cache: seconds for `import jitgrad`, `jitgrad.warmup()` and the first
`mlp_small` step (784-128-10, Linear-Tanh-Linear, batch 100, MSE, float32) in a fresh process.

    python -m benchmarks.first_step
"""
import time

t0 = time.perf_counter()
import numpy as np

import jitgrad
from jitgrad import SGD, Linear, MSELoss, Sequential, Tanh, Tensor

t1 = time.perf_counter()
jitgrad.warmup(progress=False)
t2 = time.perf_counter()
np.random.seed(0)
model = Sequential([Linear(784, 128, dtype=np.float32), Tanh(), Linear(128, 10, dtype=np.float32)])
optim = SGD(model.get_parameters(), alpha=0.01)
x = Tensor(np.random.rand(100, 784).astype(np.float32)); y = Tensor(np.eye(10, dtype=np.float32)[np.random.randint(0, 10, 100)])
loss = MSELoss().forward(model.forward(x), y); loss.backward(); optim.step()
t3 = time.perf_counter()
print(f"import {t1-t0:.2f} s, warmup {t2-t1:.2f} s, first mlp_small step {t3-t2:.3f} s, total {t3-t0:.2f} s")
