"""Models beyond the chapter's table: the seed's other input/output modes (sequence to vector
with LSTMs, encoder-decoder, vector to sequence) and the other cell forms (peephole LSTM, the
seed's reset-before GRU).

Layer names follow :mod:`jaxseq.zoo.chapter` (``rnn_0``, ``rnn_1``, ``head``); the
encoder-decoder and vector-to-sequence trees are in :mod:`jaxseq.zoo.blocks`.
"""

from __future__ import annotations

from jaxseq import cells
from jaxseq.layers import Dense, Sequential
from jaxseq.zoo.blocks import EncoderDecoder, VectorToSequence
from jaxseq.zoo.chapter import per_step_head, rnn
from jaxseq.zoo.registry import Dims, register


@register(
    "lstm_seq2vec",
    task="multi_step",
    mode="seq2vec",
    description="LSTM(20, seq) -> LSTM(20) -> Dense(10): sequence to vector",
)
def _lstm_seq2vec(d: Dims):
    """``rnn_0``, ``rnn_1`` (last step only), ``head``."""
    return Sequential(
        [
            rnn(cells.lstm(), "rnn_0"),
            rnn(cells.lstm(), "rnn_1", sequences=False),
            Dense(d.outputs, name="head"),
        ]
    )


@register(
    "encoder_decoder",
    task="multi_step",
    mode="encoder_decoder",
    description="LSTM(20) encoder -> state -> LSTM(20) decoder over 10 steps -> TD Dense(1)",
)
def _encoder_decoder(d: Dims):
    """``encoder``, ``decoder``, ``head`` (per decoder step)."""
    return EncoderDecoder(cells.lstm(), 20, d.horizon, d.n_targets, d.future)


@register(
    "gru_vec2seq",
    task="multi_step",
    mode="vec2seq",
    fixed_window=True,
    description="window as one vector -> Dense(20) -> repeated 10x -> GRU(20) -> TD Dense(1)",
)
def _gru_vec2seq(d: Dims):
    """``embed``, ``decoder``, ``head`` (per decoder step)."""
    return VectorToSequence(cells.gru(), 20, d.horizon, d.n_targets)


@register(
    "peephole_lstm_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    description="peephole LSTM(20, seq) x2 -> TimeDistributed(Dense(10))",
)
def _peephole_lstm_seq2seq(d: Dims):
    """``rnn_0``, ``rnn_1`` (each cell with ``peephole_i``, ``peephole_f``, ``peephole_o``),
    ``head`` (per step)."""
    return Sequential(
        [
            rnn(cells.lstm(peephole=True), "rnn_0"),
            rnn(cells.lstm(peephole=True), "rnn_1"),
            per_step_head(d),
        ]
    )


@register(
    "gru_seed_seq2seq",
    task="seq2seq",
    mode="seq2seq",
    description="GRU(20, seq) x2 -> TD Dense(10), the seed's form (reset before the matmul)",
)
def _gru_seed_seq2seq(d: Dims):
    """``rnn_0``, ``rnn_1`` (no ``recurrent_bias``), ``head`` (per step)."""
    return Sequential(
        [
            rnn(cells.gru(reset_after=False), "rnn_0"),
            rnn(cells.gru(reset_after=False), "rnn_1"),
            per_step_head(d),
        ]
    )
