"""One check of the settings every entry point shares (``jaxseq train``, ``compare``,
``panel``, :class:`jaxseq.app.forecaster.Forecaster`): the same bad setting is refused with
the same message wherever it enters (``tests/test_settings.py`` holds every entry point to
it)."""

from __future__ import annotations

from jaxseq import baselines, hybrid, models, stopping
from jaxseq import distributions as dist
from jaxseq import normalize as norm
from jaxseq.app.io import check_fill
from jaxseq.errors import check_positive_int
from jaxseq.train import check_clip_norm


def check_settings(
    *,
    horizon,
    window,
    seeds=1,
    normalize: str = "series",
    stride=1,
    batch_size=32,
    season=None,
    fill: str | None = None,
    base: str | None = None,
    head=None,
    epochs=None,
    max_steps=None,
    patience=None,
    schedule: str | None = None,
    classical_budget=None,
    loss: str | None = None,
    clip_norm=None,
) -> None:
    """Refuse a bad setting with a :class:`jaxseq.InputError` naming it and the fix: counts
    that are not positive integers (``horizon``, ``window``, ``seeds``, ``stride``,
    ``batch_size``, ``season``, ``epochs``, ``max_steps``, ``patience``), an unknown
    normalisation, fill, hybrid base, probabilistic head, learning-rate schedule or training
    loss, a point loss with a probabilistic head, a clipping norm that is not a number > 0, a
    classical model's time budget that is not a number of seconds >= 0."""
    for name, value in (
        ("horizon", horizon),
        ("window", window),
        ("seeds", seeds),
        ("stride", stride),
        ("batch_size", batch_size),
    ):
        check_positive_int(name, value)
    for name, value in (
        ("season", season),
        ("epochs", epochs),
        ("max_steps", max_steps),
        ("patience", patience),
    ):
        if value is not None:
            check_positive_int(name, value)
    norm.check_mode(normalize)
    if fill is not None:
        check_fill(fill)
    if base is not None:
        hybrid.check(base)
    models.check_loss(loss, dist.get(head))
    check_clip_norm(clip_norm)
    stopping.Schedule(schedule or stopping.SCHEDULE)
    baselines.check_budget(classical_budget)
