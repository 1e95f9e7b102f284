"""The application: files in, run folders and forecasts out, and the ``jaxseq`` command line.

Built on the library (``jaxseq.cells`` ... ``jaxseq.evaluate``), never the other way round:

- ``io`` reads a user's CSV/Parquet series and checks it; ``calendar`` and ``covariates`` derive
  the extra inputs; ``panel`` reads many series in long format;
- ``workflow`` fits one configuration (``runs.RunConfig``) on one series; ``compare`` ranks the
  zoo on it; ``global_model`` fits one model on a panel; ``forecasting`` forecasts and imputes
  from a saved run; ``runs`` saves and loads run folders;
- ``experiments`` reproduces the chapter's table; ``cli`` is the command line; ``progress`` and
  ``plots`` draw.
"""
