"""Every size limit in one place: what input is refused before it can exhaust memory or time, and the
caps the oracles and the store work within. Each says where its value comes from. Plain Python (no
imports), so that any layer can read it."""

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

# ----- read by language/parser.py --------------------------------------------------------------
# Longer than any hand derivation; also bounds the work the oracles do on one expression.
MAX_TEXT_LENGTH = 10_000
# Parentheses, calls, unary minus and powers nested deeper than this are refused. SymPy's
# differentiation hit Python's recursion limit at ~200 nested functions (measured, SymPy 1.14),
# and this parser spends two Python frames a level.
MAX_NESTING = 100

# ----- read by language/cost.py ----------------------------------------------------------------
# The parser's limit on nesting within one text, applied to the whole DAG across --let names: SymPy's
# differentiation recurses, and fails past ~200 nested functions (docs/safety.md).
MAX_DAG_NESTING = 100
# Scalar operations in one evaluation of f: about a second of numpy on one core (matmul at ~1e9
# multiply-adds per second); the numeric oracle needs dozens of evaluations at least.
MAX_EVALUATION_OPERATIONS = 1_000_000_000
# Scalar operations of all the numeric oracle's evaluations together. Measured: a 999,900-parameter
# two-layer net in fast mode is estimated at 3.3e10 and took 19 s on this 2-core machine under load
# (matmul runs in BLAS); 10^11 stays inside the default time budget (budget.DEFAULT_TIMEOUT).
MAX_NUMERIC_OPERATIONS = 100_000_000_000

# ----- read by inputs/values.py ----------------------------------------------------------------
# An array value may be long (a list literal); larger data belongs in a .npy file.
MAX_VALUE_TEXT = 1_000_000
MAX_DIMENSIONS = 8
# Digits of a whole number in a value's text (randn's sizes, randint's bounds): far more than any size or
# 64-bit bound (19 digits) needs, far fewer than Python's int() refuses (4,300).
MAX_WHOLE_DIGITS = 100

# ----- read by inputs/trees.py -----------------------------------------------------------------
# Values in one structured input (a dict of parameters, a list of layers' weights): a model's parameters
# are tens; each leaf is named in the table, so thousands would be unreadable anyway.
MAX_TREE_LEAVES = 10_000
# Nesting of dicts, lists and tuples in one input: deeper than any model's (a list of blocks of dicts of
# weights is 3); a structure that contains itself is refused here instead of walked forever.
MAX_TREE_DEPTH = 32

# ----- read by inputs/data.py ------------------------------------------------------------------
# Brackets nested deeper than this are refused before ast sees them (its parser recurses).
LITERAL_MAX_NESTING = 16
# A literal (dict or list) is at most this long; bigger data belongs in a .npy file.
MAX_LITERAL = 100_000

# ----- read by inputs/npy.py -------------------------------------------------------------------
# The largest header numpy writes (format 2.0/3.0 allow up to 4 GiB, never needed for a dict of three keys).
MAX_HEADER_BYTES = 65_535

# ----- read by batch/cases.py ------------------------------------------------------------------
# A case file larger than this is refused before it is read or parsed (tomllib took 34 s and 1.1 GB for
# a 96 MB file); a course's case files are a few kilobytes, and large data belongs in .npy files.
MAX_CASE_FILE_BYTES = 5_000_000

# ----- read by oracles/symbolic.py -------------------------------------------------------------
# Above these sizes the symbolic column is skipped, with the reason, and the verdict rests on the
# other oracles (figures for this machine in benchmarks/symbolic.py).
SYMBOLIC_MAX_PARTIALS = 500  # entries of the variables differentiated, all together
SYMBOLIC_MAX_OPERATIONS = 10_000  # scalar operations in the elementwise expansion of f

# ----- read by checks/hessian.py ---------------------------------------------------------------
# The Hessian has n² entries for n variable entries, each a second derivative by SymPy and a
# difference of two backprop passes: n is kept small.
HESSIAN_MAX_ENTRIES = 40
# SymPy differentiates the whole expansion twice: up to this many scalar operations.
HESSIAN_MAX_OPERATIONS = 2_000
# SymPy's second derivatives (entries²) times the size of f: logsumexp(A @ x) by a 10-entry x is ~12,000
# and took 17 s on a shared 2-core machine, 15 entries ~57,000 and 50 s; above this the check is refused
# up front rather than cut by the time budget.
HESSIAN_MAX_WORK = 20_000

# ----- read by oracles/sym_store.py ------------------------------------------------------------
# An entry larger than this is neither written nor read (the forms of the largest kinds of call the
# symbolic limits admit are a few hundred kB).
MAX_ENTRY_BYTES = 4_000_000
# Entries and bytes per folder: above either, the oldest entries are removed until both are under
# three quarters of it (a kind of call is one entry of about a kilobyte; a few hundred cases of a
# course use a few hundred).
STORE_MAX_ENTRIES = 20_000
MAX_STORE_BYTES = 200_000_000
# Folders of other fingerprints kept (other versions of gradcheck or SymPy installed side by side).
STORE_MAX_FOLDERS = 4
