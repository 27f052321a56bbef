"""What the user hands in, made into something a check can use: values of --at (numbers, lists,
randn(...), .npy files confined to a root), integer data for layers, the Problem an expression check
works on (f, its point, claims, --let names), and calling a user's own Python code safely.
"""
