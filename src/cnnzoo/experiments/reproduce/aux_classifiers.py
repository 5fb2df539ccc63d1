"""`cnnzoo reproduce aux-classifiers`: GoogLeNet with and without its auxiliary classifiers (Szegedy et al. 2015).

The paper adds two auxiliary classifiers (on 4a and 4d) whose losses count with a discount weight of 0.3
(section 5), to help the gradient reach the lower layers; it gives no CIFAR number and no ablation table, so
the measured errors stand alone and the claim judged is the one the paper makes: training with the auxiliary
classifiers gives a lower test error than without. GoogLeNet here is the small-image stem (small_input) with
its recipe, recipes/googlenet_cifar.yaml; `aux_weight` sets the auxiliary losses' weight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnzoo.experiments.reproduce import common

TRAINS = True
OPTIONS = ("aux_weight",)
PAPER_AUX_WEIGHT = 0.3
FIGURE = "aux_classifiers.png"


def googlenet_values(budget: str, aux_logits: bool, aux_weight: float, extra: dict[str, Any]) -> dict[str, Any]:
    """GoogLeNet's recipe with the small-image stem, its heads on or off, < the budget < `extra`."""
    from cnnzoo.experiments.runs import model_recipe

    recipe = model_recipe("googlenet")
    options = {**(recipe.get("model_options") or {}), "small_input": True, "aux_logits": aux_logits}
    values = {**recipe, "model": "googlenet", "model_options": options, "aux_weight": aux_weight}
    values.update(common.budget_values(budget, recipe))
    values.update({"tensorboard": False, "plots": False, **extra})
    return values


def measure(
    budget: str = "quick",
    device: str = "cpu",
    *,
    plan: common.Plan | None = None,
    aux_weight: float = PAPER_AUX_WEIGHT,
) -> dict:
    """Train (or reuse) GoogLeNet with the auxiliary heads (losses × `aux_weight`) and without; the verdict."""
    from cnnzoo.errors import CnnzooError
    from cnnzoo.experiments.runs import model_recipe

    if not 0.0 < aux_weight <= 10.0:
        raise CnnzooError(f"--aux-weight must be above 0 and at most 10 (the paper's is 0.3), got {aux_weight}")
    plan = plan or common.Plan()
    extra = {"device": device, **plan.extra}
    entries = {}
    for name, aux_logits in (("with auxiliary classifiers", True), ("without", False)):
        values = googlenet_values(budget, aux_logits, aux_weight if aux_logits else PAPER_AUX_WEIGHT, extra)
        entries[name] = plan.entry(values)
    with_aux, without = entries.values()
    claims = [
        (
            f"training with the auxiliary classifiers (weight {aux_weight:g}) lowers the test error",
            common.verdict(with_aux, without),
        )
    ]
    return {"budget": budget, "budget_values": common.budget_values(budget, model_recipe("googlenet")),
            "aux_weight": aux_weight, "entries": entries, "claims": claims}  # fmt: skip


def report(results: dict) -> str:
    """The two settings' errors and the claim's verdict."""
    rows = [
        (
            name,
            results["aux_weight"] if name.startswith("with ") else "-",
            common.percent(entry, "train_error"),
            common.percent(entry),
            "no CIFAR number",
        )
        for name, entry in results["entries"].items()
    ]
    parts = [
        "## GoogLeNet (small-image stem) with and without auxiliary classifiers",
        "",
        common.markdown_table(
            ("setting", "aux loss weight", "final training error (%)", "measured test error (%)", "paper"), rows
        ),
        "",
        "Paper: Szegedy et al. 2015, section 5: auxiliary losses weighted by 0.3, discarded at inference; it reports "
        "no ablation and no CIFAR-10 number. Measured: mean ± std over the seeds (the training error of the main "
        "head only).",
        "",
        *common.claims_section(
            results["claims"], f"`{FIGURE}`: measured test error of the two settings (error bars: std over seeds)."
        ),
    ]
    return "\n".join(parts)


def figures(results: dict, out_dir: Path) -> list[Path]:
    """Bars of the measured test error with and without the auxiliary classifiers."""
    entries = [(name, entry, None) for name, entry in results["entries"].items()]
    return [common.bar_figure(Path(out_dir) / FIGURE, entries, title="GoogLeNet: auxiliary classifiers")]
