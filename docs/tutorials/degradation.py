# %% [markdown]
# # Degradation on a tiny budget
#
# The ResNet paper's starting point (section 4.1, fig. 6): a deeper *plain* network can have a higher
# **training** error than a shallower one, so the trouble is optimisation, not overfitting; shortcuts remove
# it. Here a plain 32-layer network and a ResNet-32 (the same layers plus identity shortcuts) are trained
# side by side for two epochs on scikit-learn's 8×8 digits: a budget a CPU finishes in a minute or two.
#
# A budget this small shows the first steps of the story, not the paper's figure: read the numbers below,
# and run it again with more epochs or `plain56` / `resnet56` for a clearer gap.

# %%
import tempfile

import cnnzoo

runs = tempfile.mkdtemp(prefix="degradation-")
history = {}
for model in ("plain32", "resnet32"):
    results = cnnzoo.train(
        {
            "model": model,
            "data": "digits",
            "epochs": 2,
            "batch_size": 64,
            "lr": 0.1,
            "schedule": "cosine",
            "tensorboard": False,
            "plots": False,
            "run_dir": f"{runs}/{model}",
            "seed": 0,
        },
        quiet=True,
    )
    import json
    from pathlib import Path

    rows = [json.loads(line) for line in Path(runs, model, "metrics.jsonl").read_text().splitlines()]
    history[model] = rows
    print(
        f"{model}: training error per epoch "
        + ", ".join(f"{100 * (1 - r['train_acc']):.1f}%" for r in rows)
        + f"; test error {100 * (1 - results['test']['top1']):.1f}%"
    )
assert all(len(rows) == 2 for rows in history.values())

# %% [markdown]
# The training error of both, per epoch, as the paper plots it (thin lines: training error):

# %%
from matplotlib.figure import Figure

fig = Figure(figsize=(6, 3.5))
ax = fig.subplots()
for model, rows in history.items():
    ax.plot([r["epoch"] for r in rows], [100 * (1 - r["train_acc"]) for r in rows], marker="o", label=model)
ax.set(xlabel="epoch", ylabel="training error (%)", title="plain vs residual, 32 layers, digits")
ax.legend()
ax.grid(alpha=0.3)
fig
