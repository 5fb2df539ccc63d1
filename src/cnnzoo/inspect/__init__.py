"""Looking inside models: parameter and multiply-add counts, layer summaries, paper-style tables, cost calculators.

Modules: counts (params, multiply-adds, depth), summary (layer table), archtable (the papers' tables), cost
(convolution and inception calculators), compare (models side by side), render (one table, four formats).
Functions are not re-exported here: `summary` and `compare` would shadow their own modules.
"""
