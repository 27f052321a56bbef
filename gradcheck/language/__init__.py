"""gradcheck's expression language: the one tree every oracle reads (tree.py), the safe parser,
shapes inferred before any number is computed, the cost a check will have (refused up front when too
large), and the forward pass that evaluates the tree (with the shaken pass that measures rounding).
"""
