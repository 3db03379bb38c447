"""Model directories are verified before anything is read: tampering is refused with ModelError."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import _model_data as md
from mechcode.codebook import parse_codebook
from mechcode.errors import ModelError
from mechcode.models.base import LabelledUnit
from mechcode.models.io import load_skops, save_skops, write_card
from mechcode.models.train import load_model, train_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("safety") / "model"
    units = [LabelledUnit.from_dict(u) for u in md.units()]
    train_model(units, parse_codebook(md.CODEBOOK), "sparse", d, holdout=False)
    return d


@pytest.fixture()
def model_dir(trained, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(trained, d)
    return d


def _recard(d):
    """Re-hash the directory as an attacker who also edits the card would."""
    card = json.loads((d / "model.json").read_text())
    card.pop("files")
    write_card(d, card)


def test_intact_model_loads(model_dir):
    model, card = load_model(model_dir)
    assert card["backend"] == "sparse" and model.mechanisms


def test_one_changed_byte(model_dir):
    path = model_dir / "sparse.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sparse.npz does not match its hash"):
        load_model(model_dir)


def test_extra_unlisted_file(model_dir):
    (model_dir / "extra.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="not listed in the card: extra.pkl"):
        load_model(model_dir)


def test_extra_file_in_subfolder(model_dir):
    (model_dir / "sub").mkdir()
    (model_dir / "sub" / "x.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="sub/x.bin"):
        load_model(model_dir)


def test_missing_file_and_card(model_dir):
    (model_dir / "sparse.json").unlink()
    with pytest.raises(ModelError, match="sparse.json listed in the card is missing"):
        load_model(model_dir)
    (model_dir / "model.json").unlink()
    with pytest.raises(ModelError, match="no model.json"):
        load_model(model_dir)


def test_card_pointing_outside(model_dir):
    card = json.loads((model_dir / "model.json").read_text())
    card["files"]["../../etc/passwd"] = "0" * 64
    (model_dir / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="outside the model directory"):
        load_model(model_dir)


def test_pickled_arrays_refused_even_with_valid_hashes(model_dir):
    """An npz holding an object (pickled) array is refused even when the card was re-hashed."""
    with open(model_dir / "sparse.npz", "wb") as fh:
        np.savez(fh, x=np.array([{"evil": 1}], dtype=object))
    _recard(model_dir)
    with pytest.raises(ModelError, match="unreadable array file"):
        load_model(model_dir)


def test_wrong_backend_version(model_dir):
    card = json.loads((model_dir / "model.json").read_text())
    card["backend_version"] = "999"
    (model_dir / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="backend version 999"):
        load_model(model_dir)


class Gadget:
    """Stands for any type a model file should not be able to make us construct."""

    def __init__(self):
        self.command = "rm -rf /"


def test_skops_untrusted_type_refused(tmp_path):
    from sklearn.linear_model import LogisticRegression

    ok = tmp_path / "ok.skops"
    save_skops({"lr": LogisticRegression(C=2.0)}, ok)
    assert load_skops(ok)["lr"].C == 2.0
    bad = tmp_path / "bad.skops"
    save_skops({"lr": LogisticRegression(), "x": Gadget()}, bad)
    with pytest.raises(ModelError, match=r"untrusted types: .*Gadget"):
        load_skops(bad)
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a readable skops file"):
        load_skops(junk)
