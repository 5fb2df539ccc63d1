"""Experiments: many training runs, shared, resumable, aggregated over seeds, written up as a report folder.

    runs.py         a run's identity (a hash of its resolved config), seeded sibling runs that are reused when
                    finished and resumed when interrupted, mean ± std over seeds
    report.py       report folders: report.md tables, results.json, PNG plots with error bars
    leaderboard.py  `cnnzoo leaderboard`: every family with its recipe, N seeds, one row per model

The reproductions of the papers (issue 10) build on runs.py and report.py the same way leaderboard.py does.
"""
