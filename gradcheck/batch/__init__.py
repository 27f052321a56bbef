"""Case files and runs of many cases: reading TOML case files (and which files declare themselves
one), running them on several processes, and the options a run imposes on them (a locked grader run,
a budget for the whole run).
"""
