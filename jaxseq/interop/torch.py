"""PyTorch modules to and from jaxseq parameters.

``from_torch_*`` read a module's parameters; ``to_torch_*`` return a ``state_dict``
(``dict[str, torch.Tensor]``) for ``module.load_state_dict``:

- ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``, one or several layers: one jaxseq parameter dict per
  layer (:func:`from_torch_rnn`, :func:`to_torch_rnn`); :func:`torch_cell` gives the jaxseq cell
  and :func:`torch_rnn_stack` a runnable :class:`~jaxseq.layers.Sequential` of them.
- ``nn.Linear``: ``weight [out, in]`` is the transposed ``kernel``.
- ``nn.Conv1d``: ``weight [out, in, k]`` is ``kernel [k, in, out]`` transposed.

The conventions (summed biases, gate orders, ``batch_first``, padding) are in
:mod:`jaxseq.interop`'s documentation. PyTorch is imported on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import cells
from jaxseq.errors import InputError
from jaxseq.interop.common import Params, as_numpy, require, torch_module
from jaxseq.layers import Sequential
from jaxseq.recurrent import RNN

_TORCH_KINDS = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _tensor_numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _swap_first_two_gates(a: np.ndarray, hidden: int, axis: int) -> np.ndarray:
    """Swap gate blocks 0 and 1 along ``axis`` (PyTorch's r, z, n <-> jaxseq's z, r, g)."""
    a = np.moveaxis(np.asarray(a), axis, 0)
    a = np.concatenate([a[hidden : 2 * hidden], a[:hidden], a[2 * hidden :]], axis=0)
    return np.moveaxis(a, 0, axis)


def _torch_rnn_kind(module) -> str:
    torch = torch_module()
    if not isinstance(module, torch.nn.RNNBase):
        raise InputError(f"expected a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")
    if module.mode not in _TORCH_KINDS:
        raise InputError(f"unsupported PyTorch recurrent mode {module.mode!r}")
    if module.bidirectional:
        raise InputError(
            "bidirectional PyTorch RNNs are not supported: convert a forward and a backward "
            "module separately (jaxseq.Bidirectional, RNN(..., reverse=True))"
        )
    if getattr(module, "proj_size", 0):
        raise InputError("LSTM projections (proj_size > 0) have no jaxseq counterpart")
    return _TORCH_KINDS[module.mode]


def torch_cell(module) -> cells.Cell:
    """The jaxseq cell computing what a PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` layer computes:
    ``simple_rnn(tanh or relu)``, ``lstm()``, ``gru(reset_after=True)``."""
    kind = _torch_rnn_kind(module)
    if kind == "rnn":
        return cells.simple_rnn(jax.nn.relu if module.mode == "RNN_RELU" else jnp.tanh)
    return cells.lstm() if kind == "lstm" else cells.gru(reset_after=True)


def from_torch_rnn(module) -> list[Params]:
    """A PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` to one jaxseq parameter dict per layer.

    For layer ``k`` with ``G`` gates (1, 4, 3), hidden size ``H`` and input size ``in``:
    ``kernel [in, G*H] = weight_ih_lk.T``, ``recurrent_kernel [H, G*H] = weight_hh_lk.T``.
    RNN/LSTM: ``bias [G*H] = bias_ih_lk + bias_hh_lk``. GRU: gates reordered r, z, n -> z, r, g,
    ``bias = bias_ih_lk``, ``recurrent_bias = bias_hh_lk`` (for ``gru(reset_after=True)``).
    ``bias=False`` modules give zero biases. ``batch_first`` does not matter (see module doc).
    """
    kind = _torch_rnn_kind(module)
    hidden = module.hidden_size
    size = _GATES[kind] * hidden
    state = dict(module.named_parameters())
    layers = []
    for k in range(module.num_layers):
        w_ih = _tensor_numpy(state[f"weight_ih_l{k}"])
        w_hh = _tensor_numpy(state[f"weight_hh_l{k}"])
        zeros = np.zeros((size,), w_ih.dtype)
        b_ih = _tensor_numpy(state[f"bias_ih_l{k}"]) if module.bias else zeros
        b_hh = _tensor_numpy(state[f"bias_hh_l{k}"]) if module.bias else zeros
        if kind == "gru":
            params = {
                "kernel": _swap_first_two_gates(w_ih, hidden, 0).T,
                "recurrent_kernel": _swap_first_two_gates(w_hh, hidden, 0).T,
                "bias": _swap_first_two_gates(b_ih, hidden, 0),
                "recurrent_bias": _swap_first_two_gates(b_hh, hidden, 0),
            }
        else:
            params = {"kernel": w_ih.T, "recurrent_kernel": w_hh.T, "bias": b_ih + b_hh}
        layers.append({k_: jnp.asarray(np.ascontiguousarray(v)) for k_, v in params.items()})
    return layers


def to_torch_rnn(layers: Sequence[Params] | Params, kind: str, *, bias: bool = True) -> dict:
    """jaxseq recurrent parameters (one dict per layer) to a PyTorch ``state_dict``.

    Args:
        layers: a list of per-layer parameter dicts (or one dict for a single layer), from
            ``simple_rnn`` (kind ``"rnn"``), ``lstm`` (``"lstm"``, no peepholes) or
            ``gru(reset_after=True)`` (``"gru"``) cells.
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        bias: whether the PyTorch module has biases (``bias=False`` drops them; they must be 0).

    Returns:
        ``{weight_ih_lk [G*H, in], weight_hh_lk [G*H, H], bias_ih_lk [G*H], bias_hh_lk [G*H]}`` as
        float tensors, for ``module.load_state_dict``. RNN/LSTM: ``bias_ih_lk`` is jaxseq's bias
        and ``bias_hh_lk`` is zeros (PyTorch adds the two, so the module computes the same).
        GRU: gates reordered z, r, g -> r, z, n; ``bias_hh_lk`` is ``recurrent_bias``.
    """
    torch = torch_module()
    if kind not in _GATES:
        raise InputError(f"kind must be one of {', '.join(_GATES)}, got {kind!r}")
    if isinstance(layers, Mapping):
        layers = [layers]
    state = {}
    for k, params in enumerate(layers):
        names = ("kernel", "recurrent_kernel", "bias")
        require(params, names + (("recurrent_bias",) if kind == "gru" else ()), f"{kind} layer {k}")
        if kind != "gru" and "recurrent_bias" in params:
            raise InputError(f"layer {k} has a recurrent_bias: it is a GRU's, not an {kind}'s")
        if any(name.startswith("peephole") for name in params):
            raise InputError(f"layer {k} has peepholes, which PyTorch's LSTM does not")
        kernel = as_numpy(params["kernel"])
        recurrent = as_numpy(params["recurrent_kernel"])
        hidden = recurrent.shape[0]
        if recurrent.shape != (hidden, _GATES[kind] * hidden) or kernel.shape[1:] != (
            _GATES[kind] * hidden,
        ):
            raise InputError(
                f"{kind} layer {k}: kernel {kernel.shape} and recurrent_kernel {recurrent.shape} "
                f"are not [in, {_GATES[kind]}*H] and [H, {_GATES[kind]}*H]"
            )
        b = as_numpy(params["bias"])
        if kind == "gru":
            w_ih = _swap_first_two_gates(kernel.T, hidden, 0)
            w_hh = _swap_first_two_gates(recurrent.T, hidden, 0)
            b_ih = _swap_first_two_gates(b, hidden, 0)
            b_hh = _swap_first_two_gates(as_numpy(params["recurrent_bias"]), hidden, 0)
        else:
            w_ih, w_hh, b_ih, b_hh = kernel.T, recurrent.T, b, np.zeros_like(b)
        state[f"weight_ih_l{k}"] = w_ih
        state[f"weight_hh_l{k}"] = w_hh
        if bias:
            state[f"bias_ih_l{k}"], state[f"bias_hh_l{k}"] = b_ih, b_hh
        elif np.any(b_ih) or np.any(b_hh):
            raise InputError(f"{kind} layer {k} has non-zero biases but bias=False")
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}


def torch_rnn_stack(module) -> tuple[Sequential, dict]:
    """A PyTorch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (any ``num_layers``) as a runnable jaxseq stack.

    Returns ``(Sequential([RNN(cell, H, return_sequences=True)] * num_layers), variables)``, the
    layers named ``rnn_0``, ``rnn_1``, ... (``variables['params']['rnn_k']['cell']`` is layer
    ``k``'s :func:`from_torch_rnn`);
    ``stack.apply(variables, x)`` with ``x`` ``[batch, time, in]`` equals the module's first
    output (``batch_first=True``; transpose for ``batch_first=False``), in evaluation mode
    (PyTorch's inter-layer ``dropout`` is not carried over).
    """
    cell = torch_cell(module)
    layers = from_torch_rnn(module)
    names = [f"rnn_{k}" for k in range(len(layers))]
    stack = Sequential(
        [RNN(cell, module.hidden_size, return_sequences=True, name=name) for name in names]
    )
    variables = {"params": {name: {"cell": p} for name, p in zip(names, layers, strict=True)}}
    return stack, variables


def from_torch_linear(module) -> Params:
    """A PyTorch ``nn.Linear`` to flax ``nn.Dense`` parameters:
    ``{kernel [in, out] = weight.T, bias [out]}`` (zeros without bias)."""
    torch = torch_module()
    if not isinstance(module, torch.nn.Linear):
        raise InputError(f"from_torch_linear needs a torch.nn.Linear, got {type(module).__name__}")
    weight = _tensor_numpy(module.weight)
    b = (
        _tensor_numpy(module.bias)
        if module.bias is not None
        else np.zeros(weight.shape[0], weight.dtype)
    )
    return {"kernel": jnp.asarray(np.ascontiguousarray(weight.T)), "bias": jnp.asarray(b)}


def to_torch_linear(params: Params) -> dict:
    """flax ``nn.Dense`` parameters to an ``nn.Linear`` state_dict ``{weight [out, in], bias}``."""
    torch = torch_module()
    require(params, ("kernel", "bias"), "Dense")
    weight = np.ascontiguousarray(as_numpy(params["kernel"]).T)
    return {"weight": torch.from_numpy(weight), "bias": torch.from_numpy(as_numpy(params["bias"]))}


def from_torch_conv1d(module) -> Params:
    """A PyTorch ``nn.Conv1d`` to :class:`jaxseq.layers.Conv1D` (flax ``nn.Conv``) parameters:
    ``{kernel [k, in, out] = weight.transpose(2, 1, 0), bias [out]}``.

    Only the weights: set the jaxseq layer's ``strides``, ``dilation_rate`` and padding yourself
    (PyTorch's ``padding=p`` pads ``p`` steps on both sides; ``groups`` must be 1).
    """
    torch = torch_module()
    if not isinstance(module, torch.nn.Conv1d):
        raise InputError(f"from_torch_conv1d needs a torch.nn.Conv1d, got {type(module).__name__}")
    if module.groups != 1:
        raise InputError(f"only groups=1 convolutions are supported, got groups={module.groups}")
    weight = _tensor_numpy(module.weight)
    out = weight.shape[0]
    b = _tensor_numpy(module.bias) if module.bias is not None else np.zeros(out, weight.dtype)
    kernel = np.ascontiguousarray(weight.transpose(2, 1, 0))
    return {"kernel": jnp.asarray(kernel), "bias": jnp.asarray(b)}


def to_torch_conv1d(params: Params) -> dict:
    """:class:`jaxseq.layers.Conv1D` (or flax ``nn.Conv``) parameters to an ``nn.Conv1d``
    state_dict ``{weight [out, in, k], bias [out]}``."""
    torch = torch_module()
    require(params, ("kernel", "bias"), "Conv1D")
    kernel = as_numpy(params["kernel"])
    if kernel.ndim != 3:
        raise InputError(f"a Conv1D kernel is [k, in, out], got shape {kernel.shape}")
    weight = np.ascontiguousarray(kernel.transpose(2, 1, 0))
    return {"weight": torch.from_numpy(weight), "bias": torch.from_numpy(as_numpy(params["bias"]))}
