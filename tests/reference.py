"""Independent references: plain NumPy per-step loops of the seed's equations (float64).

Written from the equations, one gate at a time, never from jaxseq's code. The only thing they
share with jaxseq is the documented parameter layout (gate order i, f, g, o for the LSTM and
z, r, g for the GRU, Keras' order), which is what lets weights be given to both.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gates(kernel, n):
    """Split a fused [rows, n * H] matrix (or [n * H] vector) into its n gate blocks."""
    h = kernel.shape[-1] // n
    return [kernel[..., k * h : (k + 1) * h] for k in range(n)]


def simple_rnn(p, xs, h0=None, activation=np.tanh):
    """h_t = phi(x_t W_x + h_{t-1} W_h + b). xs [B, T, F] -> ys [B, T, H], h_T."""
    B, T, _ = xs.shape
    H = p["recurrent_kernel"].shape[0]
    h = np.zeros((B, H)) if h0 is None else h0
    ys = []
    for t in range(T):
        h = activation(xs[:, t] @ p["kernel"] + h @ p["recurrent_kernel"] + p["bias"])
        ys.append(h)
    return np.stack(ys, 1), h


def lstm(p, xs, peephole=False, h0=None, c0=None):
    """The seed's LSTM equations, with optional diagonal peepholes on c_{t-1} (i, f) and c_t (o),
    from ``(h0, c0)`` (default zeros)."""
    B, T, _ = xs.shape
    H = p["recurrent_kernel"].shape[0]
    W_xi, W_xf, W_xg, W_xo = _gates(p["kernel"], 4)
    W_hi, W_hf, W_hg, W_ho = _gates(p["recurrent_kernel"], 4)
    b_i, b_f, b_g, b_o = _gates(p["bias"], 4)
    h = np.zeros((B, H)) if h0 is None else h0
    c = np.zeros((B, H)) if c0 is None else c0
    ys = []
    for t in range(T):
        x = xs[:, t]
        pi = p["peephole_i"] * c if peephole else 0.0
        pf = p["peephole_f"] * c if peephole else 0.0
        i = sigmoid(x @ W_xi + h @ W_hi + b_i + pi)
        f = sigmoid(x @ W_xf + h @ W_hf + b_f + pf)
        g = np.tanh(x @ W_xg + h @ W_hg + b_g)
        c = f * c + i * g
        po = p["peephole_o"] * c if peephole else 0.0
        o = sigmoid(x @ W_xo + h @ W_ho + b_o + po)
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, 1), (h, c)


def gru(p, xs, reset_after, h0=None):
    """The GRU: seed form (reset before the matmul) or Keras/PyTorch form (reset after, two
    biases), from ``h0`` (default zeros)."""
    B, T, _ = xs.shape
    H = p["recurrent_kernel"].shape[0]
    W_xz, W_xr, W_xg = _gates(p["kernel"], 3)
    W_hz, W_hr, W_hg = _gates(p["recurrent_kernel"], 3)
    b_z, b_r, b_g = _gates(p["bias"], 3)
    if reset_after:
        c_z, c_r, c_g = _gates(p["recurrent_bias"], 3)
    h = np.zeros((B, H)) if h0 is None else h0
    ys = []
    for t in range(T):
        x = xs[:, t]
        if reset_after:
            z = sigmoid(x @ W_xz + b_z + h @ W_hz + c_z)
            r = sigmoid(x @ W_xr + b_r + h @ W_hr + c_r)
            g = np.tanh(x @ W_xg + b_g + r * (h @ W_hg + c_g))
        else:
            z = sigmoid(x @ W_xz + h @ W_hz + b_z)
            r = sigmoid(x @ W_xr + h @ W_hr + b_r)
            g = np.tanh(x @ W_xg + (r * h) @ W_hg + b_g)
        h = z * h + (1 - z) * g
        ys.append(h)
    return np.stack(ys, 1), h


def layer_norm_rnn(p, xs, epsilon=1e-3, h0=None):
    """The seed's LNSimpleRNNCell: tanh(LayerNorm(x W_x + h W_h + b)), from ``h0``."""
    B, T, _ = xs.shape
    H = p["recurrent_kernel"].shape[0]
    scale, shift = p["layer_norm"]["scale"], p["layer_norm"]["bias"]
    h = np.zeros((B, H)) if h0 is None else h0
    ys = []
    for t in range(T):
        a = xs[:, t] @ p["kernel"] + h @ p["recurrent_kernel"] + p["bias"]
        mean = a.mean(-1, keepdims=True)
        var = ((a - mean) ** 2).mean(-1, keepdims=True)
        h = np.tanh((a - mean) / np.sqrt(var + epsilon) * scale + shift)
        ys.append(h)
    return np.stack(ys, 1), h


def conv1d(x, kernel, bias, stride=1, dilation=1, padding="valid"):
    """Direct 1-D convolution: x [B, T, C], kernel [K, C, F] -> [B, T', F] (cross-correlation)."""
    K = kernel.shape[0]
    span = dilation * (K - 1)
    if padding == "causal":
        x = np.pad(x, ((0, 0), (span, 0), (0, 0)))
    elif padding == "same":
        x = np.pad(x, ((0, 0), (span // 2, span - span // 2), (0, 0)))
    T = x.shape[1]
    out = []
    for start in range(0, T - span, stride):
        window = np.stack([x[:, start + k * dilation] for k in range(K)], 1)  # [B, K, C]
        out.append(np.einsum("bkc,kcf->bf", window, kernel) + bias)
    return np.stack(out, 1)
