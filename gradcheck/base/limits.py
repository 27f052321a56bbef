"""Size limits shared by values and the shape pass (no imports: both read it)."""

# Bounds on one value or one node, so that a typo such as randn(100000,100000) or onehot(y, 10**9)
# is refused instead of exhausting memory.
MAX_ENTRIES = 10_000_000
# Dimensions of one node's value: numpy's iterators (ndindex, nditer, .flat of some arrays) take at most
# 32, and windows (conv2d, pooling) add two to their input's; a value given with --at has at most 8
# (values.MAX_DIMENSIONS).
MAX_NODE_DIMENSIONS = 16
# Full mode costs a few forward passes per entry; up to this many entries (all differentiated
# variables together) it takes well under a second on the nets in tests/. Above it, fast mode.
FULL_MODE_MAX_ENTRIES = 1_000
# Fast mode: this many random directions, and this many random entries, per variable.
FAST_PROBES = 8
