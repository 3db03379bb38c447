"""Non-codable units: what the classifier flags, and that `mechcode info` reports them with the stop signal."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from _web_review import make_review
from mechcode.cli import cli
from mechcode.codable import classify
from mechcode.loop.service import LoopService


@pytest.mark.parametrize("text, reason", [
    ("Objectives.", "label"), ("Methods.", "label"), ("Study design:", "label"), ("1.", "list number"),
    ("(iv)", "list number"), ("Additional file 1", "attachment label"), ("Additional file", "attachment label"),
    ("[pill", "reference fragment"), ("Results and Discussion", "heading"), ("Figure 2.", "figure or table label"),
    ("Table 1 Characteristics of included studies", "figure or table caption"),
    ("https://doi.org/10.1186/x", "link"), ("Smith J, Jones K, et al. 2019; 12(3):45-67.", "not prose"),
    ("Jones K et al. Health Serv Res. 2019; 54: 1-10", "reference fragment"),
])
def test_non_prose_is_flagged(text, reason):
    assert classify(text) == reason


@pytest.mark.parametrize("text", [
    "Staff felt motivated.", "Table 1 shows that trust grew over the first year.",
    "The leader introduced shared goals across the partnership in site 3.",
    "We searched five databases for studies published after 2010.",
    "Background: integrated care needs leaders who share power.",
    "See Peters et al. (2017) and Ammar et al. (2017) for more details.",
    "For trust, a main effect of time was found, F (2, 404) = 199.59, p < .001, η 2 = .50, with gains.",
])
def test_prose_is_codable(text):
    assert classify(text) is None


def test_info_reports_non_codable_units_and_the_stop_signal(tmp_path):
    rv, _ = make_review(tmp_path, n_docs=1, extra="Objectives.")
    svc = LoopService(rv, retrain_every=0, initial_params={"encoder": "tfidf"})
    svc.queue("uncertain", "ann")  # scores every open unit with the zeroshot model
    runner = CliRunner()
    text = runner.invoke(cli, ["info", str(rv.path)])
    assert text.exit_code == 0, text.output
    assert "not codable 1 units" in text.output and "stop hint   Keep coding" in text.output
    data = json.loads(runner.invoke(cli, ["info", str(rv.path), "--format", "json"]).output)
    assert data["not_codable"] == 1 and data["stop"]["uncoded"] == rv.count_units() - 1
    assert data["stop"]["remaining"] > 0 and data["stop"]["found"] == 0
