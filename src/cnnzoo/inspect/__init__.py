"""Looking inside models: parameter and multiply-add counts, layer summaries, paper-style tables."""
