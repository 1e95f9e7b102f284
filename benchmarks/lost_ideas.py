"""Two speed ideas that lost on this CPU, kept runnable so the figures can be re-measured.

1. **Stacked layers in one scan body** ("wavefront"): L LSTM layers advance together, layer l
   at step ``k - l`` in iteration ``k``, so the loop runs ``T + L - 1`` iterations instead of
   ``L * T``; one block matrix ``[L*H, L*4H]`` carries every recurrent and inter-layer product
   in one matmul per iteration; hand-written backward pass. Compared with jaxseq's two
   ``scan_cell`` layers (two fused scans) on W1 shapes.
2. **Buffers reused in place**: the LSTM's forward pass writes each step's gate tanh over the
   projected input it has just read, and the backward pass writes ``dz`` over the stashed gate
   tanh, so no stash or ``dz`` buffer is allocated and zero-filled (on W4 those fills cost
   tens of ms per step). Compared with ``jaxseq.fused.lstm_scan`` (projection before the loop).

Both results equal jaxseq's to float rounding (printed). Writes
``benchmarks/results/lost_ideas.md`` (``--out``).

Run: ``python benchmarks/lost_ideas.py [--rounds 200]``.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from report import result_path, write_report

from jaxseq import cells, fused
from jaxseq.bench.timing import time_interleaved
from jaxseq.recurrent import scan_cell

# --------------------------------------------------------------------------- 1. wavefront


def _wave_scale(L, H, dtype):
    return jnp.tile(fused.gate_scale(H, dtype), L)


def _wave_valid(T, L):
    k = jnp.arange(T + L - 1)[:, None] - jnp.arange(L)[None, :]
    return (k >= 0) & (k < T)


def _wave_loop(M, brest, h0, c0, xp):
    T, B, G = xp.shape
    L, H = h0.shape[1], h0.shape[2]
    scale = _wave_scale(L, H, xp.dtype)
    xpp = jnp.concatenate([xp, jnp.zeros((L - 1, B, G), xp.dtype)], 0)

    def step(carry, inputs):
        h, c = carry
        x, valid = inputs
        zz = h.reshape(B, L * H) @ M + brest
        z = jnp.concatenate([zz[:, :G] + x, zz[:, G:]], -1)
        t = jnp.tanh(z * scale)
        a = (t * scale + (1 - scale)).reshape(B, L, 4, H)
        c_new = a[:, :, 1] * c + a[:, :, 0] * a[:, :, 2]
        h_new = a[:, :, 3] * jnp.tanh(c_new)
        v = valid[None, :, None]  # layers outside their time range keep their state
        c_new, h_new = jnp.where(v, c_new, c), jnp.where(v, h_new, h)
        return (h_new, c_new), (t, c_new, h_new)

    (h, c), (ts, cs, hs) = jax.lax.scan(step, (h0, c0), (xpp, _wave_valid(T, L)))
    return (h, c), ts, cs, hs


@jax.custom_vjp
def wavefront_lstm(M, brest, h0, c0, xp):
    """``L`` stacked LSTMs; ``h0``, ``c0`` ``[B, L, H]``; ``xp`` the first layer's projected
    inputs ``[T, B, 4H]``. Returns the last layer's outputs ``[T, B, H]``."""
    _, _, _, hs = _wave_loop(M, brest, h0, c0, xp)
    L = h0.shape[1]
    return hs[L - 1 :, :, L - 1]


def _wave_fwd(M, brest, h0, c0, xp):
    _, ts, cs, hs = _wave_loop(M, brest, h0, c0, xp)
    L = h0.shape[1]
    return hs[L - 1 :, :, L - 1], (M, h0, c0, ts, cs, hs)


def _wave_bwd(res, dys):
    M, h0, c0, ts, cs, hs = res
    K, B, L, H = cs.shape
    T = K - L + 1
    scale = _wave_scale(L, H, ts.dtype).reshape(L, 4, H)
    dyp = jnp.concatenate([jnp.zeros((L - 1, B, H), dys.dtype), dys], 0)
    c_prev = jnp.concatenate([c0[None], cs[:-1]], 0)
    MT = M.T

    def step(carry, inputs):
        dz_next, dc, dh_held = carry
        t, c, cp, dy, valid = inputs
        dh = (dz_next @ MT).reshape(B, L, H) + dh_held
        dh = dh.at[:, L - 1].add(dy)
        t = t.reshape(B, L, 4, H)
        a = t * scale + (1 - scale)
        i, f, g, o = a[:, :, 0], a[:, :, 1], a[:, :, 2], a[:, :, 3]
        tc = jnp.tanh(c)
        dct = dc + dh * o * (1 - tc * tc)
        da = jnp.stack([dct * g, dct * cp, dct * i, dh * tc], axis=2)
        dz = da * scale * scale * (1 - t * t)
        v = valid[None, :, None]
        dz = jnp.where(v[..., None], dz, 0).reshape(B, L * 4 * H)
        return (dz, jnp.where(v, dct * f, dc), jnp.where(v, 0, dh)), dz

    init = (jnp.zeros((B, L * 4 * H), ts.dtype), jnp.zeros_like(c0), jnp.zeros_like(h0))
    inputs = (ts, cs, c_prev, dyp, _wave_valid(T, L))
    (_, dc0, dh0), dz = jax.lax.scan(step, init, inputs, reverse=True)
    h_prev = jnp.concatenate([h0[None], hs[:-1]], 0).reshape(K * B, L * H)
    dM = jax.lax.dot_general(h_prev, dz.reshape(K * B, -1), (((0,), (0,)), ((), ())))
    return dM, dz.sum((0, 1)), dh0, dc0, dz[:T, :, : 4 * H]


wavefront_lstm.defvjp(_wave_fwd, _wave_bwd)


def wavefront_stack(layers, x):
    """Stacked LSTM layers (jaxseq parameter dicts) on ``x`` ``[B, T, F]`` -> ``[B, T, H]``."""
    B, T, F = x.shape
    L, H = len(layers), layers[0]["recurrent_kernel"].shape[0]
    G = 4 * H
    M = jnp.zeros((L * H, L * G), x.dtype)
    for i, p in enumerate(layers):
        M = M.at[i * H : (i + 1) * H, i * G : (i + 1) * G].set(p["recurrent_kernel"])
        if i:
            M = M.at[(i - 1) * H : i * H, i * G : (i + 1) * G].set(p["kernel"])
    brest = jnp.concatenate([jnp.zeros((G,), x.dtype)] + [p["bias"] for p in layers[1:]])
    xp = jnp.swapaxes(x, 0, 1).reshape(-1, F) @ layers[0]["kernel"] + layers[0]["bias"]
    zeros = jnp.zeros((B, L, H), x.dtype)
    return jnp.swapaxes(wavefront_lstm(M, brest, zeros, zeros, xp.reshape(T, B, G)), 0, 1)


# --------------------------------------------------------------------------- 2. in place


def _read(stack, step):
    return jax.lax.dynamic_index_in_dim(stack, step, keepdims=False)


def _write(stack, value, step):
    return jax.lax.dynamic_update_index_in_dim(stack, value, step, 0)


@jax.custom_vjp
def inplace_lstm(U, b, xp):
    """LSTM over projected inputs ``xp`` ``[T, B, 4H]`` (zero initial state) -> ``[T, B, H]``."""
    return fused.lstm_scan(
        False, U, jnp.zeros((3, U.shape[0]), U.dtype), None, b, *_zeros(U, xp), xp, None
    )[1]


def _zeros(U, xp):
    z = jnp.zeros((xp.shape[1], U.shape[0]), xp.dtype)
    return z, z


def _inplace_fwd(U, b, xp):
    T, B, H = xp.shape[0], xp.shape[1], U.shape[0]
    cs, ys = jnp.zeros((T, B, H), xp.dtype), jnp.zeros((T, B, H), xp.dtype)

    def body(step, loop):
        h, c, gates, cs, ys = loop
        t, c, _, h = fused.lstm_step(_read(gates, step) + b, h, c, U, None, None)
        return h, c, _write(gates, t, step), _write(cs, c, step), _write(ys, h, step)

    h0, c0 = _zeros(U, xp)
    _, _, gates, cs, ys = jax.lax.fori_loop(0, T, body, (h0, c0, xp, cs, ys))
    return ys, (U, gates, cs, ys)


def _inplace_bwd(res, dys):
    U, gates, cs, ys = res
    T, B, H = ys.shape
    scale = fused.gate_scale(H, ys.dtype)

    def body(k, loop):
        dh, dc, dzs = loop
        step = T - 1 - k
        t, c, dy = _read(dzs, step), _read(cs, step), _read(dys, step)
        c_prev = jnp.where(step > 0, _read(cs, jnp.maximum(step - 1, 0)), 0.0)
        tc = jnp.tanh(c)
        a = t * scale + (1 - scale)
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        dh = dh + dy
        dc = dc + dh * o * (1 - tc * tc)
        da = jnp.concatenate([dc * g, dc * c_prev, dc * i, dh * tc], -1)
        dz = da * scale * scale * (1 - t * t)
        return dz @ U.T, dc * f, _write(dzs, dz, step)

    zero = jnp.zeros((B, H), ys.dtype)
    _, _, dz = jax.lax.fori_loop(0, T, body, (zero, zero, gates))
    h_prev = jnp.concatenate([zero[None], ys[:-1]], 0)
    return fused.sum_outer(h_prev, dz), dz.sum((0, 1)), dz


inplace_lstm.defvjp(_inplace_fwd, _inplace_bwd)


# --------------------------------------------------------------------------- measurements


def _params(key, sizes, H):
    keys = jax.random.split(key, len(sizes))
    lstm = cells.lstm()
    out = []
    for k, F in zip(keys, sizes, strict=True):
        p = lstm.init(k, F, H)
        p["bias"] = p["bias"] + 0.1
        out.append(p)
    return out


def wavefront_rows(rounds: int) -> list[str]:
    B, T, F, H, OUT = 32, 50, 1, 20, 10
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.normal(size=(B, T, F)), jnp.float32)
    Y = jnp.asarray(rng.normal(size=(B, T, OUT)), jnp.float32)
    layers = _params(jax.random.PRNGKey(0), [F, H], H)
    head = jax.random.normal(jax.random.PRNGKey(1), (H, OUT)) * 0.3

    def two_scans(params, x):
        (p1, p2), w = params
        _, y = scan_cell(cells.lstm(), p1, x, hidden_size=H)
        _, y = scan_cell(cells.lstm(), p2, y, hidden_size=H)
        return y @ w

    def wavefront(params, x):
        ps, w = params
        return wavefront_stack(ps, x) @ w

    params = (layers, head)
    err = float(jnp.max(jnp.abs(two_scans(params, X) - wavefront(params, X))))
    loss = lambda f: jax.jit(jax.value_and_grad(lambda p: jnp.mean((f(p, X) - Y) ** 2)))
    fwd = {"two fused scans (jaxseq)": jax.jit(two_scans), "wavefront": jax.jit(wavefront)}
    grad = {"two fused scans (jaxseq)": loss(two_scans), "wavefront": loss(wavefront)}
    g1, g2 = (g(params)[1] for g in grad.values())
    gerr = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True)
    )
    f_times = time_interleaved(
        {k: partial(f, params, X) for k, f in fwd.items()}, rounds=rounds, warmup=2
    )
    g_times = time_interleaved(
        {k: partial(f, params) for k, f in grad.items()}, rounds=rounds, warmup=2
    )
    return [
        f"W1 shapes (2 x LSTM(20), batch 32, 50 steps, per-step Dense(10)); largest difference "
        f"from jaxseq: outputs {err:.1e}, gradients {gerr:.1e}.",
        "",
        *_table({"forward": f_times, "loss and gradient": g_times}),
    ]


def inplace_rows(rounds: int) -> list[str]:
    rows = []
    for B, T, H, r in ((32, 50, 20, rounds), (256, 100, 128, max(3, rounds // 40))):
        rng = np.random.default_rng(0)
        xp = jnp.asarray(rng.normal(size=(T, B, 4 * H)), jnp.float32)
        U = jax.random.orthogonal(jax.random.PRNGKey(0), 4 * H)[:H] * 0.5
        b = jnp.full((4 * H,), 0.1)
        w = jnp.asarray(rng.normal(size=(T, B, H)), jnp.float32)

        def stock(U, b, xp):
            z = jnp.zeros(xp.shape[1:2] + U.shape[:1], xp.dtype)
            peep = jnp.zeros((3, U.shape[0]), U.dtype)
            return fused.lstm_scan(False, U, peep, None, b, z, z, xp, None)[1]

        fns = {"stash and dz buffers (jaxseq)": stock, "in place": inplace_lstm}
        grads = {
            k: jax.jit(jax.grad(lambda U, b, xp, f=f, w=w: jnp.sum(f(U, b, xp) * w), (0, 1, 2)))
            for k, f in fns.items()
        }
        a, c = (grads[k](U, b, xp) for k in fns)
        err = max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(a, c, strict=True))
        times = time_interleaved(
            {k: partial(g, U, b, xp) for k, g in grads.items()}, rounds=r, warmup=2
        )
        rows += [
            f"One LSTM({H}) layer, batch {B}, {T} steps, loss and gradient; largest gradient "
            f"difference {err:.1e}.",
            "",
            *_table({"loss and gradient": times}),
            "",
        ]
    return rows


def _table(sections: dict[str, dict[str, np.ndarray]]) -> list[str]:
    rows = ["| pass | variant | ms | cost vs jaxseq |", "|---|---|---|---|"]
    for what, times in sections.items():
        base = times[next(iter(times))]
        for k, v in times.items():
            ratio = np.median(v / base)
            rows.append(f"| {what} | {k} | {np.median(v) * 1e3:.2f} | {ratio:.2f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--out", type=Path, default=result_path("lost_ideas.md"))
    args = parser.parse_args()
    write_report(
        args.out,
        "Speed ideas that lost, measured",
        "python benchmarks/lost_ideas.py",
        [
            "## Stacked layers in one scan body (wavefront)",
            "",
            *wavefront_rows(args.rounds),
            "",
            "## Stash and gradient buffers reused in place",
            "",
            *inplace_rows(args.rounds),
            "Why: in the compiled program XLA copies the whole buffer every iteration: its CPU "
            "copy insertion does not let a loop body read a buffer and update it in place.",
            "",
        ],
    )


if __name__ == "__main__":
    main()
