"""Session tokens: a verified token is remembered, but its expiry is checked every time."""

from __future__ import annotations

import time
import uuid

import pytest

from closeloop.identity.tokens import InvalidToken, decode_session_token, issue_session_token

SECRET = "unit-test-secret-0123456789abcdef-0123456789"


def test_a_token_decodes_to_its_claims_twice() -> None:
    tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
    token, expires = issue_session_token(
        secret=SECRET, tenant_id=tenant_id, user_id=user_id, ttl_seconds=60
    )
    for _ in range(2):
        claims = decode_session_token(token, secret=SECRET)
        assert (claims.tenant_id, claims.user_id) == (tenant_id, user_id)
        assert claims.expires_at == expires.replace(microsecond=0)


def test_a_remembered_token_still_expires() -> None:
    token, _ = issue_session_token(
        secret=SECRET, tenant_id=uuid.uuid4(), user_id=uuid.uuid4(), ttl_seconds=1
    )
    decode_session_token(token, secret=SECRET)  # verified and remembered
    time.sleep(1.1)
    with pytest.raises(InvalidToken, match="expired"):
        decode_session_token(token, secret=SECRET)


def test_a_remembered_token_is_not_valid_under_another_secret() -> None:
    token, _ = issue_session_token(
        secret=SECRET, tenant_id=uuid.uuid4(), user_id=uuid.uuid4(), ttl_seconds=60
    )
    decode_session_token(token, secret=SECRET)
    with pytest.raises(InvalidToken):
        decode_session_token(token, secret=SECRET.replace("0", "1"))


def test_a_changed_token_is_checked_again() -> None:
    token, _ = issue_session_token(
        secret=SECRET, tenant_id=uuid.uuid4(), user_id=uuid.uuid4(), ttl_seconds=60
    )
    decode_session_token(token, secret=SECRET)
    with pytest.raises(InvalidToken):
        decode_session_token(
            token[:-2] + ("AA" if not token.endswith("AA") else "BB"), secret=SECRET
        )
