"""The model zoo: every model of the chapter, plus the seed's other input/output modes.

``jaxseq.models.get(name)`` builds a :class:`Model`; ``jaxseq.models.names()`` lists them.
A model is a pair of pure functions over a variables pytree::

    model = jaxseq.models.get("lstm_seq2seq")
    variables = jax.vmap(model.init)(jax.random.split(key, 5))      # 5 independent inits
    y = jax.vmap(model.apply, in_axes=(0, None))(variables, X)      # [5, batch, 50, 10]

Each entry records the chapter's setup: its task (target layout, see :mod:`jaxseq.data`), its
learning rate, its number in the chapter's table and the notebook's recorded validation figure.
The models themselves are defined in :mod:`jaxseq.zoo`.

Parameter trees. Every layer is named where the model is defined, so ``variables['params']``
has these keys whatever flax's own naming (``H`` units, ``in`` the layer's input size):

=====================================  =========================================================
models                                 ``params`` keys, input to output
=====================================  =========================================================
``linear``, ``linear_multi``           ``head``
``simple_rnn``                         ``rnn_0``
``deep_rnn``                           ``rnn_0``, ``rnn_1``, ``rnn_2``
``rnn_bn_seq2seq``                     ``rnn_0``, ``bn_0``, ``rnn_1``, ``bn_1``, ``head``
``conv_gru_seq2seq``                   ``conv_0``, ``rnn_0``, ``rnn_1``, ``head``
other stacks (``*_seq2seq``,           ``rnn_0``, ``rnn_1``, ``head``
``deep_rnn_dense``, ``rnn_multi``,
``lstm_seq2vec``)
``wavenet``                            ``conv_0`` ... ``conv_7``, ``head``
``gated_wavenet``                      ``conv_in``, ``block_0`` ... ``block_7`` (each ``gate``,
                                       ``skip``), ``conv_out``, ``head``
``encoder_decoder``                    ``encoder``, ``decoder``, ``head``
``gru_vec2seq``                        ``embed``, ``decoder``, ``head``
=====================================  =========================================================

and each key holds its layer's weights as Keras lays them out: a recurrent layer ``{cell:
{kernel [in, G*H], recurrent_kernel [H, G*H], bias [G*H]}}`` (``G`` gates: 1, LSTM 4, GRU 3;
plus ``recurrent_bias`` for the reset-after GRU, ``peephole_i/f/o [H]`` for the peephole LSTM,
``layer_norm {scale, bias}`` for the layer-normalised cell), a ``Dense`` or per-step
``TimeDistributed(Dense)`` ``{kernel [in, out], bias [out]}``, a ``Conv1D`` ``{kernel [k, in,
out], bias [out]}``, a batch norm ``{scale, bias}`` with ``{mean, var}`` under the same key in
``variables['batch_stats']``. A window normalisation's affine parameters are
``params['window_norm']`` (:mod:`jaxseq.normalize`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxseq import distributions as dist
from jaxseq import normalize as norm
from jaxseq.errors import InputError, check_positive_int
from jaxseq.layers import Sequential, takes_train

# importing jaxseq.zoo registers its models, in the chapter's order
from jaxseq.zoo.blocks import EncoderDecoder, VectorToSequence
from jaxseq.zoo.registry import MODES, Dims, check_name, describe, names, register
from jaxseq.zoo.registry import entry as zoo_entry

__all__ = [
    "MODES",
    "Dims",
    "EncoderDecoder",
    "Model",
    "VectorToSequence",
    "check_future",
    "check_name",
    "describe",
    "get",
    "mae",
    "mse",
    "names",
    "register",
]

Array = jax.Array
Variables = Any


def mse(pred: Array, target: Array) -> Array:
    """Mean squared error of JAX arrays, traceable: a point model's training loss."""
    return jnp.mean(jnp.square(pred - target))


def mae(pred: Array, target: Array) -> Array:
    """Mean absolute error of JAX arrays, traceable: a point model's training loss with
    ``loss="mae"`` (the median's loss; its gradient is the sign of the error)."""
    return jnp.mean(jnp.abs(pred - target))


#: a point model's training losses by name
POINT_LOSSES = {"mse": mse, "mae": mae}
#: the default point loss
LOSS = "mse"


def check_loss(loss: str | None, head: dist.Head | None = None) -> str:
    """A point model's training loss by name (:data:`POINT_LOSSES`; ``None``: the default).
    A probabilistic ``head`` trains on its own loss, so beside one only the default is taken."""
    loss = LOSS if loss is None else loss
    if loss not in POINT_LOSSES:
        raise InputError(f"unknown loss {loss!r}; choose one of {', '.join(POINT_LOSSES)}")
    if head is not None and loss != LOSS:
        raise InputError(
            f"loss {loss!r} is for point forecasts; a probabilistic head trains on its own loss "
            "(pinball or negative log-likelihood): drop the loss or the head"
        )
    return loss


@dataclasses.dataclass(
    frozen=True, eq=False
)  # hashed by identity: compiled functions are cached per model
class Model:
    """A zoo model: a flax module with the chapter's setup, as pure ``init``/``apply`` functions.

    Attributes:
        name: the zoo name.
        module: the flax module, ``module(x[batch, window, features], train=...)``.
        task: target layout (``one_step``, ``multi_step``, ``seq2seq``).
        mode: input/output mode (seq2vec, seq2seq, vec2seq, encoder_decoder, ...).
        dims: window, features, horizon, targets.
        learning_rate: the chapter's Adam learning rate for this model.
        reference: its number in the chapter's table (``None`` for additions).
        notebook: the notebook's recorded validation figure (``None`` if not recorded).
        notebook_spread: ``(low, high)`` over the recorded runs, as the notebook printed them
            (text, so that the precision of ``"0.0030"`` is not lost to ``0.003``).
        target_steps: for seq2seq models whose output is shorter than the window, the
            ``(start, stride)`` of the input steps the outputs align with (targets ``Y[:, start::stride]``).
        fixed_window: inputs must have exactly ``window`` steps (models with a flattened input).
        description: one line.
        normalization: per-window normalisation inside :meth:`apply` (``None``: off); see
            :mod:`jaxseq.normalize`. Outputs are always in the units of the inputs.
        target_columns: the input features the outputs forecast (their statistics map the
            normalised outputs back).
        head: a probabilistic output head (:mod:`jaxseq.distributions`: quantiles, Normal,
            Student-t) or ``None`` (point forecasts trained with :attr:`loss`). With a head,
            :meth:`apply` gives the median and :meth:`distribution`/:meth:`quantiles` the rest.
        base: a hybrid's base forecasts per horizon step and target (0: none), the last of
            each step's lead features (:func:`jaxseq.data.windows_at`): the outputs are added
            to them, so the network forecasts the base model's residual (:mod:`jaxseq.hybrid`).
    """

    name: str
    module: nn.Module
    task: str
    mode: str
    dims: Dims
    learning_rate: float = 1e-3
    reference: int | None = None
    notebook: float | None = None
    notebook_spread: tuple[str, str] | None = None
    target_steps: tuple[int, int] | None = None
    fixed_window: bool = False
    description: str = ""
    normalization: norm.Normalization | None = None
    target_columns: tuple[int, ...] = (0,)
    head: dist.Head | None = None
    base: int = 0
    loss: str = LOSS

    @property
    def metric(self) -> str:
        """The headline metric: ``last_step_mse`` for seq2seq models, else ``mse``."""
        return "last_step_mse" if self.task == "seq2seq" else "mse"

    def init(self, key: Array) -> Variables:
        """Fresh variables (``{'params': ...}``, plus ``batch_stats`` for BatchNorm models, plus
        ``params['window_norm']`` for an affine window normalisation)."""
        x = jnp.zeros((1, self.dims.window, self.dims.features), jnp.float32)
        init_key, dropout_key = jax.random.split(key)
        variables = dict(
            self.module.init({"params": init_key, "dropout": dropout_key}, x, **self._mode(False))
        )
        if self.normalization is not None and self.normalization.affine:
            affine = self.normalization.init_affine(self.dims.features)
            variables["params"] = {**variables["params"], norm.AFFINE: affine}
        return variables

    def apply(
        self,
        variables: Variables,
        x: Array,
        *,
        train: bool = False,
        key: Array | None = None,
        lengths: Array | None = None,
    ):
        """Run the model on ``x`` ``[batch, time, features]``; outputs in the units of ``x``.

        Returns the predictions when ``train`` is false; when true, ``(predictions, updates)``
        where ``updates`` holds the new non-parameter collections (BatchNorm statistics) and
        ``key`` seeds dropout. ``lengths`` ``[batch]`` gives each sequence's valid steps (right
        padding) for models that support it (:attr:`supports_lengths`).
        """
        if self.normalization is None and self.head is None and not self.base:
            return self._apply_module(variables, x, train=train, key=key, lengths=lengths)
        out, updates, frame = self.apply_in_frame(
            variables, x, train=train, key=key, lengths=lengths
        )
        if self.head is not None:
            out = self.head.point(self._params_in_units(out, frame, variables))
        elif frame is not None:
            out = self._normalization().outputs(out, frame, self.target_columns, _affine(variables))
        return (out, updates) if train else out

    def distribution(self, variables: Variables, x: Array) -> Array:
        """The head's parameters in the units of ``x``: ``[..., outputs, head.size]``, where
        ``[...]`` and ``outputs`` are :meth:`apply`'s layout (quantile heads: the quantiles)."""
        self._required_head()
        out, _, frame = self.apply_in_frame(variables, x)
        return self._params_in_units(out, frame, variables)

    def quantiles(self, variables: Variables, x: Array, levels=None) -> Array:
        """Forecast quantiles ``[..., outputs, L]``, non-decreasing along ``L``, at ``levels``
        (default :attr:`levels`)."""
        head = self._required_head()
        return head.quantiles(self.distribution(variables, x), levels or self.levels)

    @property
    def levels(self) -> tuple[float, ...]:
        """The quantile levels reported for this model: a quantile head's own, else
        :data:`jaxseq.distributions.REPORT_LEVELS`."""
        return dist.levels_of(self.head)

    def loss_in_frame(self, out: Array, target: Array) -> Array:
        """The training loss of raw outputs (:meth:`apply_in_frame`) against targets in the same
        frame (:meth:`frame_targets`): :attr:`loss` (MSE or MAE), or the head's pinball loss /
        negative log-likelihood."""
        if self.head is None:
            return POINT_LOSSES[self.loss](out, target)
        return self.head.loss(self._head_params(out), target)

    def _head_params(self, out: Array) -> Array:
        head = self._required_head()
        raw = out.reshape(*out.shape[:-1], out.shape[-1] // head.size, head.size)
        return head.constrain(raw)

    def _params_in_units(self, out, frame, variables) -> Array:
        params = self._head_params(out)
        if frame is None:
            return params
        a, b = self._normalization().data_map(
            params[..., 0], frame, self.target_columns, _affine(variables)
        )
        return self._required_head().affine(params, a, b)

    def _required_head(self) -> dist.Head:
        if self.head is None:
            raise InputError(
                f"model {self.name!r} gives point forecasts only; build it with "
                "head='quantiles', 'normal' or 'student_t' (--quantiles / --distribution)"
            )
        return self.head

    def _normalization(self) -> norm.Normalization:
        """The normalisation of a model that has one (a window frame exists only then)."""
        if self.normalization is None:
            raise ValueError(f"model {self.name!r} normalises no windows: it has no frame")
        return self.normalization

    def apply_in_frame(
        self,
        variables: Variables,
        x: Array,
        *,
        train: bool = False,
        key: Array | None = None,
        lengths: Array | None = None,
    ):
        """The raw outputs in each window's normalised frame, for a loss in that frame:
        ``(outputs, updates, frame)``; score them with :meth:`loss_in_frame` against
        :meth:`frame_targets`. Without normalisation the frame is ``None``. With a head the
        outputs hold ``head.size`` raw values per forecast value."""
        if self.normalization is None:
            out = self._apply_module(variables, x, train=train, key=key, lengths=lengths)
            out, updates = out if train else (out, {})
            return out + self._base(x, variables, None), updates, None
        self.check_inputs(x)
        frame = self.normalization.frame(x)
        xn = self.normalization.inputs(x, frame, _affine(variables))
        inner = dict(variables)
        inner["params"] = {k: v for k, v in variables["params"].items() if k != norm.AFFINE}
        out = self._apply_module(inner, xn, train=train, key=key, lengths=lengths)
        out, updates = out if train else (out, {})
        return out + self._base(x, variables, frame), updates, frame

    def _base(self, x: Array, variables: Variables, frame) -> Array | float:
        """A hybrid's base forecasts in the outputs' layout and frame (0 without a base): the
        last ``base`` lead features of each horizon step, ``[batch, horizon * targets]`` from
        the last input step, or per output step for seq2seq."""
        if not self.base:
            return 0.0
        leads = x[..., self.dims.features - self.dims.horizon * self.dims.future :]
        leads = leads.reshape(*x.shape[:-1], self.dims.horizon, self.dims.future)
        base = leads[..., -self.base :].reshape(*x.shape[:-1], self.dims.horizon * self.base)
        base = self.targets(base) if self.task == "seq2seq" else base[:, -1]
        return self.frame_targets(base, variables, frame)

    def frame_targets(self, Y: Array, variables: Variables, frame) -> Array:
        """Targets (already :meth:`targets`-aligned) in the frame of :meth:`apply_in_frame`."""
        if frame is None:
            return Y
        return self._normalization().targets(Y, frame, self.target_columns, _affine(variables))

    def _apply_module(self, variables, x, *, train=False, key=None, lengths=None):
        self.check_inputs(x)
        if lengths is not None:
            if not self.supports_lengths:
                raise InputError(
                    f"model {self.name!r} cannot take padded inputs (lengths): it has layers "
                    "that mix time steps other than recurrent ones"
                )
            return self.module.apply(variables, x, lengths=lengths, **self._mode(False))
        if not train:
            return self.module.apply(variables, x, **self._mode(False))
        rngs = {"dropout": key} if key is not None else {}
        mutable = [name for name in variables if name != "params"]
        if mutable:
            return self.module.apply(variables, x, **self._mode(True), rngs=rngs, mutable=mutable)
        return self.module.apply(variables, x, **self._mode(True), rngs=rngs), {}

    @property
    def supports_lengths(self) -> bool:
        """Whether :meth:`apply` takes ``lengths`` (recurrent and per-step layers only; not with
        window normalisation, whose statistics span the whole window)."""
        return (
            self.normalization is None
            and isinstance(self.module, Sequential)
            and self.module.supports_lengths()
        )

    def _mode(self, train: bool) -> dict:
        return {"train": train} if takes_train(self.module) else {}

    def check_inputs(self, x) -> None:
        """Raise :class:`InputError` if ``x`` is not ``[batch, window, features]`` for this model."""
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) != 3:
            raise InputError(
                f"model {self.name!r} takes inputs [batch, time, features], got shape {shape}"
            )
        if shape[-1] != self.dims.features:
            raise InputError(
                f"model {self.name!r} was built for {self.dims.features} feature(s), "
                f"inputs have {shape[-1]} (shape {tuple(shape)})"
            )
        if self.fixed_window and shape[1] != self.dims.window:
            raise InputError(
                f"model {self.name!r} takes exactly {self.dims.window} steps, inputs have "
                f"{shape[1]}; rebuild it with get({self.name!r}, window={shape[1]})"
            )

    def targets(self, Y: Array) -> Array:
        """The part of a task's targets this model's outputs align with (seq2seq only)."""
        if self.target_steps is None:
            return Y
        start, stride = self.target_steps
        return Y[:, start::stride]

    def count_params(self, variables: Variables) -> int:
        return sum(int(p.size) for p in jax.tree_util.tree_leaves(variables["params"]))


def _affine(variables: Variables) -> dict | None:
    return variables["params"].get(norm.AFFINE)


def get(
    name: str,
    *,
    window: int = 50,
    features: int = 1,
    horizon: int = 10,
    targets: int = 1,
    target_columns: Sequence[int] | None = None,
    normalize: str | norm.Normalization | None = None,
    head: str | Sequence[float] | dist.Head | None = None,
    future: int = 0,
    base: bool = False,
    loss: str | None = None,
) -> Model:
    """Build a zoo model by name.

    Args:
        name: one of :func:`names`.
        window: input steps (only models with a flattened input depend on it).
        features: input features per step.
        horizon: steps ahead (ignored by one-step models, which forecast 1).
        targets: number of forecast columns.
        target_columns: which input features those are (default the first ``targets``).
        normalize: ``"window"`` (each input window in its own frame, :mod:`jaxseq.normalize`),
            a :class:`~jaxseq.normalize.Normalization`, or ``None``/``"none"`` (off).
        head: ``None`` (point forecasts), ``"normal"``, ``"student_t"``, quantile levels
            (``(0.1, 0.5, 0.9)`` or ``"0.1,0.5,0.9"``) or a :class:`jaxseq.distributions.Head`.
        future: known-future covariates per horizon step at the end of each input step (the
            last ``future * horizon`` features; :func:`jaxseq.data.windows_at`). The
            encoder-decoder feeds them to its decoder, step by step.
        base: a hybrid (:mod:`jaxseq.hybrid`): the last ``targets`` of the ``future`` lead
            features of each step are a base model's forecasts, and the outputs are added to
            them (point forecasts only).
        loss: a point model's training loss, ``"mse"`` (default) or ``"mae"``
            (:data:`POINT_LOSSES`); a head trains on its own loss, so with one only
            ``None``/``"mse"`` is accepted.
    """
    entry = zoo_entry(name)
    window = check_positive_int("window", window)
    features = check_positive_int("features", features)
    targets = check_positive_int("targets", targets)
    normalization = norm.get(normalize)
    columns = tuple(range(targets)) if target_columns is None else tuple(target_columns)
    checked = target_columns is not None or normalization is not None
    if checked and (
        len(columns) != targets
        or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c < features for c in columns
        )
    ):
        raise InputError(
            f"target_columns must be {targets} feature indices in [0, {features}), got {columns!r}"
        )
    horizon = 1 if entry.task == "one_step" else check_positive_int("horizon", horizon)
    head = dist.get(head)
    future = check_future(future, features, horizon)
    if base and (head is not None or future < targets or entry.task == "one_step"):
        raise InputError(
            "a hybrid (base) model forecasts points over a horizon and reads its base forecasts "
            "among the future lead features: use no probabilistic head, a multi-step or seq2seq "
            "model, and future >= targets"
        )
    loss = check_loss(loss, head)
    dims = Dims(window, features, horizon, targets, future)
    steps = entry.target_steps(dims) if entry.target_steps else None
    built = dims._replace(n_targets=targets * (head.size if head else 1))
    return Model(
        name=name,
        module=entry.builder(built),
        task=entry.task,
        mode=entry.mode,
        dims=dims,
        learning_rate=entry.learning_rate,
        reference=entry.reference,
        notebook=entry.notebook,
        notebook_spread=entry.notebook_spread,
        target_steps=steps,
        fixed_window=entry.fixed_window,
        description=entry.description,
        normalization=normalization,
        target_columns=columns,
        head=head,
        base=targets if base else 0,
        loss=loss,
    )


def check_future(future: int, features: int, horizon: int) -> int:
    """``future`` if ``features`` can hold ``future`` covariates for each of ``horizon`` steps."""
    if isinstance(future, bool) or not isinstance(future, int) or future < 0:
        raise InputError(f"future must be an integer >= 0 (covariates per step), got {future!r}")
    if future * horizon >= features:
        raise InputError(
            f"{future} future covariate(s) x horizon {horizon} = {future * horizon} lead "
            f"features leave none of the {features} input features for the series itself"
        )
    return future
