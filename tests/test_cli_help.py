"""Every command has real help text, and listing commands stays cheap."""
from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from mechcode.cli import COMMANDS, SUMMARIES, cli


def test_every_command_has_a_summary():
    assert set(COMMANDS) == set(SUMMARIES)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    cmd = cli.get_command(None, name)
    assert cmd.help and len(cmd.help.strip()) > 20, f"{name} has no real help text"


def test_top_level_help_does_not_import_heavy_modules():
    code = ("import sys; from mechcode.cli import cli; from click.testing import CliRunner;"
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0;"
            "heavy = [m for m in ('torch', 'mlflow', 'transformers') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_command_fails():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code != 0
