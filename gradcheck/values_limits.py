"""Size limits shared by values and the shape pass (no imports: both read it)."""

# Bounds on one value or one node, so that a typo such as randn(100000,100000) or onehot(y, 10**9)
# is refused instead of exhausting memory.
MAX_ENTRIES = 10_000_000
