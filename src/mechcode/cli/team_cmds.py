"""Team coding commands: ``reviewer``, ``assign``, ``agreement`` and ``codebook`` (revisions)."""
from __future__ import annotations

import json
from typing import Any

import click

from mechcode.cli.options import review_dir_arg

FORMAT_TEXT_JSON = click.Choice(["text", "json"])


def _open(review_dir: str):
    from mechcode.store.review import Review

    return Review.open(review_dir)


# ----------------------------------------------------------------------------- reviewer
@click.group()
def reviewer() -> None:
    """Named reviewers of a review, each with a personal access token.

    Every decision records the reviewer who made it. Tokens are printed once
    when a reviewer is added and stored only as a hash.
    """


@reviewer.command("add")
@review_dir_arg
@click.argument("name")
@click.option("--new-token", is_flag=True, help="NAME exists already: issue a new token (the old one stops working).")
def reviewer_add(review_dir: str, name: str, new_token: bool) -> None:
    """Add reviewer NAME to REVIEW_DIR and print their personal token (once).

    Give the token to that reviewer only; the review page uses it to know who
    is coding. It cannot be shown again: if it is lost, run this again with
    --new-token.

    Example: mechcode reviewer add my-review alice
    """
    from mechcode.team.reviewers import add_reviewer

    token = add_reviewer(_open(review_dir), name, new_token=new_token)
    click.echo(f"{'new token for' if new_token else 'added reviewer'} {name.strip()}; their token "
               "(shown only now, keep it private):", err=True)
    click.echo(token)


@reviewer.command("list")
@review_dir_arg
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="Plain text for people, JSON for scripts.")
def reviewer_list(review_dir: str, fmt: str) -> None:
    """List the reviewers of REVIEW_DIR with their decisions, coded and double-coded units.

    Tokens are never shown.

    Example: mechcode reviewer list my-review
    """
    from mechcode.team.reviewers import reviewers

    rows = reviewers(_open(review_dir))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no reviewers yet; add one with: mechcode reviewer add REVIEW_DIR NAME")
    for r in rows:
        click.echo(f"{r['name']}\tadded {r['created_at'][:10]}\t{r['decisions']} decisions\t"
                   f"{r['units']} units coded\t{r['double_coding']} units to double-code")


# ----------------------------------------------------------------------------- assign
@click.command()
@review_dir_arg
@click.option("--double", "share", type=click.FloatRange(0, 1, min_open=True), required=True,
              help="Share of papers (or units) to double-code, e.g. 0.2. Already double-coded ones count, "
                   "so running it again tops up to this share.")
@click.option("--by", type=click.Choice(["paper", "unit"]), default="paper", show_default=True,
              help="Double-code whole papers (every unit of the paper, spans added later too) or single units.")
@click.option("--reviewers", "names", default=None, metavar="A,B[,C...]",
              help="Reviewers to draw the pairs from (default: every registered reviewer).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same choice).")
@click.option("--format", "fmt", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="Plain text for people, JSON for scripts.")
def assign(review_dir: str, share: float, by: str, names: str | None, seed: int, fmt: str) -> None:
    """Mark a share of REVIEW_DIR's papers (or units) for blind double coding.

    Each chosen paper/unit is assigned to a pair of reviewers (balanced over
    all pairs) who code it independently: neither sees the other's codes, and
    the model does not train on it, until both coded and agreed or an
    adjudicator decided (see 'mechcode agreement').

    Example: mechcode assign my-review --double 0.2 --by paper --reviewers alice,bob --seed 1
    """
    from mechcode.team.assign import assign as do_assign

    chosen = [n.strip() for n in names.split(",") if n.strip()] if names else None
    report = do_assign(_open(review_dir), share, by=by, reviewers=chosen, seed=seed)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"double coding: {report['double_coded']} of {report['total']} {by}s "
               f"({report['added']} added now)")
    for pair, n in sorted(report["pairs"].items()):
        click.echo(f"  {pair.replace('+', ' & ')}: {n} {by}s")


# ----------------------------------------------------------------------------- agreement
@click.command()
@review_dir_arg
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="Markdown tables or JSON.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="A mechanism counts as suggested by the model when its probability is at least this.")
@click.option("--model", "model_version", default=None, help="Model version to compare with (default: latest).")
@click.option("--all-units", is_flag=True,
              help="Compare on every unit two reviewers coded, not only the independently double-coded ones.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=str), default=None,
              help="Write the report to this file instead of stdout.")
def agreement(review_dir: str, fmt: str, threshold: float, model_version: str | None, all_units: bool,
              output: str | None) -> None:
    """Inter-reviewer and reviewer-vs-model agreement for REVIEW_DIR.

    For each pair of reviewers, over the units both coded independently:
    Cohen's kappa and Krippendorff's alpha (nominal) per mechanism
    (presence/absence per unit), for the CMO role and for polarity, with the
    counts and percent agreement; alpha across all reviewers; and each
    reviewer against the model's suggestions above --threshold.

    Example: mechcode agreement my-review --format md -o agreement.md
    """
    from mechcode.team.agreement import agreement as compute
    from mechcode.team.agreement import to_json, to_markdown

    report = compute(_open(review_dir), threshold, model_version, double_only=not all_units)
    text = to_json(report) if fmt == "json" else to_markdown(report)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


# ----------------------------------------------------------------------------- codebook
version_opt = click.option("--version", "new_version", default=None,
                           help="Version of the new codebook (default: the current one + 1, e.g. 2 -> 3, 1b -> 1b.1).")
note_opt = click.option("--note", default=None, help="Why the change was made (kept with the change).")
into_opt = click.option("--into", "targets", multiple=True, required=True, metavar="ID",
                        help="Target code id (repeat, or comma-separate, for several).")


def _revise(review_dir: str, op: dict[str, Any], new_version: str | None) -> None:
    from mechcode.store.revisions import describe

    rv = _open(review_dir)
    latest = rv.latest_model()
    res = rv.revise_codebook([op], version=new_version)
    o = res["ops"][0]
    click.echo(f"codebook v{res['version_from']} -> v{res['version_to']}: {describe(o)}")
    if o["review"]:
        click.echo(f"units coded {', '.join(o['from'])} cannot be relabelled automatically: "
                   f"{res['recode']} units wait in the re-coding queue")
    if latest is not None:
        click.echo(f"model {latest['version']} is now stale: retrain to use the new codebook")


def _ids(values: tuple[str, ...]) -> list[str]:
    return [v for value in values for v in value.replace(",", " ").split()]


@click.group()
def codebook() -> None:
    """Show and revise a review's codebook without losing coded work.

    Each change (rename, merge, split, retire, add) makes a new codebook
    version and stores the explicit old -> new mapping. Decisions are never
    rewritten: current codes are derived through the mappings, older versions
    stay readable, splits send units to a re-coding queue, and the model is
    marked stale so the next retrain uses the new codebook.
    """


@codebook.command("show")
@review_dir_arg
@click.option("--version", "version", default=None, help="An earlier version (default: the current one).")
@click.option("--format", "fmt", type=click.Choice(["text", "yaml", "json"]), default="text", show_default=True,
              help="A summary, or the codebook itself as YAML or JSON.")
def codebook_show(review_dir: str, version: str | None, fmt: str) -> None:
    """Show the codebook of REVIEW_DIR (or an earlier --version).

    Example: mechcode codebook show my-review --version 1
    """
    import yaml

    from mechcode.store.codebooks import codebook_at

    rv = _open(review_dir)
    cb = codebook_at(rv.connect(), version) if version else rv.codebook
    if fmt != "text":
        data = {k: v for k, v in cb.to_dict().items() if k != "history"}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False) if fmt == "json"
                   else yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return
    click.echo(f"{cb.name} v{cb.version} ({len(cb.mechanism_ids(suggestable_only=True))} suggestable codes)")
    for m in cb.mechanisms:
        extra = f" -> {', '.join(m.merged_into)}" if m.merged_into else ""
        click.echo(f"  {m.id:<32} {m.status:<11} {m.name}{extra}")


@codebook.command("rename")
@review_dir_arg
@click.argument("old")
@click.argument("new")
@click.option("--name", default=None, help="New display name (default: keep the old name).")
@click.option("--description", default=None, help="New description (with --name).")
@version_opt
@note_opt
def codebook_rename(review_dir: str, old: str, new: str, name: str | None, description: str | None,
                    new_version: str | None, note: str | None) -> None:
    """Rename code OLD to NEW; every unit coded OLD now carries NEW.

    Example: mechcode codebook rename my-review providing-clarity clarifying-complexity --name "Clarifying complexity"
    """
    _revise(review_dir, {"op": "rename", "from": [old], "to": [new], "name": name, "description": description,
                         "note": note}, new_version)


@codebook.command("merge")
@review_dir_arg
@click.argument("sources", nargs=-1, required=True, metavar="CODE...")
@into_opt
@click.option("--name", default=None, help="Name of a new target code.")
@click.option("--description", default=None, help="Description of a new target code.")
@version_opt
@note_opt
def codebook_merge(review_dir: str, sources: tuple[str, ...], targets: tuple[str, ...], name: str | None,
                   description: str | None, new_version: str | None, note: str | None) -> None:
    """Merge CODE... into --into TARGET (an existing or a new code).

    Units coded with a source code now carry the target; the sources stay in
    the codebook with status merged. With several --into targets the findings
    are spread over them, so the units go to the re-coding queue instead.

    Example: mechcode codebook merge my-review shared-mission shared-responsibility --into creating-conditions
    """
    _revise(review_dir, {"op": "merge", "from": _ids(sources), "to": _ids(targets), "name": name,
                         "description": description, "note": note}, new_version)


@codebook.command("split")
@review_dir_arg
@click.argument("source", metavar="CODE")
@into_opt
@version_opt
@note_opt
def codebook_split(review_dir: str, source: str, targets: tuple[str, ...], new_version: str | None,
                   note: str | None) -> None:
    """Split CODE into two or more --into codes.

    Nothing is guessed: every unit coded CODE goes to the re-coding queue with
    the new codes as candidates. New codes get a name from their id; rename
    or re-add them to change it.

    Example: mechcode codebook split my-review advocacy --into inspiring-intent --into balancing-perspectives
    """
    _revise(review_dir, {"op": "split", "from": [source], "to": _ids(targets), "note": note}, new_version)


@codebook.command("retire")
@review_dir_arg
@click.argument("codes", nargs=-1, required=True, metavar="CODE...")
@version_opt
@note_opt
def codebook_retire(review_dir: str, codes: tuple[str, ...], new_version: str | None, note: str | None) -> None:
    """Retire CODE...: kept in the codebook and its history (status retired), no longer suggested or coded.

    Example: mechcode codebook retire my-review fostering-resilience --note "no empirical evidence"
    """
    _revise(review_dir, {"op": "retire", "from": _ids(codes), "to": [], "note": note}, new_version)


@codebook.command("add")
@review_dir_arg
@click.argument("code_id", metavar="ID")
@click.option("--name", required=True, help="Display name of the new code.")
@click.option("--description", default="", help="What the code means (used for suggestions, too).")
@click.option("--kind", type=click.Choice(["mechanism", "general"]), default="mechanism", show_default=True,
              help="A mechanism, or a general context/outcome column.")
@version_opt
@note_opt
def codebook_add(review_dir: str, code_id: str, name: str, description: str, kind: str,
                 new_version: str | None, note: str | None) -> None:
    """Add a new code ID to the codebook.

    Example: mechcode codebook add my-review working-with-power --name "Working with power"
    """
    _revise(review_dir, {"op": "add", "from": [], "to": [code_id], "name": name, "description": description,
                         "kind": kind, "note": note}, new_version)


@codebook.command("apply")
@review_dir_arg
@click.argument("history", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("--definitions", type=click.Path(exists=True, dir_okay=False, path_type=str), default=None,
              help="Codebook file with the names and descriptions of the codes the steps create.")
def codebook_apply(review_dir: str, history: str, definitions: str | None) -> None:
    """Apply the steps of a codebook HISTORY file (codebook_history.yaml format) in order.

    Example: mechcode codebook apply my-review corpora/sims2021/codebook_history.yaml
    --definitions corpora/sims2021/codebook.yaml
    """
    from mechcode.codebook import load_codebook
    from mechcode.store.revisions import apply_history, load_history

    rv = _open(review_dir)
    results = apply_history(rv, load_history(history), load_codebook(definitions) if definitions else None)
    for res in results:
        click.echo(f"codebook v{res['version_from']} -> v{res['version_to']}: {len(res['ops'])} changes")
    if results:
        click.echo(f"{results[-1]['recode']} units wait in the re-coding queue")


@codebook.command("history")
@review_dir_arg
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="Markdown or JSON.")
def codebook_history(review_dir: str, fmt: str) -> None:
    """List REVIEW_DIR's codebook versions and every change with its mapping.

    Example: mechcode codebook history my-review --format json
    """
    rv = _open(review_dir)
    versions = [{k: v for k, v in c.items() if k != "body"} for c in rv.codebooks()]
    changes = rv.codebook_changes()
    if fmt == "json":
        click.echo(json.dumps({"versions": versions, "changes": changes}, indent=2, ensure_ascii=False))
        return
    click.echo("| Version | Created | Change |\n|---|---|---|")
    for v in versions:
        click.echo(f"| {v['version']} | {str(v['created_at'])[:10]} | {v['change'] or ''} |")
    if changes:
        click.echo("\n| From | To | Operation | Mapping | Re-coding | Note |\n|---|---|---|---|---|---|")
    for c in changes:
        mapping = "; ".join(f"{s} -> {', '.join(t) or '(retired)'}" for s, t in c["mapping"].items())
        click.echo(f"| {c['version_from']} | {c['version_to']} | {c['op']} | {mapping or ', '.join(c['to'])} | "
                   f"{'yes' if c['review'] else 'no'} | {c['note'] or ''} |")
