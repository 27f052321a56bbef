"""The independent ways of computing ∂f/∂x: symbolic (SymPy), backprop (ours), numeric (finite differences)."""
