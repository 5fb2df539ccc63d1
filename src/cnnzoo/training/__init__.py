"""Training: a config becomes a run directory; the loop that trains it, and what it writes.

    config.py      TrainConfig: every setting of a run (the data spec held whole), defaults < recipe < flags
    recipes.py     the packaged YAML recipes, by name
    train.py       train(config) -> results: config, run directory, data, model, then the loop
    loop.py        the loop, top to bottom: the step, an epoch, evaluation, the epochs, the test once
    resume.py      the rules of --resume: which run, which config, whether it is finished
    evaluate.py    evaluate_run(RUN): a trained model on its test split or another dataset
    optim.py       SGD/AdamW, learning-rate schedules per iteration, EMA of weights
    finetune.py    --init-from with a new classifier, adapted input channels, frozen features, a head lr
    metrics.py     top-1/top-5 and the confusion matrix, accumulated on the device
    checkpoint.py  atomic checkpoints (cnnzoo.io), RNG states, safetensors; cnnzoo.predict loads them
    runlog.py      the run directory: config, environment, metrics, TensorBoard, plots, results
    progress.py    a bar per epoch in a terminal or a notebook, a line per epoch always
    distributed.py several processes under torchrun: DDP, sharded evaluation, rank 0 writes
    tta.py         test-time augmentation views

Nothing is imported here, so `from cnnzoo.training.train import train` in cnnzoo/__init__.py (which makes
`cnnzoo.train` the function) costs nothing and leaves `from cnnzoo.training import checkpoint` working.
"""
