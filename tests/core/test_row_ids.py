"""Ids beyond what a row can have (PostgreSQL's INTEGER stops at 2**31-1) are "not found" or a field
message, never a database error — in URLs, forms, JSON bodies and list cursors."""

from __future__ import annotations

import base64
import json

import pytest

from core.validation import MAX_ID, parse_id
from tests.core.web_helpers import add_contact, field_error, submit

BEYOND = [MAX_ID + 1, 3_000_000_000, 2**62, 2**63 + 5]


@pytest.mark.parametrize("value", [*BEYOND, 0, -4, "99999999999999999999999", "٣"])
def test_no_row_can_have_such_an_id(value):
    assert parse_id(value) is None


def test_the_largest_row_id_is_still_an_id():
    assert parse_id(MAX_ID) == MAX_ID and parse_id(str(MAX_ID)) == MAX_ID


@pytest.mark.parametrize("number", BEYOND)
def test_a_page_for_an_impossible_id_is_a_404(admin_client, admin_api, number):
    assert admin_client.get(f"/contacts/{number}").status_code == 404
    assert admin_client.get(f"/ledger/entries/{number}").status_code == 404
    response = admin_api.get(f"/api/v1/contacts/{number}")
    assert response.status_code == 404
    # The page after it still works: the failed lookup left no broken transaction behind.
    assert admin_client.get("/contacts").status_code == 200


def test_an_impossible_parent_in_a_form_or_body_is_a_field_message(ext, admin_client, admin_api):
    response = admin_api.post(
        "/api/v1/contacts", json={"kind": "person", "name": "Ada", "parent_id": 3_000_000_000}
    )
    assert response.status_code == 422, response.json
    assert "parent_id" in response.json["error"]["fields"]
    response = submit(
        admin_client, "/contacts/new", {"kind": "person", "name": "Ada", "parent_id": "3000000000"}
    )
    assert response.status_code == 422 and field_error(response, "parent_id")


def test_a_cursor_naming_an_impossible_row_is_refused(ext, admin_api):
    add_contact(ext, "Ada")
    forged = base64.urlsafe_b64encode(json.dumps(["Ada", 3_000_000_000]).encode()).decode().rstrip("=")
    response = admin_api.get(f"/api/v1/contacts?cursor={forged}")
    assert response.status_code == 422
