"""PyTorch as a peer of ``jaxseq bench``: the same workloads as :mod:`jaxseq.bench.peers`.

A workload is what a PyTorch user would write: ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``
(``batch_first``, ``num_layers`` as the workload, tanh) and an ``nn.Linear`` head, or the
chapter's WaveNet as ``nn.Conv1d`` layers with left (causal) padding; MSE loss, ``Adam(1e-3,
eps=1e-7)`` (Keras' epsilon, as the other peers). The forward pass runs under
``torch.inference_mode()``. On a CPU ``torch.set_num_threads`` is set to the cores JAX uses;
on a GPU (when JAX runs on one too) the model lives on ``cuda`` and the recurrent layers are
cuDNN's, and every timed call ends with ``torch.cuda.synchronize()``. ``dtype=bfloat16``
runs under ``torch.autocast`` (parameters and Adam stay float32, as jaxseq's bf16 mode).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from jaxseq.bench.peers import Contender, WorkloadSpec, random_data
from jaxseq.bench.timing import time_call


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def jax_cores() -> int:
    """The CPU cores this process may use (what XLA's CPU thread pool sizes itself to)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def torch_device() -> str:
    """``cuda`` when JAX runs on a GPU and PyTorch sees one, else ``cpu``."""
    import jax
    import torch

    return "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"


def torch_module(spec: WorkloadSpec):
    """The workload as a ``torch.nn.Module`` over ``[batch, time, features]`` (``[batch,
    features, time]`` for the WaveNet, PyTorch's convolution layout)."""
    import torch
    from torch import nn

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "simple_rnn": nn.RNN}[spec.kind]
            self.rnn = rnn(spec.features, spec.units, num_layers=spec.layers, batch_first=True)
            self.head = nn.Linear(spec.units, spec.outputs)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.head(y if spec.per_step_head else y[:, -1])

    class WaveNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.rates = (1, 2, 4, 8) * 2
            channels = [spec.features] + [spec.units] * len(self.rates)
            self.convs = nn.ModuleList(
                nn.Conv1d(a, spec.units, 2, dilation=r)
                for a, r in zip(channels[:-1], self.rates, strict=True)
            )
            self.head = nn.Conv1d(spec.units, spec.outputs, 1)

        def forward(self, x):
            for conv, rate in zip(self.convs, self.rates, strict=True):
                x = torch.relu(conv(nn.functional.pad(x, (rate, 0))))
            return self.head(x)

    return WaveNet() if spec.kind == "wavenet" else Recurrent()


def torch_contender(spec: WorkloadSpec, dtype: str = "float32") -> Contender:
    """PyTorch's implementation of ``spec``: a training step and a forward pass."""
    import torch

    device = torch_device()
    if device == "cpu":
        torch.set_num_threads(jax_cores())
    torch.manual_seed(0)
    model = torch_module(spec).to(device)
    X, Y = random_data(spec)
    if spec.kind == "wavenet":  # PyTorch convolutions take [batch, channels, time]
        X, Y = np.swapaxes(X, 1, 2), np.swapaxes(Y, 1, 2)
    X = torch.from_numpy(np.ascontiguousarray(X)).to(device)
    Y = torch.from_numpy(np.ascontiguousarray(Y)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    autocast = dtype == "bfloat16"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run(x):
        with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
            return model(x)

    def step(state):
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((run(X).float() - Y) ** 2)
        loss.backward()
        opt.step()
        sync()
        return state

    def forward():
        with torch.inference_mode():
            out = run(X)
        sync()
        return out

    seconds = time_call(lambda: step(None))
    forward()
    return Contender("torch", step, forward, None, seconds)
