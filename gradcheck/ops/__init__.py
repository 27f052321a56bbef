"""The operations: the one registry (registry.py), where each primitive is defined once by keyword,
its name, forward, VJP rules, SymPy form, domain, kink, complex form and matrix rule; and the
mathematics of each family of array primitives (arrays, shaping, reductions, convolution), the terms
matrix-form rules are written in, and the tie-sharing maximum SymPy differentiates.
"""
