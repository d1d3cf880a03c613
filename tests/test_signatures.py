"""The verifyToken format: what a token says, who signed it, and every way a token is refused."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from hubrerank.errors import InputError
from hubrerank.signatures import (
    MAX_TOKEN_CHARS,
    SignedResult,
    SigningKey,
    TokenError,
    is_model_file,
    key_id,
    parse_public_key,
    read_token,
    stated_pipeline,
)

RESULT = SignedResult(
    model="alice/reranker",
    model_sha="a" * 40,
    dataset="acme/faq",
    dataset_revision="b" * 40,
    task_id="default/test/ndcg@10",
    metric="ndcg@10",
    metric_definition="all-positives",
    value=0.8123456789,
    tolerance=0.001,
    verdict="PASS",
    hubrerank_version="0.1.0",
    signer="bob",
    signed_at="2026-12-07T10:00:00.000000Z",
)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_reads_back_as_what_was_signed_and_checks_only_against_its_key():
    key, other = SigningKey.generate(), SigningKey.generate()
    token = read_token(key.sign(RESULT))
    assert token.result == RESULT and token.key_id == key.key_id == key_id(key.public_text)
    assert token.signed_by(key.public_text) and not token.signed_by(other.public_text)
    assert len(key.key_id) == 16 and key.public_text.startswith("ed25519:")


def test_the_same_result_signs_the_same_payload_and_a_key_survives_its_pem():
    key = SigningKey.generate()
    assert key.sign(RESULT).split(".")[1] == key.sign(dataclasses.replace(RESULT)).split(".")[1]
    again = SigningKey.from_pem(key.to_pem(), "test")
    assert again.key_id == key.key_id and read_token(again.sign(RESULT)).signed_by(key.public_text)


def test_a_pipeline_is_signed_when_stated_and_absent_from_the_payload_otherwise():
    key = SigningKey.generate()
    assert b"pipeline" not in RESULT.canonical()  # tokens of a model measured alone keep their shape
    behind_bm25 = dataclasses.replace(RESULT, pipeline="BM25, top 20 reranked")
    token = read_token(key.sign(behind_bm25))
    assert token.result == behind_bm25 and token.signed_by(key.public_text)
    assert stated_pipeline("NDCG@10; pipeline: BM25, top 20 reranked; hubrerank pipeline by bob") == (
        "BM25, top 20 reranked"
    )
    assert stated_pipeline("NDCG@10; the split's whole corpus searched") is None
    assert stated_pipeline(None) is None


def test_an_edited_payload_no_longer_matches_the_signature():
    key = SigningKey.generate()
    header, _, signature = key.sign(RESULT).split(".")
    payload = _b64(dataclasses.asdict(dataclasses.replace(RESULT, value=0.9)))
    forged = read_token(f"{header}.{payload}.{signature}")
    assert forged.result.value == 0.9 and not forged.signed_by(key.public_text)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "is not a string"),
        ("x" * (MAX_TOKEN_CHARS + 1), "at most"),
        ("a.b", "three dot-separated parts"),
        ("!!.e30.AA", "header is not base64url"),
        (f"{_b64({'alg': 'HS256', 'kid': '0' * 16})}.e30.AA", "EdDSA"),
        (f"{_b64({'alg': 'EdDSA'})}.e30.AA", "key id"),
        (f"{_b64({'alg': 'EdDSA', 'kid': '0' * 16})}.bm90IGpzb24.AA", "not JSON"),
        (f"{_b64({'alg': 'EdDSA', 'kid': '0' * 16})}.e30.AA", "64 bytes"),
    ],
)
def test_malformed_tokens_are_refused_with_what_is_wrong(token, message):
    with pytest.raises(TokenError, match=message):
        read_token(token)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": "0.8"}, "'value' has the wrong type"),
        ({"value": True}, "'value' has the wrong type"),
        ({"signer": None}, "'signer' has the wrong type"),
        ({"model_sha": "main"}, "40-hex"),
        ({"extra": 1}, "unexpected or missing fields: extra"),
        ({"pipeline": 3}, "'pipeline' has the wrong type"),
    ],
)
def test_payload_fields_are_checked_one_by_one(change, message):
    payload = {**dataclasses.asdict(RESULT), **change}
    signature = base64.urlsafe_b64encode(b"\0" * 64).rstrip(b"=").decode()
    token = f"{_b64({'alg': 'EdDSA', 'kid': '0' * 16})}.{_b64(payload)}.{signature}"
    with pytest.raises(TokenError, match=message):
        read_token(token)


def test_public_keys_and_private_keys_in_other_forms_are_refused_with_how_to_fix():
    with pytest.raises(InputError, match=r"is not a public key; give the 'ed25519:\.\.\.' line"):
        parse_public_key("ssh-ed25519 AAAA")
    with pytest.raises(InputError, match="is not a public key"):
        parse_public_key("ed25519:" + base64.b64encode(b"short").decode())
    with pytest.raises(InputError, match=r"key\.pem is not an Ed25519 private key in PEM form"):
        SigningKey.from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "key.pem")


def test_a_signature_covers_every_file_but_the_card_results_and_reports():
    assert (
        is_model_file("model.safetensors")
        and is_model_file("config.json")
        and is_model_file("onnx/model.onnx")
    )
    assert not any(
        is_model_file(path)
        for path in ("README.md", ".gitattributes", ".eval_results/x.yaml", "reproductions/20261207.json")
    )
