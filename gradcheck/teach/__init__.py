"""What gradcheck shows a learner: gradients derived in matrix form and checked, a wrong matrix claim
diagnosed against them, the backward pass written out (explain), the computational graph node by node
(trace), a numpy function emitted from the checked formulas, and how a value reads.
"""
