"""The base every layer stands on: the typed errors, exit statuses, options, tolerances and size
limits, the time budget, where text came from, the seeded random streams, the plain data the oracles
hand to the verdict (columns), and the seam through which results present themselves. Nothing here
imports another layer; most of it imports no numpy, so that `gradcheck --help` starts quickly.
"""
