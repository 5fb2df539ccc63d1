# %% [markdown]
# # What 1×1 reductions save
#
# The course's example: a naive inception module on a 28×28×256 input with 128 1×1, 192 3×3 and 96 5×5
# filters and a 3×3 max pool, side by side. Its convolutions need
#
# 28·28·128·1·1·256 + 28·28·192·3·3·256 + 28·28·96·5·5·256 = **854M** multiply-adds.
#
# GoogLeNet's answer (fig. 2(b)) is a 1×1 convolution before the expensive ones, and one after the pool.

# %%
from cnnzoo.inspect.cost import inception_cost

by_hand = 28 * 28 * 128 * 1 * 1 * 256 + 28 * 28 * 192 * 3 * 3 * 256 + 28 * 28 * 96 * 5 * 5 * 256
naive = inception_cost((28, 28, 256), {"1x1": 128, "3x3": 192, "5x5": 96, "pool": None})
print(f"by hand: {by_hand:,}   cnnzoo: {naive.macs:,} multiply-adds, output {naive.out_shape}")
assert naive.macs == by_hand == 854_196_224
assert naive.out_shape == (28, 28, 128 + 192 + 96 + 256)  # the pool passes all 256 channels on: depth only grows

# %% [markdown]
# The same branches with inception (3a)'s reductions: 96 channels before the 3×3, 16 before the 5×5, and a
# 32-channel projection after the pool.

# %%
reduced = inception_cost(
    (28, 28, 256), {"1x1": 128, "3x3": 192, "5x5": 96, "pool": None}, reduce={"3x3": 96, "5x5": 16, "pool": 32}
)
for layer in reduced.layers:
    macs = layer.cost.macs if layer.cost is not None else 0
    print(f"{layer.branch:>4}  {layer.label:<32} {macs:>13,}")
print(f"total {reduced.macs:,} multiply-adds: {naive.macs / reduced.macs:.2f}× fewer than the naive module")
assert reduced.macs == 214_753_280
assert naive.macs / reduced.macs > 3.9

# %% [markdown]
# The module as GoogLeNet builds it, drawn from the model (`cnnzoo draw googlenet --module inception3a`): four
# branches, the 1×1 reductions in front of the 3×3 and 5×5 convolutions, concatenated along the channels.

# %%
from cnnzoo.visual.draw import diagram, to_dot

drawn = diagram("googlenet", module="inception3a")
assert drawn.count("concat") == 1 and drawn.count("conv") == 6
to_dot(drawn)
