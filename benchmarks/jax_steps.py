"""The workloads' training steps as one ``jax.jit``-compiled function each (optional: needs
``pip install "jax[cpu]"``): forward, ``value_and_grad``, the SGD update, the parameters donated
so that XLA updates them in place. The same network and loss as the book's: see
``benchmarks.workloads``, which builds these through ``build_step(..., "jax", ...)``.
"""
import time

import numpy as np


class JaxStep:
    """A jitted step; compiled ahead of time (``compile_seconds``) without running it, so the
    first call is an ordinary step and the losses match the other implementations'."""

    def __init__(self, loss_fn, parameters, data, alpha):
        import jax
        self.parameters, self.data = parameters, data

        def update(parameters, data):
            loss, grads = jax.value_and_grad(loss_fn)(parameters, data)
            return loss, [p - alpha * g for p, g in zip(parameters, grads)]
        start = time.perf_counter()
        self._update = jax.jit(update, donate_argnums=0).lower(parameters, data).compile()
        self.compile_seconds = time.perf_counter() - start

    def __call__(self):
        loss, self.parameters = self._update(self.parameters, self.data)
        return float(loss)  # waits for the step, as PyTorch's loss.item() does


def build(workload, dtype, arrays, data):
    """A JaxStep of ``workload`` (an MLP or CharLSTM) from the book-ordered ``arrays``."""
    import jax
    jax.config.update("jax_enable_x64", True)  # float64 steps; float32 arrays stay float32
    import jax.numpy as jnp
    parameters = [jnp.asarray(a) for a in arrays]
    data = {name: jnp.asarray(value) for name, value in data.items()}
    loss_fn = _mlp_loss(workload) if hasattr(workload, "sizes") else _lstm_loss(workload, dtype)
    return JaxStep(loss_fn, parameters, data, workload.alpha)


def _cross_entropy(logits, labels):
    """Mean over the batch of softmax cross-entropy against integer labels."""
    import jax
    import jax.numpy as jnp
    picked = jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)


def _mlp_loss(workload):
    """Linear layers with tanh between; summed squared error on one-hot targets, or mean
    cross-entropy on labels."""
    import jax.numpy as jnp

    def loss_fn(parameters, data):
        x = data["x"]
        for layer in range(0, len(parameters), 2):
            x = x @ parameters[layer] + parameters[layer + 1]
            if layer + 2 < len(parameters):
                x = jnp.tanh(x)
        if workload.loss == "mse":
            return jnp.sum((x - data["target"]) ** 2)
        return _cross_entropy(x, data["target"])
    return loss_fn


def _lstm_loss(workload, dtype):
    """The book's LSTM cell (gates f, i, o from sigmoids, candidate from tanh, one bias per
    gate) unrolled over the window, cross-entropy summed over the steps."""
    import jax
    import jax.numpy as jnp
    start = np.zeros((workload.batch, workload.hidden), dtype=dtype)
    start[:, 0] = 1  # the book's init_hidden

    def loss_fn(parameters, data):
        embedding, *x_gates, hf, hi, ho, hc, w_ho = parameters
        wx, bx, wh = x_gates[::2], x_gates[1::2], (hf, hi, ho, hc)
        h = c = jnp.asarray(start)
        loss = 0.0
        for t in range(workload.steps):
            x = embedding[data["chars"][t]]
            pre = [x @ wx[g] + bx[g] + h @ wh[g] for g in range(4)]
            f, i, o = (jax.nn.sigmoid(p) for p in pre[:3])
            c = f * c + i * jnp.tanh(pre[3])
            h = o * jnp.tanh(c)
            loss = loss + _cross_entropy(h @ w_ho, data["chars"][t + 1])
        return loss
    return loss_fn
