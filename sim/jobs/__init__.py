"""Jobs: points x runs handed to a local or Dask executor, and the durable chunk store."""
