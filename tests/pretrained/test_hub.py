"""hf-hub:ORG/REPO ids, offline against a hub cache laid out here as huggingface_hub lays it out; `cnnzoo push`
against a stand-in for huggingface_hub that records the calls (no network here)."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import cnnzoo
from cnnzoo.errors import CnnzooError
from cnnzoo.pretrained import save_pretrained

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def folder(digits_run, tmp_path_factory) -> Path:
    return save_pretrained(digits_run, tmp_path_factory.mktemp("hub") / "digits-resnet20")


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty hub cache, offline: nothing may come from the network."""
    pytest.importorskip("huggingface_hub")
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "hub"


def cache_repo(cache: Path, repo: str, files: Path) -> None:
    """The repository as downloaded at COMMIT: models--ORG--NAME/refs/main and snapshots/COMMIT/<files>."""
    root = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(files, root / "snapshots" / COMMIT)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)


def test_hub_id_loads_the_folder_from_the_cache_offline(folder, offline_cache):
    cache_repo(offline_cache, "someone/digits-resnet20", folder)
    images = list(np.random.default_rng(1).integers(0, 256, size=(4, 8, 8), dtype=np.uint8))
    from_hub = cnnzoo.load("hf-hub:someone/digits-resnet20")
    np.testing.assert_array_equal(from_hub.predict(images, probs=True), cnnzoo.load(folder).predict(images, probs=True))
    assert from_hub.path.parent.name == COMMIT
    assert cnnzoo.load(f"hf-hub:someone/digits-resnet20@{COMMIT}").classes == from_hub.classes


def test_hub_errors_are_one_line(offline_cache):
    with pytest.raises(CnnzooError) as excinfo:
        cnnzoo.load("hf-hub:someone/not-cached")
    assert str(excinfo.value).startswith("cannot fetch hf-hub:someone/not-cached") and "\n" not in str(excinfo.value)
    with pytest.raises(CnnzooError, match="not a hub id; write hf-hub:ORG/REPO"):
        cnnzoo.load("hf-hub:no-org")


def test_timm_repository_ids_are_imported_not_loaded(folder, offline_cache, tmp_path):
    timm_like = tmp_path / "timm_like"
    timm_like.mkdir()
    (timm_like / "config.json").write_text('{"architecture": "resnet18"}')
    shutil.copy(folder / "model.safetensors", timm_like / "model.safetensors")
    cache_repo(offline_cache, "timm/resnet18.fake", timm_like)
    with pytest.raises(CnnzooError, match="cnnzoo import timm hf-hub:timm/resnet18.fake"):
        cnnzoo.load("hf-hub:timm/resnet18.fake")


class _RecordingApi:
    calls: list[tuple[str, dict]] = []

    def create_repo(self, repo_id: str, **kwargs) -> str:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs) -> None:
        self.calls.append(("upload_folder", kwargs))


def test_push_creates_the_repository_and_uploads_the_folder(folder, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(HfApi=_RecordingApi))
    _RecordingApi.calls.clear()
    code, out, _ = cli(["push", str(folder), "someone/digits-resnet20", "--private"])
    assert code == 0 and "https://huggingface.co/someone/digits-resnet20" in out
    (create, created), (upload, uploaded) = _RecordingApi.calls
    assert (create, created) == (
        "create_repo",
        {"repo_id": "someone/digits-resnet20", "private": True, "exist_ok": True},
    )
    assert upload == "upload_folder" and uploaded["folder_path"] == str(folder)
    assert uploaded["repo_id"] == "someone/digits-resnet20"
    assert set(uploaded["allow_patterns"]) == {"config.json", "model.safetensors", "README.md"}


def test_push_refuses_a_run_directory_and_names_the_missing_extra(digits_run, folder, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(HfApi=_RecordingApi))
    code, _, err = cli(["push", str(digits_run), "someone/x"])
    assert code == 2 and "holds no cnnzoo config.json" in err and err.count("\n") == 1
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # not installed
    code, _, err = cli(["push", str(folder), "someone/x"])
    assert code == 2 and "pip install 'cnnzoo[hub]'" in err and err.count("\n") == 1
