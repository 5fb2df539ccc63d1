"""A resolved config stores absolute paths, so a run read back from another directory names the same folders."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from cnnzoo.training.config import TrainConfig


def test_path_fields_are_resolved_to_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = {"model": "resnet20", "data": "imagefolder", "data_dir": "images", "cache_dir": "~/cache",
              "run_dir": "runs/one", "runs_root": "elsewhere"}  # fmt: skip
    cfg = TrainConfig.from_dict(values)
    assert cfg.data.data_dir == str(tmp_path / "images") and cfg.run_dir == str(tmp_path / "runs" / "one")
    assert cfg.runs_root == str(tmp_path / "elsewhere")
    assert cfg.data.cache_dir == os.path.join(os.path.expanduser("~"), "cache")
    # Read back from another directory (as evaluate does with config.yaml), the paths do not move.
    stored = yaml.safe_dump(cfg.to_dict())
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    again = TrainConfig.from_dict(yaml.safe_load(stored))
    assert Path(again.data.data_dir) == tmp_path / "images" and again.to_dict() == cfg.to_dict()
    assert TrainConfig.from_dict({"model": "resnet20", "data": "digits"}).data.data_dir is None
