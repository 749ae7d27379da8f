"""Period locks: an officer sees the lock date and who changed it when (old -> new, from the audit
trail); only a user who may lock periods changes it; a bad date is explained, nothing is stored."""

from __future__ import annotations

import pytest

from core.models import Company
from core.services import companies
from core.testing import csrf_token

pytestmark = pytest.mark.plugins("compliance")

PAGE = "/compliance/period-locks"
API = "/api/v1/compliance/period-locks"


def set_in_browser(client, value: str, action: str = "lock"):
    token = csrf_token(client, PAGE)
    return client.post(PAGE, data={"csrf_token": token, "lock_date": value, "action": action})


def lock_date(session):
    session.expire_all()
    value = companies.first_company(session).lock_date
    session.commit()
    return value


def test_an_officer_locks_a_period_and_the_history_shows_old_and_new(officer_client, session):
    session.commit()  # the test session reads later: it holds no lock meanwhile
    page = officer_client.get(PAGE).get_data(as_text=True)
    assert "No lock date" in page and "has not been changed yet" in page

    assert set_in_browser(officer_client, "2025-12-31").status_code == 302
    assert set_in_browser(officer_client, "2026-01-31").status_code == 302
    assert str(lock_date(session)) == "2026-01-31"

    page = officer_client.get(PAGE).get_data(as_text=True)
    assert "locked through" in page
    history = page[page.index('id="lock-history"') :]
    changes = history.split('class="lock-change"')[1:]
    assert len(changes) == 2
    newest, oldest = changes
    assert 'datetime="2025-12-31"' in newest.split('class="lock-new"')[0]
    assert 'datetime="2026-01-31"' in newest.split('class="lock-new"')[1]
    assert "officer@example.com" in newest and "web" in newest
    assert "open" in oldest.split('class="lock-new"')[0] and 'datetime="2025-12-31"' in oldest

    assert set_in_browser(officer_client, "", action="clear").status_code == 302
    assert lock_date(session) is None


def test_a_user_without_the_lock_permission_sees_the_date_but_cannot_change_it(make_client, session):
    session.commit()  # the test session reads later: it holds no lock meanwhile
    viewer = make_client("viewer@example.com", permissions=("compliance.view",))
    page = viewer.get(PAGE).get_data(as_text=True)
    assert "No lock date" in page and 'name="lock_date"' not in page
    token = csrf_token(viewer, PAGE)
    response = viewer.post(PAGE, data={"csrf_token": token, "lock_date": "2025-12-31"})
    assert response.status_code == 403
    assert lock_date(session) is None


def test_a_bad_date_is_a_form_message(officer_client, session):
    session.commit()  # the test session reads later: it holds no lock meanwhile
    for value in ("2025-02-30", "yesterday", "0001-01-01", "9" * 500):
        response = set_in_browser(officer_client, value)
        assert response.status_code == 422
        assert 'class="field-error"' in response.get_data(as_text=True)
    assert lock_date(session) is None


def test_the_page_needs_compliance_view(make_client):
    nobody = make_client("nobody@example.com", permissions=("ledger.period.lock",))
    assert nobody.get(PAGE).status_code == 403


def test_the_api_reads_and_sets_the_lock_date(officer_api, make_api_client, session):
    session.commit()  # the test session reads later: it holds no lock meanwhile
    assert officer_api.get(API).json == {"lock_date": None, "history": []}
    response = officer_api.put(API, json={"lock_date": "2025-06-30"})
    assert response.status_code == 200
    assert response.json["lock_date"] == "2025-06-30"
    [change] = response.json["history"]
    assert change["old"] is None and change["new"] == "2025-06-30"
    assert change["actor"] == "officer@example.com" and change["via"] == "api"

    response = officer_api.put(API, json={"lock_date": None})
    assert response.status_code == 200 and response.json["lock_date"] is None
    assert [(c["old"], c["new"]) for c in response.json["history"]] == [
        ("2025-06-30", None),
        (None, "2025-06-30"),
    ]

    for bad in (
        {"lock_date": "2025-02-30"},
        {"lock_date": 20250101},
        {},
        {"lock_date": "2025-01-01", "x": 1},
    ):
        refused = officer_api.put(API, json=bad)
        assert refused.status_code == 422 and refused.json["error"]["fields"]

    viewer = make_api_client("viewer@example.com", permissions=("compliance.view",))
    assert viewer.get(API).status_code == 200
    assert viewer.put(API, json={"lock_date": "2025-12-31"}).status_code == 403
    assert lock_date(session) is None


def test_another_companys_lock_changes_are_not_in_the_history(officer_api, session):
    other = companies.create_company(session, name="Other Company")
    session.commit()
    other.lock_date = companies.first_company(session).created_at.date()
    session.commit()
    assert session.get(Company, other.id).lock_date is not None
    session.commit()
    assert officer_api.get(API).json["history"] == []
