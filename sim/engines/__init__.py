"""The engines: the Mesa model of one run (with its story) and the Numba ensemble engine."""
