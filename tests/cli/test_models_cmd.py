"""`cnnzoo models`: the table of models, filtered by a pattern; one model's options when given its name."""

from __future__ import annotations

import json

from cnnzoo.models import model_options


def test_a_name_lists_the_models_options_with_its_own_defaults(cli):
    code, out, _ = cli(["models", "resnet20", "--format", "json"])
    data = json.loads(out)
    assert code == 0 and data["model"] == "resnet20" and data["params"] == 269_722
    options = {o["option"]: o for o in data["options"]}
    assert tuple(options) == model_options("resnet20")
    assert options["small_input"]["default"] is True and options["shortcut"]["default"] == "A"  # not ResNet's
    assert options["shortcut"]["accepts"] == "one of 'A', 'B', 'C', 'none'"
    assert all(o["description"] for o in options.values())


def test_a_name_in_markdown_shows_both_tables(cli):
    code, out, _ = cli(["models", "googlenet", "--format", "markdown"])
    assert code == 0 and "| googlenet | googlenet | 3x224x224 |" in out
    assert "**options of googlenet (-o KEY=VALUE)**" in out
    assert "| dropout | a number in [0, 1] | auto |" in out and "| aux_logits | true or false | true |" in out


def test_a_pattern_still_filters_the_table_without_options(cli):
    code, out, _ = cli(["models", "resnet2*", "--format", "csv"])
    assert code == 0 and out.splitlines()[0].startswith("model,family")
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["resnet20"]
    assert "option" not in out


def test_no_match_is_an_error_suggesting_names(cli):
    for pattern in ("zzz*", "resnt20"):
        code, out, err = cli(["models", pattern])
        assert code == 2 and out == "" and err.count("\n") == 1
        assert err.startswith(f"cnnzoo: error: unknown model name or pattern {pattern!r}.") and "resnet20" in err
    assert "Did you mean 'resnet20'" in cli(["models", "resnt20"])[2]


def test_names_and_patterns_match_case_insensitively_where_nothing_matches_as_given(cli):
    code, out, _ = cli(["models", "RESNET20", "--format", "json"])
    assert code == 0 and json.loads(out)["model"] == "resnet20" and json.loads(out)["options"]
    code, out, _ = cli(["models", "ResNet2*", "--format", "csv"])
    assert code == 0 and [line.split(",")[0] for line in out.splitlines()[1:]] == ["resnet20"]
