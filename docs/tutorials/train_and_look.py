# %% [markdown]
# # Train a ResNet-20 and look at it
#
# A ResNet-20 trained on the CPU (scikit-learn's 8×8 digits: offline, under a minute on two cores), then
# three looks inside it: Grad-CAM of its top classes over test images, its first layer's sixteen 3×3 filters,
# and the feature maps of one image at the end of each stage (32, then 16, then 8... here 8×8, 4×4, 2×2).

# %%
import tempfile
from pathlib import Path

import cnnzoo

work = Path(tempfile.mkdtemp(prefix="look-"))
results = cnnzoo.train(
    {
        "model": "resnet20",
        "data": "digits",
        "epochs": 3,
        "batch_size": 64,
        "lr": 0.1,
        "schedule": "cosine",
        "tensorboard": False,
        "run_dir": str(work / "run"),
        "seed": 0,
    },
    quiet=True,
)
print(f"test top-1 {100 * results['test']['top1']:.2f}%")
assert results["test"]["top1"] > 0.9

# %% [markdown]
# Four test images, written as PNG files as a user would have them, and what the network looks at in each:

# %%
from PIL import Image

from cnnzoo.data.datasets import load_split
from cnnzoo.visual.explain import explain

test = load_split("digits", "test")
images = []
for i in range(4):
    images.append(work / f"digit{i}_label{int(test.labels[i])}.png")
    Image.fromarray(test.images[i, 0].numpy()).save(images[-1])
explained = explain(work / "run", images, work / "explain", topk=2)
print(f"Grad-CAM of {explained.layer}:", *[p.name for p in explained.overlays])
assert explained.layer == "layer3" and len(explained.overlays) == 4

# %%
from IPython.display import Image as Show
from IPython.display import display

for path in explained.overlays:
    display(Show(filename=str(path)))

# %% [markdown]
# The first layer's filters (AlexNet's fig. 3 shows its 96 11×11 ones; ResNet-20 has sixteen 3×3), and the
# feature maps of the first image, the eight most active channels at the end of each stage:

# %%
display(Show(filename=str(explained.filters)))
display(Show(filename=str(explained.feature_maps)))
