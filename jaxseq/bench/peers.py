"""The peers ``jaxseq bench`` times: the same workloads in Flax linen and Keras 3 (PyTorch:
:mod:`jaxseq.bench.peers_torch`).

Each builder returns a :class:`Contender`: a training step ``state -> state`` (forward,
backward, Adam with epsilon 1e-7) and a forward pass ``() -> outputs``, closed over fixed random
data, so the harness can time them interchangeably. Keras runs on its JAX backend
(``KERAS_BACKEND=jax``, set before Keras is first imported).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxseq.bench.timing import time_call


class Contender(NamedTuple):
    """A framework's implementation of one workload."""

    name: str
    train_step: Callable[[Any], Any]  # state -> state (blocks until ready when timed)
    forward: Callable[[], Any]
    init_state: Any
    compile_seconds: float


class WorkloadSpec(NamedTuple):
    """A benchmark workload: a layer stack on ``[batch, time, features]`` random data."""

    name: str
    description: str
    batch: int
    time: int
    features: int
    kind: str  # "lstm", "gru", "simple_rnn", "wavenet"
    units: int
    outputs: int
    per_step_head: bool  # TimeDistributed head (else the last output -> Dense)
    layers: int = 2


def random_data(spec: WorkloadSpec, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(spec.batch, spec.time, spec.features)).astype(np.float32)
    shape = (
        (spec.batch, spec.time, spec.outputs) if spec.per_step_head else (spec.batch, spec.outputs)
    )
    Y = rng.normal(size=shape).astype(np.float32)
    return X, Y


# --------------------------------------------------------------------------- flax linen


def flax_contender(spec: WorkloadSpec, dtype: str = "float32") -> Contender:
    """Flax linen ``nn.RNN`` with ``OptimizedLSTMCell`` / ``GRUCell`` / ``SimpleCell``, or
    ``nn.Conv`` for the WaveNet, trained with optax Adam. ``dtype``: the layers' compute dtype
    (parameters stay float32)."""
    import flax.linen as nn

    cells = {"lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell, "simple_rnn": nn.SimpleCell}
    compute = jnp.dtype(dtype)

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            if spec.kind == "wavenet":
                for rate in (1, 2, 4, 8) * 2:
                    conv = nn.Conv(
                        spec.units, (2,), padding="CAUSAL", kernel_dilation=(rate,), dtype=compute
                    )
                    x = nn.relu(conv(x))
                return nn.Conv(spec.outputs, (1,), dtype=compute)(x)
            cell = cells[spec.kind]
            for _ in range(spec.layers):
                x = nn.RNN(cell(spec.units, dtype=compute))(x)
            if not spec.per_step_head:
                x = x[:, -1]
            return nn.Dense(spec.outputs, dtype=compute)(x)

    return _functional_contender("flax", Net(), spec, compute)


def _functional_contender(name, module, spec, compute=jnp.float32) -> Contender:
    X, Y = (jnp.asarray(a) for a in random_data(spec))
    X = X.astype(compute)
    params = module.init(jax.random.PRNGKey(0), X)
    opt = optax.adam(1e-3, eps=1e-7)

    def step(state):
        p, s = state
        loss = lambda p: jnp.mean((module.apply(p, X).astype(jnp.float32) - Y) ** 2)
        grads = jax.grad(loss)(p)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s

    step = jax.jit(step, donate_argnums=0)
    forward = jax.jit(lambda p: module.apply(p, X))
    state = (params, opt.init(params))
    fixed = jax.tree_util.tree_map(jnp.copy, params)  # the train step donates `state`
    holder: dict[str, Any] = {}  # the state the timed call returns
    seconds = time_call(lambda: holder.setdefault("state", step(state)))
    forward(fixed)
    return Contender(name, step, lambda: forward(fixed), holder["state"], seconds)


# --------------------------------------------------------------------------- Keras 3


def keras_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("keras") is not None
    except ImportError:
        return False


def import_keras():
    """Keras 3 on its JAX backend (``KERAS_BACKEND=jax`` unless already set)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"Keras runs on {keras.backend.backend()}, not jax: set KERAS_BACKEND=jax"
        )
    return keras


def keras_contender(spec: WorkloadSpec, dtype: str = "float32") -> Contender:
    """Keras 3 on its JAX backend: ``Sequential`` layers, ``compile(Adam)``, ``train_on_batch``.
    ``dtype="bfloat16"``: Keras' ``mixed_bfloat16`` policy (float32 variables)."""
    keras = import_keras()
    keras.utils.set_random_seed(0)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if dtype == "bfloat16" else "float32")
    try:
        model = _keras_model(keras, spec)
    finally:
        keras.config.set_dtype_policy(policy)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7), loss="mse")
    X, Y = random_data(spec)

    def step(state):
        model.train_on_batch(X, Y)
        return state

    seconds = time_call(lambda: model.train_on_batch(X, Y))  # first call traces and compiles
    model.predict_on_batch(X)
    return Contender("keras", step, lambda: model.predict_on_batch(X), None, seconds)


def _keras_model(keras, spec: WorkloadSpec):
    layers = [keras.Input((spec.time, spec.features))]
    if spec.kind == "wavenet":
        for rate in (1, 2, 4, 8) * 2:
            layers.append(
                keras.layers.Conv1D(
                    spec.units, 2, padding="causal", activation="relu", dilation_rate=rate
                )
            )
        layers.append(keras.layers.Conv1D(spec.outputs, 1))
    else:
        rnn = {
            "lstm": keras.layers.LSTM,
            "gru": keras.layers.GRU,
            "simple_rnn": keras.layers.SimpleRNN,
        }[spec.kind]
        for k in range(spec.layers):
            last = k == spec.layers - 1
            layers.append(rnn(spec.units, return_sequences=spec.per_step_head or not last))
        layers.append(keras.layers.Dense(spec.outputs))
    return keras.Sequential(layers)
