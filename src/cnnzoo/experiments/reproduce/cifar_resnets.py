"""`cnnzoo reproduce cifar-resnets`: CIFAR ResNets of depth 20-110 against Table 6 of He et al. 2016.

The paper's claims: a ResNet's test error falls with depth (8.75 / 7.51 / 7.17 / 6.97 / 6.43 % for 20 / 32 /
44 / 56 / 110 layers), while plain nets of the same depths get worse. The paper reports ResNet-110 as the best
of 5 runs (mean 6.61 ± 0.16); the others as single numbers. The runs are those of `degradation` where they
coincide (same config, same run directory).
"""

from __future__ import annotations

from pathlib import Path

from cnnzoo.experiments.reproduce import common

TRAINS = True
OPTIONS = ("depths",)
DEPTHS = (20, 32, 44, 56, 110)
PLAIN_DEPTHS = (20, 32, 44, 56)  # fig. 6's plain nets
FIGURE = "test_error_vs_depth.png"


def measure(
    budget: str = "quick",
    device: str = "cpu",
    *,
    plan: common.Plan | None = None,
    depths: list[int] | tuple[int, ...] = DEPTHS,
) -> dict:
    """Train (or reuse) ResNet-N for every depth and plain-N where fig. 6 has it; errors and verdicts."""
    depths = common.check_depths(depths, DEPTHS)
    plan = plan or common.Plan()
    extra = {"device": device, **plan.extra}
    entries = {}
    for depth in depths:
        families = ("resnet", "plain") if depth in PLAIN_DEPTHS else ("resnet",)
        for family in families:
            values = common.resnet_values(f"{family}{depth}", budget, extra)
            entries[f"{family}{depth}"] = plan.entry(values)
    claims = []
    for shallow, deep in zip(depths, depths[1:]):
        claims.append(
            (
                f"ResNet-{deep} has a lower test error than ResNet-{shallow}",
                common.verdict(entries[f"resnet{deep}"], entries[f"resnet{shallow}"]),
            )
        )
    plain = [d for d in depths if d in PLAIN_DEPTHS]
    if len(plain) > 1:
        claims.append(
            (
                f"plain-{plain[-1]} has a higher test error than plain-{plain[0]}",
                common.verdict(entries[f"plain{plain[0]}"], entries[f"plain{plain[-1]}"]),
            )
        )
    return {"budget": budget, "budget_values": common.budget_values(budget, common.paper_recipe()),
            "depths": depths, "entries": entries, "claims": claims}  # fmt: skip


def report(results: dict) -> str:
    """Table 6 beside the measured errors (mean ± std, best, median), the claims and their verdicts."""
    rows = []
    for depth in results["depths"]:
        entry = results["entries"][f"resnet{depth}"]
        plain = results["entries"].get(f"plain{depth}")
        statistic = "best of 5 (mean 6.61 ± 0.16)" if depth == 110 else "one number"
        rows.append(
            (
                depth,
                common.RESNET_TABLE6[depth],
                statistic,
                common.percent(entry),
                f"{100 * entry['best']:.2f}",
                common.percent(plain) if plain else "-",
            )
        )
    parts = [
        "## Test error by depth",
        "",
        common.markdown_table(
            (
                "depth",
                "paper ResNet (%)",
                "paper's statistic",
                "measured ResNet (%)",
                "measured ResNet, best of seeds (%)",
                "measured plain (%)",
            ),
            rows,
        ),
        "",
        "Paper: He et al. 2016, Table 6 (CIFAR-10 test error). Measured: mean ± std over the seeds, and the best "
        "seed as the paper's statistic for ResNet-110. The paper gives no table for the plain nets (fig. 6 only).",
        "",
        *common.claims_section(
            results["claims"],
            f"`{FIGURE}`: test error against depth, ResNets and plain nets measured (error bars: "
            "std over seeds), Table 6 as diamonds.",
            alone="One depth only: nothing to compare.",
        ),
    ]
    return "\n".join(parts)


def figures(results: dict, out_dir: Path) -> list[Path]:
    """Test error against depth: measured ResNets and plain nets with error bars, Table 6 as markers."""
    fig, (ax,) = common.new_figure()
    for family, label, color in (("resnet", "ResNet (measured)", "C0"), ("plain", "plain (measured)", "C1")):
        points = [
            (d, results["entries"][f"{family}{d}"]) for d in results["depths"] if f"{family}{d}" in results["entries"]
        ]
        if points:
            ax.errorbar(
                [d for d, _ in points],
                [100 * e["mean"] for _, e in points],
                yerr=[100 * e["std"] for _, e in points],
                fmt="-o",
                capsize=3,
                color=color,
                label=label,
            )
    ax.plot(
        results["depths"],
        [common.RESNET_TABLE6[d] for d in results["depths"]],
        "D--",
        color="C3",
        label="ResNet (paper, Table 6)",
    )
    ax.set(xlabel="depth (layers)", ylabel="test error (%)", title="CIFAR-10 test error against depth")
    ax.set_xticks(results["depths"])
    ax.grid(alpha=0.3)
    ax.legend()
    return [common.save_figure(fig, Path(out_dir) / FIGURE)]
