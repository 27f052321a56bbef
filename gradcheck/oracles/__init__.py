"""The three independent oracles: backprop (gradcheck's own reverse mode over the tree), numeric
(finite differences and the complex step, for expressions and black boxes, full and fast mode with its
random directions), and symbolic (SymPy, evaluated to 30 digits or more, with its on-disk store); and
kinks decided exactly. Oracles measure; they never judge.
"""
