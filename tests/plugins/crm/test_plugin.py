"""CRM as a department a company switches on and off: menus, pages, search, data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from plugins.crm.models import Deal

pytestmark = pytest.mark.plugins("crm", "accounting")


def test_each_menu_section_is_listed_once_with_its_entries_together(admin_client):
    page = admin_client.get("/").get_data(as_text=True)
    sections = re.findall(r'<li class="nav-section">([^<]+)</li>', page)
    assert len(sections) == len(set(sections))
    assert {"CRM", "Accounting", "Ledger"} <= set(sections)


def test_disabling_crm_hides_its_pages_and_keeps_its_deals(admin_client, ext, session, make_deal):
    deal_id = make_deal(title="Keep me").id
    session.close()
    assert 'href="/crm/deals"' in admin_client.get("/").get_data(as_text=True)
    found = admin_client.get("/search", query_string={"q": "Keep me"}).get_data(as_text=True)
    assert f"/crm/deals/{deal_id}" in found

    assert ext.plugins.disable(ext.db, ["crm"]) == ["crm"]
    assert 'href="/crm/deals"' not in admin_client.get("/").get_data(as_text=True)
    assert admin_client.get(f"/crm/deals/{deal_id}").status_code == 404
    found = admin_client.get("/search", query_string={"q": "Keep me"}).get_data(as_text=True)
    assert f"/crm/deals/{deal_id}" not in found
    with ext.db.session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(Deal)) == 1

    assert ext.plugins.enable(ext.db, ["crm"]) == ["crm"]
    assert "Keep me" in admin_client.get(f"/crm/deals/{deal_id}").get_data(as_text=True)
