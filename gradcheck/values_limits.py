"""Size limits shared by values and the shape pass (no imports: both read it)."""

# Bounds on one value or one node, so that a typo such as randn(100000,100000) or onehot(y, 10**9)
# is refused instead of exhausting memory.
MAX_ENTRIES = 10_000_000
# Dimensions of one node's value: numpy's iterators (ndindex, nditer, .flat of some arrays) take at most
# 32, and windows (conv2d, pooling) add two to their input's; a value given with --at has at most 8
# (values.MAX_DIMENSIONS).
MAX_NODE_DIMENSIONS = 16
