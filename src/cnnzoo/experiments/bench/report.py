"""What every bench mode writes: `<out>/<mode>_<device>.json` and `.md`, with the machine, versions, date and command.

A result record is plain data:

    {"mode", "title", "smoke", "command", "date", "environment": {...}, "setting": {...},
     "columns": [[key, header], ...], "rows": [{key: value}, ...], "skipped": [{"what", "reason"}], "notes": [...]}

The Markdown file is rendered from the record alone, so the README's Speed section (tools/readme_tables.py)
can be regenerated from the committed JSON without measuring anything.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from cnnzoo.device import resolve_device
from cnnzoo.inspect.render import render_table

# Versions and hardware kept from the run log's environment: enough to reproduce, nothing private (no host).
ENVIRONMENT_KEYS = (
    "cnnzoo", "torch", "torchvision", "python", "cuda", "cudnn", "device", "device_name", "cpu", "cpu_count",
    "torch_threads", "git_commit",
)  # fmt: skip


def device_slug(device: torch.device) -> str:
    """'cpu' or 'cuda': the device part of a result file's name."""
    return device.type


def environment_record(device: torch.device, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Versions and hardware of this run; `optional` packages (timm, airbench) are recorded when importable."""
    from importlib import metadata

    from cnnzoo.training.runlog import environment

    env = environment(device)
    record = {key: env.get(key) for key in ENVIRONMENT_KEYS}
    record["load_before"] = _load_average()
    for package in optional:
        try:
            record[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            record[package] = None
    return record


def _load_average() -> float | None:
    """The 1-minute load average: above the CPU count, other jobs shared the machine while it was measured."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def new_record(
    mode: str,
    title: str,
    device: torch.device,
    *,
    smoke: bool,
    command: str,
    setting: dict,
    columns: list[tuple[str, str]],
    optional: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An empty record for `mode`: metadata filled in, rows, skipped and notes to be appended by the mode."""
    return {
        "mode": mode,
        "title": title,
        "smoke": smoke,
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "environment": environment_record(device, optional),
        "setting": setting,
        "columns": [list(c) for c in columns],
        "rows": [],
        "skipped": [],
        "notes": [],
    }


def start(
    mode: str,
    title: str,
    setting: Any,
    *,
    smoke: bool,
    command: str,
    columns: list[tuple[str, str]],
    out_dir: str | Path,
    gpu_setting: bool = False,
    optional: tuple[str, ...] = (),
) -> tuple[Any, torch.device, dict[str, Any]]:
    """A mode's start: its setting with the device resolved (auto → cuda, mps or cpu), that device, its empty record.

    `out_dir` is checked first: a folder that cannot take the result files fails now, not after the measuring.
    A `gpu_setting` (the sizes a GPU benchmark runs at) on a CPU is warned about before it starts.
    """
    from cnnzoo.io import check_output_folder

    check_output_folder(out_dir)
    device = resolve_device(setting.device)
    if gpu_setting and device.type == "cpu":
        warnings.warn(
            f"`cnnzoo bench {mode}` runs its GPU setting on the CPU: sized for a GPU, it may take hours "
            "here; add --smoke for the CPU smoke setting",
            stacklevel=3,
        )
    setting = replace(setting, device=str(device))
    record = new_record(
        mode,
        title,
        device,
        smoke=smoke,
        command=command,
        setting=setting.describe(),
        columns=columns,
        optional=optional,
    )
    return setting, device, record


def format_value(key: str, value: Any) -> str:
    """One cell: rates with thousands separators, ratios as ×, fractions (accuracy, MFU) as percent."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if key.endswith("_ratio"):
        return f"{value:.2f}×"
    if "top1" in key or key.endswith("mfu"):
        return f"{100 * value:.2f}%"
    if key.endswith(("images_per_s", "params")) or isinstance(value, int):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{value:.3g}"


def table(record: dict[str, Any]) -> str:
    """The record's rows as a Markdown table."""
    keys = [key for key, _ in record["columns"]]
    headers = [header for _, header in record["columns"]]
    rows = [tuple(format_value(key, row.get(key)) for key in keys) for row in record["rows"]]
    return render_table(headers, rows, "markdown")


def markdown(record: dict[str, Any]) -> str:
    """The whole report: title, how it was measured, the table, skipped rows with reasons, notes."""
    env = record["environment"]
    device = env["device_name"] if env.get("device", "cpu").startswith("cuda") else f"CPU: {env['cpu']}"
    versions = ", ".join(
        f"{k} {env[k]}"
        for k in ("python", "torch", "torchvision", "cuda", "timm", "airbench")
        if k in env and env[k] is not None
    )
    setting = ", ".join(f"{k}={v}" for k, v in record["setting"].items())
    lines = [
        f"# {record['title']}" + (" — CPU smoke setting" if record["smoke"] else ""),
        "",
        f"- Date: {record['date']}",
        f"- Device: {device} ({env.get('cpu_count')} logical CPUs, torch threads {env.get('torch_threads')}; "
        f"load average {env.get('load_before')} before, {env.get('load_after')} after: above the CPU count, "
        "other jobs shared the machine)",
        f"- Versions: cnnzoo {env['cnnzoo']} (commit {env.get('git_commit') or 'unknown'}), {versions}",
        f"- Command: `{record['command']}`",
        f"- Setting: {setting}",
        "",
        table(record),
    ]
    if record["skipped"]:
        lines += ["", "Not measured:", ""]
        lines += [f"- {item['what']}: {item['reason']}" for item in record["skipped"]]
    if record["notes"]:
        lines += [""] + [f"- {note}" for note in record["notes"]]
    return "\n".join(lines) + "\n"


def write(record: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write `<mode>_<device>.json` and `.md` under `out_dir`; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    record["environment"]["load_after"] = _load_average()
    stem = f"{record['mode'].replace('-', '_')}_{record['environment']['device'].split(':')[0]}"
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    md_path.write_text(markdown(record))
    return json_path, md_path


def finite_positive(value: Any) -> bool:
    """True for a real, positive, finite number: what every measured figure must be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


# ==================================================================== the README's Speed section
# The commands that measure each mode on a GPU (its default setting); the README shows them where no GPU
# result is committed yet.
GPU_COMMANDS = {
    "throughput": "cnnzoo bench throughput --device cuda",
    "time-to-accuracy": "cnnzoo bench time-to-accuracy --device cuda --data-dir ../shared/datasets/cifar10-jpeg",
    "mfu": "cnnzoo bench mfu --device cuda",
}


def headline(record: dict[str, Any]) -> str:
    """One line of a record's main figures, for the README's summary table."""
    rows = record["rows"]
    if record["mode"] == "throughput" and any("setting" in r for r in rows):
        return _grid_headline(rows)
    if record["mode"] == "throughput":
        engine = [r for r in rows if r["system"] == "cnnzoo engine" and "train_ratio" in r]
        return "engine training × plain loop: " + ", ".join(
            f"{r['model']} @{r['input'].split('x')[-1]} {format_value('train_ratio', r['train_ratio'])}" for r in engine
        )
    if record["mode"] == "time-to-accuracy":
        parts = []
        for r in rows:
            name = "airbench94" if r["system"] == "airbench94" else Path(r["recipe"]).stem
            ratio = (
                f" ({format_value('seconds_ratio', r['seconds_ratio'])} airbench94's time)"
                if (r["system"] != "airbench94" and r.get("seconds_ratio"))
                else ""
            )
            parts.append(f"{name} {format_value('top1', r['top1_mean'])} in {r['seconds_mean']:.3g} s{ratio}")
        return "; ".join(parts)
    return "; ".join(
        f"{r['system']} {format_value('train_images_per_s', r['train_images_per_s'])} images/s, "
        f"MFU {format_value('mfu', r['mfu'])}"
        for r in rows
    )


def _grid_headline(rows: list[dict[str, Any]]) -> str:
    """Per model: the fastest setting's plain-loop rate and its gain over fp32, and the engine's ratio there."""
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        plain = [r for r in rows if r["model"] == model and r["system"] == "plain loop"]
        best = max(plain, key=lambda r: r["train_images_per_s"])
        engine = next(
            (
                r
                for r in rows
                if r["model"] == model and r["system"] == "cnnzoo engine" and r["setting"] == best["setting"]
            ),
            None,
        )
        text = (
            f"{model}: {best['setting']} {format_value('train_images_per_s', best['train_images_per_s'])} "
            f"images/s ({format_value('fp32_ratio', best.get('fp32_ratio'))} fp32)"
        )
        if engine is not None:
            text += f", engine {format_value('train_ratio', engine.get('train_ratio'))} plain loop"
        parts.append(text)
    return "; ".join(parts)


def speed_section(results_dir: str | Path) -> str:
    """The README's Speed table: each mode's committed results (GPU, CPU smoke), GPU rows 'not measured'."""
    results_dir = Path(results_dir)
    rows = []
    for mode, gpu_command in GPU_COMMANDS.items():
        for device in ("cuda", "cpu"):
            path = results_dir / f"{mode.replace('-', '_')}_{device}.json"
            if path.is_file():
                record = json.loads(path.read_text())
                env = record["environment"]
                where = env["device_name"] if device == "cuda" else f"CPU ({env['cpu']}, {env['cpu_count']} cores)"
                where += ", smoke setting" if record["smoke"] else ""
                rows.append((mode, where, headline(record), f"`{record['command']}`", record["date"][:10]))
            elif device == "cuda":
                rows.append((mode, "GPU", "not measured", f"`{gpu_command}`", ""))
    return render_table(("mode", "measured on", "result", "command", "date"), rows, "markdown")
