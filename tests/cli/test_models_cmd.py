"""`cnnzoo models`: the table of models, filtered by a pattern; one model's options when given its name."""

from __future__ import annotations

import json

from cnnzoo.cli import main
from cnnzoo.models import model_options


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_name_lists_the_models_options_with_its_own_defaults(capsys):
    code, out, _ = _run(["models", "resnet20", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["model"] == "resnet20" and data["params"] == 269_722
    options = {o["option"]: o for o in data["options"]}
    assert tuple(options) == model_options("resnet20")
    assert options["small_input"]["default"] is True and options["shortcut"]["default"] == "A"  # not ResNet's
    assert options["shortcut"]["accepts"] == "one of 'A', 'B', 'C', 'none'"
    assert all(o["description"] for o in options.values())


def test_a_name_in_markdown_shows_both_tables(capsys):
    code, out, _ = _run(["models", "googlenet", "--format", "markdown"], capsys)
    assert code == 0 and "| googlenet | googlenet | 3x224x224 |" in out
    assert "**options of googlenet (-o KEY=VALUE)**" in out
    assert "| dropout | a number in [0, 1] | auto |" in out and "| aux_logits | true or false | true |" in out


def test_a_pattern_still_filters_the_table_without_options(capsys):
    code, out, _ = _run(["models", "resnet2*", "--format", "csv"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("model,family")
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["resnet20"]
    assert "option" not in out
