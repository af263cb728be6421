"""The compiled core: array layout, random numbers, the rules, the month, outcomes, the kernel.

Plain functions over arrays that Numba compiles; both engines call them. Imports nothing of
diplosim above :mod:`sim.errors` (scenario types appear in annotations only).
"""
