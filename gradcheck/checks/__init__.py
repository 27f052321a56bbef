"""The checks, each a pipeline that reads top to bottom: an expression (parse → evaluate → measure →
judge → diagnose), its Hessian, and a user's own numpy code (check_function, check_vjp, check_layer)
with its contracts.
"""
