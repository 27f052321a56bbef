"""How a wrong claim is wrong: a claim's diagnosis at random points (a factor, a transpose, a
missing local gradient, right only by chance), a black box's (layers.py), how an expression was read
(classic slips), and the right formula shown beside a wrong claim, checked before it is shown.
"""
