"""Training: the loop, optimisers and schedules, checkpoints, metrics, the run directory.

    config.py      TrainConfig: every setting of a run, defaults < YAML recipe < command-line flags
    engine.py      train(config) -> results: the loop, top to bottom
    optim.py       SGD/AdamW, learning-rate schedules per iteration, EMA of weights
    metrics.py     top-1/top-5 and the confusion matrix, accumulated on the device
    checkpoint.py  atomic checkpoints (cnnzoo.io), RNG states, safetensors; cnnzoo.predict loads them
    runlog.py      the run directory: config, environment, metrics, TensorBoard, plots, results

Nothing is imported here, so `from cnnzoo.training.engine import train` in cnnzoo/__init__.py (which makes
`cnnzoo.train` the function) costs nothing and leaves `from cnnzoo.training import checkpoint` working.
"""
