"""mechcode.registry: lazy "module:attr" entries, direct entries, clear errors for unknown names."""
from __future__ import annotations

import sys

import pytest

from mechcode.errors import MechcodeError, ModelError
from mechcode.registry import Registry


def test_string_entries_are_imported_on_first_load_only(tmp_path, monkeypatch):
    pkg = tmp_path / "regpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "heavy.py").write_text("LOADS = []\nLOADS.append(1)\n\ndef thing():\n    return 'heavy thing'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("widget", {"heavy": "heavy:thing", "light": len}, package="regpkg")
    assert list(reg) == ["heavy", "light"] and len(reg) == 2 and "heavy" in reg
    assert "regpkg.heavy" not in sys.modules  # listing and lookups import nothing
    assert reg.load("light") is len
    assert "regpkg.heavy" not in sys.modules
    thing = reg.load("heavy")
    assert thing() == "heavy thing" and reg.load("heavy") is thing
    assert sys.modules["regpkg.heavy"].LOADS == [1]  # imported once


def test_unknown_name_is_one_clear_error_of_the_given_class():
    reg = Registry("backend", {"sparse": "json:dumps", "embed": "json:loads"}, error=ModelError)
    with pytest.raises(ModelError, match=r"unknown backend 'nope'; available: sparse, embed"):
        reg.load("nope")
    with pytest.raises(MechcodeError, match="unknown command 'x'"):
        Registry("command", {}).load("x")


def test_the_cli_commands_are_a_registry():
    from mechcode.cli import COMMANDS, cli

    assert isinstance(COMMANDS, Registry)
    assert COMMANDS.load("info").name == "info"
    assert cli.get_command(None, "no-such-command") is None
