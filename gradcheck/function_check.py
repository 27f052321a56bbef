"""check_function: is the backward of your own numpy loss right? (See gradcheck.layer_check, which
checks check_function, check_vjp and check_layer with one machinery.)"""

from __future__ import annotations

from .layer_check import check_function, check_layer, check_vjp

__all__ = ["check_function", "check_layer", "check_vjp"]
