"""Forecast combinations: a weighted mean of candidates' forecasts, its members and weights
chosen on the validation part alone.

A candidate's forecasts are ``[seeds, windows, horizon, targets]`` (a baseline has one seed).
The forecast it issues is the seeds' average; its validation score is the MASE of that
average (:func:`jaxseq.metrics.score`). Candidates are ranked by that score, and for each
``k`` of ``ks`` and each weighting the top ``k`` are combined::

    yhat = sum_m w_m yhat_m          equal:    w_m = 1 / k
                                     inverse:  w_m = (1 / s_m) / sum_n (1 / s_n)

where ``s_m`` is member ``m``'s validation MASE. The combination with the lowest validation
MASE is chosen (ties: the smaller ``k``, then equal weights). Nothing here reads the test part:
the weights are a function of the validation forecasts and truth only.

Anchors (``anchors``: the classical models, in ``compare``): where none of the chosen ``k``
members is an anchor, the anchor with the lowest validation MASE joins them::

    yhat = k / (k + 1) * sum_m w_m yhat_m + 1 / (k + 1) * yhat_anchor

so a combination of networks that validated well on a few windows always keeps a share of a
model built on the whole training part's structure (``experiments/pick_rule_choice.py``: on
21 series' shifted comparisons, 1.072 times the best classical model's MASE against 1.106
without, as many series matched, fewer worse than seasonal naive; confirmed on six more).

Seeds: the combination of seed ``i`` uses each member's seed ``i``; a member with one seed
(a baseline) enters every seed with that forecast. So a combination has as many seeds as its
largest member, and its issued forecast, the seeds' average, is the weighted mean of the
members' issued forecasts. The same rule combines quantiles ``[seeds, windows, horizon,
targets, L]`` level by level (the weighted mean of non-decreasing quantiles never crosses).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from jaxseq import metrics
from jaxseq.errors import InputError

WEIGHTINGS = ("equal", "inverse")
#: the sizes tried by default: at least three members. Chosen on the real-series benchmark's
#: validation parts (``experiments/ensemble_choice.py``, docs/forecasting.md): chosen on the
#: first half of each series' validation origins and checked on the second, the best 3 to 5
#: had 0.925 times the check-half MASE of the best single candidate (geometric mean over 11
#: series), the best 1 to 5 0.940.
KS = (3, 4, 5)


@dataclasses.dataclass(frozen=True)
class Combination:
    """The chosen members (best first), their weights (summing to 1), how they were weighted,
    and the combination's validation MASE."""

    members: tuple[str, ...]
    weights: tuple[float, ...]
    weighting: str
    valid_mase: float
    #: the anchor that joined the top ``k`` (the last member), or ``None``
    anchor: str | None = None

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.members, self.weights, strict=True))


def combine(forecasts: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The weighted mean of the members' forecasts, seed by seed (module docstring).

    Args:
        forecasts: ``{name: [seeds, ...]}`` (quantiles too: any trailing shape, equal for all
            members); members with one seed are broadcast over the others' seeds.
        weights: ``{name: weight}`` over a subset of ``forecasts``.

    Returns:
        ``[max seeds, ...]`` float64.
    """
    if not weights:
        raise InputError("a combination needs at least one member")
    arrays = {m: np.asarray(forecasts[m], np.float64) for m in weights}
    seeds = {len(a) for a in arrays.values()}
    if len(seeds - {1}) > 1:
        raise InputError(
            f"members have different numbers of seeds {sorted(seeds)}: only one-seed members "
            "(baselines) are broadcast"
        )
    total = np.zeros(np.broadcast_shapes(*(a.shape for a in arrays.values())))
    for m, w in weights.items():
        total += w * arrays[m]
    return total


def issued(forecast: np.ndarray) -> np.ndarray:
    """The forecast a candidate issues: its seeds' average, ``[windows, horizon, targets]``."""
    return np.asarray(forecast, np.float64).mean(axis=0)


def choose(
    valid: Mapping[str, np.ndarray],
    truth: np.ndarray,
    scale,
    *,
    ks: Sequence[int] = KS,
    weightings: Sequence[str] = WEIGHTINGS,
    anchors: Collection[str] = (),
) -> Combination:
    """The combination of top-ranked candidates with the lowest validation MASE, joined by the
    best anchor where it has none (module docstring).

    Args:
        valid: ``{name: [seeds, windows, horizon, targets]}`` validation forecasts.
        truth: ``[windows, horizon, targets]`` validation truth.
        scale: ``[targets]`` MASE scale (:func:`jaxseq.metrics.mase_scale` of the training
            part).
        ks: the numbers of members tried (those above the number of candidates are skipped;
            with fewer candidates than any of them, all of them).
        weightings: among :data:`WEIGHTINGS`.
        anchors: names of candidates of which the combination keeps at least one (those not
            among ``valid`` are ignored; none: the top ``k`` as chosen).

    Returns:
        The :class:`Combination` (``k = 1`` is the best single candidate).
    """
    unknown = [w for w in weightings if w not in WEIGHTINGS]
    if unknown or not weightings:
        raise InputError(f"weightings must be among {', '.join(WEIGHTINGS)}, got {weightings!r}")
    if not valid:
        raise InputError("there is no candidate to combine")
    means = {name: issued(f) for name, f in valid.items()}
    score = {name: metrics.score(m, truth, scale)["mase"] for name, m in means.items()}
    ranked = sorted(score, key=lambda n: (score[n], n))
    best: tuple[tuple, Combination] | None = None
    sizes = {int(k) for k in ks if 1 <= int(k) <= len(ranked)}
    if not sizes and ks and min(int(k) for k in ks) > len(ranked):
        sizes = {len(ranked)}
    for k in sorted(sizes):
        top = ranked[:k]
        for order, weighting in enumerate(weightings):
            w = _weights([score[m] for m in top], weighting)
            mase = metrics.score(
                sum(wi * means[m] for wi, m in zip(w, top, strict=True)), truth, scale
            )["mase"]
            key = (mase, k, order)
            if best is None or key < best[0]:
                best = (key, Combination(tuple(top), tuple(w), weighting, float(mase)))
    if best is None:
        raise InputError(f"ks must hold at least one size in [1, {len(ranked)}], got {ks!r}")
    return _anchored(best[1], [n for n in ranked if n in anchors], means, truth, scale)


def _anchored(chosen: Combination, anchors: Sequence[str], means, truth, scale) -> Combination:
    """``chosen`` joined by the first of ``anchors`` (best first) with weight ``1 / (k + 1)``
    where none of its members is one."""
    if not anchors or any(m in anchors for m in chosen.members):
        return chosen
    k = len(chosen.members)
    weights = [w * k / (k + 1) for w in chosen.weights] + [1 / (k + 1)]
    members = (*chosen.members, anchors[0])
    mase = metrics.score(
        sum(w * means[m] for w, m in zip(weights, members, strict=True)), truth, scale
    )["mase"]
    return Combination(members, tuple(weights), chosen.weighting, float(mase), anchors[0])


def _weights(scores: Sequence[float], weighting: str) -> list[float]:
    if weighting == "equal":
        return [1.0 / len(scores)] * len(scores)
    inverse = [1.0 / max(s, 1e-12) for s in scores]
    return [v / sum(inverse) for v in inverse]
