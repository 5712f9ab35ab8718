"""Signatures: the HMAC-SHA256 of the exact body bytes under the secret, in any of its accepted forms."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.adapters.webhook import sign, sign_base64
from sahha_sync.adapters.webhook.signature import signature_matches

secrets = st.text(min_size=1, max_size=64)
bodies = st.binary(max_size=512)


def test_the_signature_is_sahhas_lower_case_hex_hmac_sha256() -> None:
    # hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", sha256), the RFC 4231-style reference
    expected = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == expected


@given(secret=secrets, body=bodies)
def test_every_accepted_form_of_the_right_digest_matches(secret: str, body: bytes) -> None:
    key = secret.encode("utf-8")
    for form in (
        sign(secret, body),
        sign(secret, body).upper(),
        sign_base64(secret, body),
        "sha256=" + sign(secret, body),
    ):
        assert signature_matches(key, body, [form.encode()])


@given(secret=secrets, body=bodies, position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_changing_any_byte_of_the_body_breaks_the_signature(secret: str, body: bytes, position: int, flip: int) -> None:
    body = body or b"{}"
    index = position % len(body)
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    key = secret.encode("utf-8")

    assert not signature_matches(key, tampered, [sign(secret, body).encode(), sign_base64(secret, body).encode()])


@given(secret=secrets, other=secrets, body=bodies)
def test_a_signature_made_with_another_secret_does_not_match(secret: str, other: str, body: bytes) -> None:
    if other == secret:
        return
    assert not signature_matches(secret.encode(), body, [sign(other, body).encode()])


def test_no_candidates_and_non_ascii_candidates_do_not_match() -> None:
    assert not signature_matches(b"k", b"{}", [])
    assert not signature_matches(b"k", b"{}", ["é".encode("latin-1"), b""])


def test_one_matching_candidate_among_several_is_enough() -> None:
    assert signature_matches(b"k", b"{}", [b"junk", sign("k", b"{}").encode()])
