"""`cnnzoo reproduce degradation`: plain nets against ResNets of the same depth (He et al. 2016, fig. 6).

The paper's claim: a deeper plain net has a higher training error, and so a higher test error, than a
shallower one (plain-56 against plain-20: the degradation problem, not overfitting), while with identity
shortcuts the deeper net is the better one (ResNet-56 against ResNet-20). Fig. 6 draws training error as thin
lines and test error as bold lines per epoch; here the bold lines are the held-out validation split's error
(the test set is evaluated once, at the end, as the paper's table is).
"""

from __future__ import annotations

from pathlib import Path

from cnnzoo.experiments.reproduce import common

TRAINS = True
OPTIONS = ("depths",)
DEPTHS = (20, 32, 44, 56)  # fig. 6's plain nets; the shallowest and deepest asked for are compared
DEFAULT_DEPTHS = (20, 56)
FIGURE = "degradation.png"


def measure(
    budget: str = "quick",
    device: str = "cpu",
    *,
    plan: common.Plan | None = None,
    depths: list[int] | tuple[int, ...] = DEFAULT_DEPTHS,
) -> dict:
    """Train (or reuse) plain-N and ResNet-N for every depth and seed; the errors, curves and verdicts."""
    depths = common.check_depths(depths, DEPTHS)
    plan = plan or common.Plan()
    extra = {"device": device, **plan.extra}
    entries = {}
    for depth in depths:
        for family in ("plain", "resnet"):
            values = common.resnet_values(f"{family}{depth}", budget, extra)
            entries[f"{family}{depth}"] = plan.entry(values)
    shallow, deep = depths[0], depths[-1]
    claims = []
    if deep != shallow:
        plain_s, plain_d, res_s, res_d = (entries[f"{f}{d}"] for f in ("plain", "resnet") for d in (shallow, deep))
        claims = [
            (f"plain-{deep} has a higher training error than plain-{shallow} (degradation)",
             common.verdict(plain_s, plain_d, "train_error")),
            (f"plain-{deep} has a higher test error than plain-{shallow}", common.verdict(plain_s, plain_d)),
            (f"ResNet-{deep} has a lower test error than ResNet-{shallow}", common.verdict(res_d, res_s)),
            (f"ResNet-{deep} has a lower training error than plain-{deep}",
             common.verdict(res_d, plain_d, "train_error")),
        ]  # fmt: skip
    return {"budget": budget, "budget_values": common.budget_values(budget, common.paper_recipe()),
            "depths": depths, "entries": entries, "claims": claims}  # fmt: skip


def report(results: dict) -> str:
    """The final errors beside Table 6, the claims with their verdicts, and how to read the figure."""
    rows = []
    for name, entry in results["entries"].items():
        depth = int(name.removeprefix("plain").removeprefix("resnet"))
        paper = common.RESNET_TABLE6.get(depth) if name.startswith("resnet") else None
        rows.append(
            (
                name,
                common.percent(entry, "train_error"),
                common.percent(entry),
                paper if paper is not None else "fig. 6 only (no table)",
            )
        )
    parts = [
        "## Final errors",
        "",
        common.markdown_table(
            ("network", "final training error (%)", "measured test error (%)", "paper test error (%)"), rows
        ),
        "",
        "Measured: mean ± std over the seeds. Paper: He et al. 2016, Table 6 for the ResNets; the plain nets appear "
        "only in fig. 6 (plain-56 above plain-20 in both training and test error).",
        "",
        *common.claims_section(
            results["claims"],
            f"`{FIGURE}`: thin lines training error, bold lines validation error, per epoch "
            "(mean over seeds); left plain nets, right ResNets, as fig. 6.",
            alone="One depth only: nothing to compare (give --depths 20 56).",
        ),
    ]
    return "\n".join(parts)


def figures(results: dict, out_dir: Path) -> list[Path]:
    """Fig. 6: per epoch, training error (thin) and validation error (bold) of the plain nets and the ResNets."""
    fig, axes = common.new_figure(ncols=2)
    for ax, family, title in zip(axes, ("plain", "resnet"), ("plain networks", "ResNets")):
        for i, depth in enumerate(results["depths"]):
            curves = results["entries"][f"{family}{depth}"]["curves"]
            color = f"C{i}"
            label = f"{'plain' if family == 'plain' else 'ResNet'}-{depth}"
            for key, width, marker, suffix in (("train_error", 0.8, "o", " train"), ("val_error", 2.5, "s", " val")):
                points = [(e, 100 * v) for e, v in zip(curves["epoch"], curves[key]) if v is not None]
                ax.plot(
                    [e for e, _ in points],
                    [v for _, v in points],
                    "-" + (marker if len(points) == 1 else ""),
                    color=color,
                    linewidth=width,
                    markersize=2 * width + 3,
                    label=label + suffix,
                )
        ax.set(xlabel="epoch", ylabel="error (%)", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return [common.save_figure(fig, Path(out_dir) / FIGURE)]
