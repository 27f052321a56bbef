"""Renderers: each turns the same result objects into text (a rich table, JSON). Nothing here computes."""
