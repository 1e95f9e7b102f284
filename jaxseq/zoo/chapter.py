"""The chapter's table: its models, numbered as in the chapter, with its learning rates and the
notebook's recorded validation figures.

Every model names its layers (``name=``), so its parameter tree is fixed by this file, not by
flax's counters: recurrent layers ``rnn_0``, ``rnn_1``, ... (each ``{cell: ...}``), batch
norms ``bn_0``, ``bn_1``, convolutions ``conv_0``, ... and the output ``Dense`` ``head``
(``{kernel, bias}``, the same under ``TimeDistributed``). Each builder's docstring gives its
layers in order.
"""

from __future__ import annotations

from jaxseq import cells
from jaxseq.conv import GatedWaveNet, WaveNet
from jaxseq.layers import BatchNorm, Conv1D, Dense, Flatten, Sequential, TimeDistributed
from jaxseq.recurrent import RNN
from jaxseq.zoo.registry import Dims, register


def rnn(cell: cells.Cell, name: str, units: int = 20, *, sequences: bool = True) -> RNN:
    """A zoo recurrent layer: ``units`` (20, the chapter's), all steps out unless not
    ``sequences``, parameters under ``name``."""
    return RNN(cell, units, return_sequences=sequences, name=name)


def per_step_head(d: Dims) -> TimeDistributed:
    """The seq2seq models' output: ``TimeDistributed(Dense(outputs))`` named ``head``."""
    return TimeDistributed(Dense(d.outputs), name="head")


@register(
    "linear",
    task="one_step",
    mode="feedforward",
    reference=2,
    notebook=0.00417,
    notebook_spread=("0.0041", "0.0042"),
    fixed_window=True,
    description="Flatten -> Dense(1): linear regression on the window",
)
def _linear(d: Dims):
    """``flatten`` (no parameters), ``head`` (``kernel [window * features, 1]``)."""
    return Sequential([Flatten(name="flatten"), Dense(d.outputs, name="head")])


@register(
    "simple_rnn",
    task="one_step",
    mode="seq2vec",
    reference=3,
    notebook=0.0109,
    notebook_spread=("0.0108", "0.0141"),
    learning_rate=0.005,
    description="SimpleRNN(1): a single recurrent neuron, 3 parameters",
)
def _simple_rnn(d: Dims):
    """``rnn_0`` (one unit, last step only)."""
    return Sequential([rnn(cells.simple_rnn(), "rnn_0", d.outputs, sequences=False)])


@register(
    "deep_rnn",
    task="one_step",
    mode="seq2vec",
    reference=4,
    notebook=0.0029,
    notebook_spread=("0.0029", "0.0030"),
    description="SimpleRNN(20, seq) x2 -> SimpleRNN(1)",
)
def _deep_rnn(d: Dims):
    """``rnn_0``, ``rnn_1`` (20 units), ``rnn_2`` (one unit, last step only)."""
    return Sequential(
        [
            rnn(cells.simple_rnn(), "rnn_0"),
            rnn(cells.simple_rnn(), "rnn_1"),
            rnn(cells.simple_rnn(), "rnn_2", d.outputs, sequences=False),
        ]
    )


@register(
    "deep_rnn_dense",
    task="one_step",
    mode="seq2vec",
    reference=5,
    notebook=0.0026,
    notebook_spread=("0.0026", "0.0027"),
    description="SimpleRNN(20, seq) -> SimpleRNN(20) -> Dense(1)",
)
def _deep_rnn_dense(d: Dims):
    """``rnn_0``, ``rnn_1`` (last step only), ``head``."""
    return Sequential(
        [
            rnn(cells.simple_rnn(), "rnn_0"),
            rnn(cells.simple_rnn(), "rnn_1", sequences=False),
            Dense(d.outputs, name="head"),
        ]
    )


@register(
    "linear_multi",
    task="multi_step",
    mode="feedforward",
    reference=8,
    notebook=0.0187,
    notebook_spread=("0.0187", "0.0188"),
    fixed_window=True,
    description="Flatten -> Dense(10): the next 10 values at once, linearly",
)
def _linear_multi(d: Dims):
    """``flatten`` (no parameters), ``head`` (``kernel [window * features, outputs]``)."""
    return Sequential([Flatten(name="flatten"), Dense(d.outputs, name="head")])


@register(
    "rnn_multi",
    task="multi_step",
    mode="seq2vec",
    reference=9,
    notebook=0.0085,
    notebook_spread=("0.0081", "0.0085"),
    description="SimpleRNN(20, seq) -> SimpleRNN(20) -> Dense(10): sequence to vector",
)
def _rnn_multi(d: Dims):
    """``rnn_0``, ``rnn_1`` (last step only), ``head``."""
    return Sequential(
        [
            rnn(cells.simple_rnn(), "rnn_0"),
            rnn(cells.simple_rnn(), "rnn_1", sequences=False),
            Dense(d.outputs, name="head"),
        ]
    )


@register(
    "rnn_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    reference=10,
    notebook=0.0096,
    notebook_spread=("0.0058", "0.0125"),
    learning_rate=0.01,
    description="SimpleRNN(20, seq) x2 -> TimeDistributed(Dense(10))",
)
def _rnn_seq2seq(d: Dims):
    """``rnn_0``, ``rnn_1``, ``head`` (per step)."""
    return Sequential(
        [rnn(cells.simple_rnn(), "rnn_0"), rnn(cells.simple_rnn(), "rnn_1"), per_step_head(d)]
    )


@register(
    "rnn_bn_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    reference=11,
    notebook=0.0164,
    notebook_spread=("0.016", "0.021"),
    description="SimpleRNN(20, seq) -> BatchNorm, twice -> TimeDistributed(Dense(10))",
)
def _rnn_bn_seq2seq(d: Dims):
    """``rnn_0``, ``bn_0``, ``rnn_1``, ``bn_1``, ``head`` (per step); the batch norms' running
    statistics are in ``batch_stats`` under ``bn_0`` and ``bn_1``."""
    return Sequential(
        [
            rnn(cells.simple_rnn(), "rnn_0"),
            BatchNorm(name="bn_0"),
            rnn(cells.simple_rnn(), "rnn_1"),
            BatchNorm(name="bn_1"),
            per_step_head(d),
        ]
    )


@register(
    "ln_rnn_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    reference=12,
    notebook=0.0121,
    notebook_spread=("0.012", "0.015"),
    description="LNSimpleRNNCell(20) x2 -> TimeDistributed(Dense(10)): layer-normalised cell",
)
def _ln_rnn_seq2seq(d: Dims):
    """``rnn_0``, ``rnn_1`` (each cell with its ``layer_norm {scale, bias}``), ``head``."""
    return Sequential(
        [
            rnn(cells.layer_norm_rnn(), "rnn_0"),
            rnn(cells.layer_norm_rnn(), "rnn_1"),
            per_step_head(d),
        ]
    )


@register(
    "lstm_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    reference=14,
    notebook=0.0086,
    notebook_spread=("0.0085", "0.0086"),
    description="LSTM(20, seq) x2 -> TimeDistributed(Dense(10))",
)
def _lstm_seq2seq(d: Dims):
    """``rnn_0``, ``rnn_1``, ``head`` (per step)."""
    return Sequential([rnn(cells.lstm(), "rnn_0"), rnn(cells.lstm(), "rnn_1"), per_step_head(d)])


@register(
    "gru_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    reference=15,
    notebook=0.0103,
    notebook_spread=("0.010", "0.011"),
    description="GRU(20, seq) x2 -> TimeDistributed(Dense(10)) (Keras' reset_after form)",
)
def _gru_seq2seq(d: Dims):
    """``rnn_0``, ``rnn_1`` (each cell with a ``recurrent_bias``), ``head`` (per step)."""
    return Sequential([rnn(cells.gru(), "rnn_0"), rnn(cells.gru(), "rnn_1"), per_step_head(d)])


def _conv_steps(d: Dims) -> tuple[int, int]:
    return (3, 2)  # Conv1D(kernel 4, stride 2, valid): output j sees inputs 2j .. 2j + 3


@register(
    "conv_gru_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    reference=16,
    notebook=0.0080,
    notebook_spread=("0.0067", "0.0081"),
    target_steps=_conv_steps,
    description="Conv1D(20, 4, stride 2) -> GRU(20, seq) x2 -> TD Dense(10), on Y[:, 3::2]",
)
def _conv_gru_seq2seq(d: Dims):
    """``conv_0`` (``kernel [4, features, 20]``), ``rnn_0``, ``rnn_1``, ``head`` (per step)."""
    return Sequential(
        [
            Conv1D(20, 4, strides=2, padding="valid", name="conv_0"),
            rnn(cells.gru(), "rnn_0"),
            rnn(cells.gru(), "rnn_1"),
            per_step_head(d),
        ]
    )


@register(
    "wavenet",
    task="seq2seq",
    mode="convolutional",
    reference=17,
    notebook=0.0072,
    notebook_spread=("0.0072", "0.0095"),
    description="8 causal Conv1D(20, 2, relu), dilations 1,2,4,8 x2 -> Conv1D(10, 1)",
)
def _wavenet(d: Dims):
    """``conv_0`` ... ``conv_7`` (the dilated causal convolutions), ``head`` (1x1)."""
    return WaveNet(outputs=d.outputs)


@register(
    "gated_wavenet",
    task="seq2seq",
    mode="convolutional",
    reference=18,
    description="gated WaveNet: tanh(a)*sigmoid(b) units, residual + skip, dilations 1..8 x2",
)
def _gated_wavenet(d: Dims):
    """``conv_in``, ``block_0`` ... ``block_7`` (each ``{gate, skip}``), ``conv_out``, ``head``."""
    return GatedWaveNet(outputs=d.outputs)
