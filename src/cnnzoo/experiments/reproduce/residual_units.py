"""`cnnzoo reproduce residual-units`: where BN and ReLU sit in a residual unit (He et al. 2016b, fig. 4, Table 2).

Variants (a)-(e) of fig. 4 on a CIFAR ResNet (ResNet-110 as the paper; `depth` picks a smaller one, e.g. 56
or 20, for a smaller budget). The paper reports the median of 5 runs: 6.61 / 8.17 / 7.84 / 6.71 / 6.37 % for
(a)-(e). Its claims: full pre-activation (e) is the best and BN after addition (b) the worst. Variant (a) is
the model's default, so its runs are `cifar-resnets`' runs of the same depth.
"""

from __future__ import annotations

from pathlib import Path

from cnnzoo.experiments.reproduce import common

TRAINS = True
OPTIONS = ("depth",)
DEPTHS = (20, 32, 44, 56, 110)
# fig. 4's panels, in order: option value -> (panel, what it is)
VARIANTS = {
    "original": ("a", "original: BN after each conv, ReLU after addition"),
    "bn_after_add": ("b", "BN after addition"),
    "relu_before_add": ("c", "ReLU before addition"),
    "relu_only_preact": ("d", "ReLU-only pre-activation"),
    "preact": ("e", "full pre-activation"),
}
FIGURE = "residual_units.png"


def measure(
    budget: str = "quick",
    device: str = "cpu",
    *,
    plan: common.Plan | None = None,
    depth: int = 110,
) -> dict:
    """Train (or reuse) ResNet-`depth` with each residual unit (a)-(e); the errors and the verdicts."""
    (depth,) = common.check_depths([depth], DEPTHS, "--depth")
    plan = plan or common.Plan()
    extra = {"device": device, **plan.extra}
    entries = {}
    for unit in VARIANTS:
        options = {} if unit == "original" else {"residual_unit": unit}  # (a) is the default: share its runs
        values = common.resnet_values(f"resnet{depth}", budget, extra, options)
        entries[unit] = plan.entry(values)
    others = [u for u in VARIANTS if u != "preact"]
    claims = [
        ("(e) full pre-activation has the lowest test error",
         common.verdict_all([common.verdict(entries["preact"], entries[u]) for u in others])),
        ("(b) BN after addition has the highest test error",
         common.verdict_all([common.verdict(entries[u], entries["bn_after_add"]) for u in VARIANTS
                             if u != "bn_after_add"])),
    ]  # fmt: skip
    return {"budget": budget, "budget_values": common.budget_values(budget, common.paper_recipe()),
            "depth": depth, "entries": entries, "claims": claims}  # fmt: skip


def report(results: dict) -> str:
    """Table 2 beside the measured errors (mean ± std and the median, the paper's statistic), and the claims."""
    depth = results["depth"]
    rows = []
    for unit, entry in results["entries"].items():
        panel, what = VARIANTS[unit]
        rows.append(
            (f"({panel})", what, common.UNITS_TABLE2[unit], common.percent(entry), f"{100 * entry['median']:.2f}")
        )
    note = "" if depth == 110 else f" The paper's numbers are for ResNet-110; measured here on ResNet-{depth}."
    parts = [
        f"## Test error of the residual units, ResNet-{depth}",
        "",
        common.markdown_table(
            ("unit", "fig. 4", "paper, ResNet-110, median of 5 (%)", "measured (%)", "measured, median of seeds (%)"),
            rows,
        ),
        "",
        "Paper: He et al. 2016b (Identity Mappings), Table 2, CIFAR-10 test error. Measured: mean ± std over the "
        "seeds, and their median as the paper's statistic." + note,
        "",
        *common.claims_section(
            results["claims"],
            f"`{FIGURE}`: measured test error per unit (error bars: std over seeds) and Table 2 as diamonds.",
        ),
    ]
    return "\n".join(parts)


def figures(results: dict, out_dir: Path) -> list[Path]:
    """Bars of the measured test error per unit, Table 2's numbers as markers."""
    entries = [(f"({VARIANTS[u][0]})", e, common.UNITS_TABLE2[u]) for u, e in results["entries"].items()]
    title = f"residual units (a)-(e), ResNet-{results['depth']} (paper: ResNet-110)"
    return [common.bar_figure(Path(out_dir) / FIGURE, entries, title=title)]
