"""Text and nothing else: each renderer turns a result (or a trace) into a table for the terminal
(rich, laid out for its width), JSON, JUnit, HTML, SVG, DOT, LaTeX; user text is always shown literally.
Only this layer imports rich.
"""
