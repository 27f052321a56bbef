"""Judging: the agreement rule, written once (agreement.py), a variable's columns judged by it
(judge.py), fast mode's pool and a black box's measured rounding, which measure again where a claim
disagrees, and the result objects a check returns.
"""
