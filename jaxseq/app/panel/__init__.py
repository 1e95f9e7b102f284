"""Many series at once: one package, split by job, each module importing only those above it
in this list (no circle):

- ``types``: what the others share (``PanelData``: a panel's windows, series-major, with each
  series' offsets and scaler; ``PanelResult``: a trained panel model's state and scores);
- ``table``: reading many series (a long table, columns as series, arrays) into a checked
  :class:`~jaxseq.app.panel.table.Panel`;
- ``scores``: forecasts back to each series' units, scored per series and over the panel,
  beside the baselines;
- ``forecast``: the steps after the end of every series, from a global model or the pick per
  series;
- ``training``: one global model on every series, or one model per series with series and
  seeds one ``vmap``'d axis, and the pick per series;
- ``fit``: the panel strategies behind :class:`jaxseq.app.forecaster.Forecaster`
  (``"global"``, ``"global+local"``): fit, predict, leaderboard, cross-validation, save, load.

Nothing is imported here: callers import the module they need
(``from jaxseq.app.panel import table``).
"""
