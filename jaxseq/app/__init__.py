"""The application: files in, run folders and forecasts out, and the ``jaxseq`` command line.

Built on the library (``jaxseq.cells`` ... ``jaxseq.evaluate``), never the other way round:

- reading: ``io`` reads a user's CSV/Parquet/.npy series or DataFrame and checks its values;
  ``timeaxis`` parses, sorts and checks its time column; ``frequency`` names its frequency and
  default season; ``calendar`` and ``covariates`` derive the extra inputs; ``long_table``
  converts what a user holds to one long table;
- one series: ``workflow`` configures and fits one run (``runs.RunConfig``) and calibrates its
  intervals; ``backtest`` turns forecasts into the data's units and scores them beside the
  baselines; ``compare`` ranks the zoo on a series; ``forecasting`` forecasts and imputes from a
  saved run; ``runs`` saves and loads run folders;
- many series: the ``panel`` package (``types``, ``table``, ``scores``, ``forecast``,
  ``training``, ``fit``): reads many series, trains one global model or one model per series,
  scores per series and forecasts, and runs the front door's panel strategies;
- ``experiments`` reproduces the chapter's table; ``cli`` is the command line (``parser`` and
  ``commands``); ``progress`` and ``plots`` draw.
"""
