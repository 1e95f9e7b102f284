"""``jaxseq bench``: jaxseq timed against its peers (Flax, Keras 3, PyTorch) on fixed workloads.

- ``workloads`` defines the workloads (W1-W6 recurrent and conv training, S8 seeds at once, E1
  evaluation, B1 batched forecasting, P1 panel throughput);
- ``peers`` and ``peers_torch`` build the same models in the peer frameworks;
- ``timing`` is the one timer (a call; contenders interleaved), shared by the harness, the
  workloads and the studies in ``benchmarks/``;
- ``harness`` runs the suite and writes ``bench.json``/``bench.md``;
- ``scaling`` measures training throughput against the number of devices.
"""
