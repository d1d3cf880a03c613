"""Reading a sentence-transformers card (hubrerank.reproducibility.st_card) beyond the recipe: the release
that wrote it and the reranking evaluators' always_rerank_positives, over the corpus of real cards."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "st_cards"
# the corpus' kind folders; a card in none of them is a cross-encoder's
FOLDER_KINDS = ("bi-encoder", "sparse-encoder", "multi-vector")


def _kind_of(path: Path) -> str:
    return next((kind for kind in FOLDER_KINDS if kind in path.parts), "cross-encoder")


# (kind, release folder, card) of every trainer card in the corpus
TRAINER_CARDS = [
    (_kind_of(path), path.parent.parent.name, path.parent)
    for path in sorted(CORPUS.glob("**/case.json"))
    if json.loads(path.read_text()).get("api", "trainer") != "untrained"
]
# the first release of each card template, by kind: the release a card without versions is guessed to be
TEMPLATE_ERAS = {
    "cross-encoder": ("4.0.0", "5.0.0", "5.1.2", "5.4.0", "5.5.0", "6.3.0"),
    "bi-encoder": ("4.0.0", "5.0.0", "5.1.2", "5.4.0", "5.7.0", "6.3.0"),
    "sparse-encoder": ("5.0.0", "5.1.2", "5.4.0", "5.5.0", "6.3.0"),
    "multi-vector": ("6.0.0", "6.3.0"),
}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("+")[0].split("."))


def _template_of(kind: str, release: str) -> str:
    return [era for era in TEMPLATE_ERAS[kind] if _release(era) <= _release(release)][-1]


def _without_versions(text: str) -> str:
    stripped = re.sub(r"### Framework Versions\n.*?(?=\n##)", "", text, flags=re.S)
    assert "Sentence Transformers:" not in stripped
    return stripped


def test_the_corpus_has_cards_of_every_template():
    eras = {(kind, _template_of(kind, release)) for kind, release, _ in TRAINER_CARDS}
    assert eras == {(kind, era) for kind, firsts in TEMPLATE_ERAS.items() for era in firsts}


@pytest.mark.parametrize(("kind", "release", "folder"), TRAINER_CARDS, ids=lambda v: getattr(v, "name", v))
def test_a_card_gives_the_release_that_wrote_it_or_the_template_it_matches(kind: str, release: str, folder):
    from hubrerank.reproducibility.st_card import CardLibraryVersion, parse_card

    text = (folder / "README.md").read_text()

    recorded = parse_card(text).library_version
    guessed = parse_card(_without_versions(text)).library_version

    assert recorded == CardLibraryVersion(
        release.split("+")[0], False, "the card's Framework Versions section records it"
    )
    assert (guessed.version, guessed.guessed) == (_template_of(kind, release), True)
    assert "disagrees" not in guessed.why


def test_a_guess_names_the_template_era_and_what_disagrees():
    from hubrerank.reproducibility.st_card import library_version

    text = _without_versions((CORPUS / "6.3.0" / "bce-reranking" / "README.md").read_text())
    older = _without_versions((CORPUS / "6.2.0" / "bce-reranking" / "README.md").read_text())

    clean = library_version(text, "cross-encoder")
    edited = library_version(text.replace("## Additional Resources", "## Links"), "cross-encoder")

    assert clean.version == "6.3.0" and "the template of release >= 6.3.0" in clean.why
    assert library_version(older, "cross-encoder").why.startswith(
        "the card records no sentence-transformers version; its layout is the template of "
        "5.5.0 <= release < 6.3.0"
    )
    assert edited.version == "6.3.0"
    assert edited.why.endswith("but it disagrees on an 'Additional Resources' section")


NANOBEIR_CARDS = sorted(CORPUS.glob("*/nanobeir/README.md"))


@pytest.mark.parametrize("path", NANOBEIR_CARDS, ids=lambda p: p.parent.parent.name)
def test_a_nanobeir_cards_evaluators_show_always_rerank_positives(path: Path):
    """Every release prints CrossEncoderNanoBEIREvaluator's (and its subsets') always_rerank_positives,
    True by default; a section that does not print it reads as None."""
    from hubrerank.reproducibility.st_card import parse_card

    card = parse_card(path.read_text())

    settings = {evaluator.class_name: evaluator.always_rerank_positives for evaluator in card.evaluators}
    assert settings == {"CrossEncoderRerankingEvaluator": True, "CrossEncoderNanoBEIREvaluator": True}
    reranking = parse_card((path.parent.parent / "bce-reranking" / "README.md").read_text())
    assert [evaluator.always_rerank_positives for evaluator in reranking.evaluators] == [None]


def test_a_realistic_nanobeir_run_reads_as_false_and_its_claims_as_realistic():
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.st_card import parse_card

    text = (CORPUS / "6.3.0" / "nanobeir" / "README.md").read_text()
    realistic = text.replace('"always_rerank_positives": true', '"always_rerank_positives": false')

    card = parse_card(realistic)

    assert {evaluator.always_rerank_positives for evaluator in card.evaluators} == {False}
    injected = {"nanobeir": {"datasets": ["msmarco"]}}
    realistic_plan = {"nanobeir": {"datasets": ["msmarco"], "always_rerank_positives": False}}
    assert set(match_claims(parse_card(text), injected).values()) == {("nanobeir", None, "")}
    # a claim is re-measured only by a run in its own setting
    assert match_claims(parse_card(text), realistic_plan) == {}
    assert match_claims(card, injected) == {}
    assert set(match_claims(card, realistic_plan).values()) == {("nanobeir", None, "")}


def test_a_realistic_nanobeir_card_gives_a_realistic_nanobeir_recipe():
    from hubrerank.refs import ResolvedRef
    from hubrerank.reproducibility.from_card import recipe_from_card

    text = (CORPUS / "6.3.0" / "nanobeir" / "README.md").read_text()
    text = text.replace("/tmp/st-corpus-wt63/NanoBEIR-dl19", "sentence-transformers/NanoBEIR-en")
    ref = ResolvedRef("acme/realistic-nano", "c" * 40, "model")

    injected = recipe_from_card(ref, text).document["evaluation"]["nanobeir"]
    realistic = recipe_from_card(
        ref, text.replace('"always_rerank_positives": true', '"always_rerank_positives": false')
    ).document["evaluation"]["nanobeir"]

    assert "always_rerank_positives" not in injected  # the evaluator's default stays unwritten
    assert realistic["always_rerank_positives"] is False
