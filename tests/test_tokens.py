"""chat.tokens: the token format, its digest and the Authorization header (pure)."""

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat import tokens


def test_new_token__prefix_key_id_secret_and_the_digest_of_the_secret_only():
    text, key_id, digest = tokens.new_token()
    assert re.fullmatch(r"chat_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", text)
    assert text.split("_", 2)[1] == key_id
    secret = text[len("chat_") + 12 + 1 :]
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in digest and len(digest) == 64


def test_new_token__each_one_differs():
    made = [tokens.new_token() for _ in range(50)]
    assert len({text for text, _, _ in made}) == 50
    assert len({key_id for _, key_id, _ in made}) == 50


def test_parse__a_made_token_parses_and_matches_its_digest():
    text, key_id, digest = tokens.new_token()
    parsed = tokens.parse(text)
    assert parsed.key_id == key_id
    assert tokens.matches(parsed, digest)


def test_matches__another_secret_with_the_same_key_id_does_not():
    text, key_id, digest = tokens.new_token()
    other, _, _ = tokens.new_token()
    forged = f"chat_{key_id}_{other.split('_', 2)[2]}"
    assert tokens.parse(forged).key_id == key_id
    assert not tokens.matches(tokens.parse(forged), digest)


@pytest.mark.parametrize(
    "text",
    [
        "", "chat_", "chat_0123456789ab_", "ghp_0123456789ab_" + "a" * 43,
        "chat_0123456789AB_" + "a" * 43,  # key id is lowercase hex
        "chat_0123456789ab_" + "a" * 42, "chat_0123456789ab_" + "a" * 44,
        "chat_0123456789ab_" + "a" * 42 + "=", "chat_0123456789ab_" + "a" * 43 + "\n",
        " chat_0123456789ab_" + "a" * 43, "x" * 10_000, None, 42, b"chat_",
    ],
)  # fmt: skip
def test_parse__anything_else_is_none(text):
    assert tokens.parse(text) is None


@given(st.text(max_size=300))
def test_parse__never_raises(text):
    parsed = tokens.parse(text)
    assert parsed is None or text == f"chat_{parsed.key_id}_{parsed.secret}"


@pytest.mark.parametrize(
    "header, credentials",
    [
        (None, None), ("", None), ("Basic dXNlcjpwdw==", None), ("Token abc", None),
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"),
        ("Bearer", ""), ("Bearer ", ""),
    ],
)  # fmt: skip
def test_bearer__credentials_of_a_bearer_header_only(header, credentials):
    assert tokens.bearer(header) == credentials


@pytest.mark.parametrize("name", ["deploy", "  CI bot  ", "é" * 64, "a b-c_d.e"])
def test_clean_name__valid_names_are_stripped(name):
    assert tokens.clean_name(name) == name.strip()


@pytest.mark.parametrize(
    "name, message",
    [
        (None, "required"), ("", "required"), ("   ", "required"), (5, "required"),
        ("x" * 65, "over 64"), ("a/b", "'/'"), ("a\x00b", "control"), ("a\nb", "control"),
    ],
)  # fmt: skip
def test_clean_name__refused_with_the_reason(name, message):
    with pytest.raises(tokens.InvalidName, match=message):
        tokens.clean_name(name)
