"""Jobs: points x runs handed to a local or Dask executor, and the durable chunk store.

``job`` (the job model, the run-id check, the fingerprint), ``backends`` (the executors, durable
jobs), ``store`` (the durable chunk store), ``ensemble`` (``run_ensemble``: a job of one point),
``settings`` (backend settings the command line reads) and ``options`` (the command line's
backend option group).
"""
