# %% [markdown]
# # ResNet-18 from the paper's table
#
# The course's Exercise 3-2 asks for a ResNet-18 for 32×32 CIFAR-10 images and prints its torchsummary:
# **11,181,642 parameters**. Here we count them from the ResNet paper's Table 1 by hand, layer by layer, and
# check the count against the network cnnzoo builds from the same table.
#
# Table 1's 18-layer column: a 7×7, 64 convolution with stride 2 and a 3×3 max pool; then four stages
# `conv2_x` ... `conv5_x` of two basic units each, `[3×3, C; 3×3, C]` with C = 64, 128, 256, 512; average
# pooling and a fully connected layer (10 classes here, not 1000).

# %%
import cnnzoo

STAGES = [(64, 2), (128, 2), (256, 2), (512, 2)]  # Table 1, 18-layer: (channels, units) of conv2_x..conv5_x
NUM_CLASSES = 10


def conv(k: int, c_in: int, c_out: int) -> int:
    """A k×k convolution without bias (BatchNorm follows it): k·k·C_in·C_out weights."""
    return k * k * c_in * c_out


def bn(c: int) -> int:
    """BatchNorm's learned scale and shift, one each per channel."""
    return 2 * c


count = conv(7, 3, 64) + bn(64)  # conv1
c_in = 64
for c, units in STAGES:
    for _ in range(units):
        count += conv(3, c_in, c) + bn(c) + conv(3, c, c) + bn(c)  # the two 3×3 convolutions of a basic unit
        if c_in != c:  # where the channels change, the shortcut is a 1×1 projection with its BatchNorm
            count += conv(1, c_in, c) + bn(c)
        c_in = c
count += c_in * NUM_CLASSES + NUM_CLASSES  # the fully connected layer, with its bias
print(f"counted from Table 1: {count:,} parameters")
assert count == 11_181_642

# %% [markdown]
# Now the network itself. `course_resnet18` is the course's listing: it keeps every unit at stride 1, so
# for a 32×32 image the maps stay 8×8 after the stem. The stride moves no weight, so the paper's ResNet-18
# with 10 classes has exactly the same parameters.

# %%
from cnnzoo.inspect.counts import count_params

course = cnnzoo.create_model("course_resnet18")
paper = cnnzoo.create_model("resnet18", num_classes=NUM_CLASSES)
print(f"course_resnet18: {count_params(course):,}   resnet18 (10 classes): {count_params(paper):,}")
assert count_params(course) == count_params(paper) == count

# %% [markdown]
# Where they differ is the multiply-adds: the course's maps stay 8×8 while the channels grow, so each stage
# costs more than the one before; in the paper's network the stride halves the map as the channels double,
# and each stage costs about the same.

# %%
from cnnzoo.inspect.summary import summary

small = cnnzoo.create_model("resnet18", num_classes=10, small_input=True)  # the paper's strides, CIFAR stem
for name, model in [("course_resnet18", course), ("resnet18, small_input=True", small)]:
    rows = summary(model, input_size=(3, 32, 32), depth=3).rows
    print(name)
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        shape = next(r.output_shape for r in rows if r.name == stage)
        macs = sum(r.macs for r in rows if r.name.startswith(stage + ".") and r.is_leaf)
        print(f"  {stage}: output {shape}, {macs / 1e6:.0f}M multiply-adds")

# %% [markdown]
# Its stages, drawn from the built model (`cnnzoo draw course_resnet18 --level stages`):

# %%
from cnnzoo.visual.draw import diagram, to_dot

drawn = diagram("course_resnet18", "stages")
assert [n.label.split("\n")[0] for n in drawn.nodes if n.kind == "stage"] == [
    "conv2_x",
    "conv3_x",
    "conv4_x",
    "conv5_x",
]
to_dot(drawn)  # in Jupyter this shows the picture
