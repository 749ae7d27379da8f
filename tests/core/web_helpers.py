"""Helpers shared by the UI tests (tests/core/test_web*.py): seeding data, reading pages like a user.

Data is written through the services in short committed transactions (SQLite: a
write session holds the database lock until it ends), and read back through
read-only sessions, so HTTP requests are never blocked by the test itself.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from core.app import Officium
from core.context import set_company
from core.services import companies
from core.services import contacts as contact_service
from core.services import ledger as ledger_service
from core.testing import csrf_token

CHART = [
    ("1000", "Cash", "asset"),
    ("1200", "Receivables", "asset"),
    ("2000", "Payables", "liability"),
    ("3000", "Capital", "equity"),
    ("4000", "Sales", "income"),
    ("6000", "Rent", "expense"),
]


# --- data ------------------------------------------------------------------------------------------


@contextmanager
def system_session(ext: Officium) -> Iterator[Session]:
    """A committed transaction acting as the system in the first company."""
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, companies.first_company(session).id)
        yield session


def seed_books(ext: Officium) -> None:
    """A small chart of accounts and two journals: GJ (numbered GJ/...) and SJ (numbered SAL/...)."""
    with system_session(ext) as session:
        for code, name, type_ in CHART:
            ledger_service.create_account(session, code=code, name=name, type=type_)
        ledger_service.create_journal(session, code="GJ", name="General journal")
        ledger_service.create_journal(session, code="SJ", name="Sales journal", prefix="SAL")


def add_contact(ext: Officium, name: str, **fields: Any) -> int:
    with system_session(ext) as session:
        return contact_service.create_contact(session, name=name, **fields).id


def add_contacts(ext: Officium, rows: list[dict[str, Any]]) -> list[int]:
    with system_session(ext) as session:
        return contact_service.create_contacts(session, rows)


def add_entry(
    ext: Officium,
    lines: list[dict[str, Any]],
    *,
    date: str = "2026-03-01",
    journal: str = "GJ",
    memo: str = "",
    post: bool = True,
) -> tuple[int, str | None]:
    """Create (and by default post) an entry; returns its id and number."""
    with system_session(ext) as session:
        entry = ledger_service.create_entry(
            session, {"journal": journal, "date": date, "memo": memo, "lines": lines}, post=post
        )
        return entry.id, entry.number


def sale(amount: str, contact_id: int | None = None) -> list[dict[str, Any]]:
    """Receivables up, sales up."""
    return [
        {"account": "1200", "debit": amount, "contact_id": contact_id},
        {"account": "4000", "credit": amount},
    ]


def count(ext: Officium, model: Any, *where: Any) -> int:
    with ext.db.session(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def fetch(ext: Officium, model: Any, *where: Any) -> Any:
    """One row, detached, for assertions."""
    with ext.db.session(read_only=True) as session:
        return session.scalars(select(model).where(*where)).one()


def snapshot(ext: Officium) -> dict[str, list[str]]:
    """Every row of every table: equal snapshots mean a request changed nothing."""
    tables = sorted(inspect(ext.db.engine).get_table_names())
    with ext.db.session(read_only=True) as session:
        return {
            t: sorted(repr(tuple(r)) for r in session.execute(text(f'SELECT * FROM "{t}"'))) for t in tables
        }


# --- pages ------------------------------------------------------------------------------------------


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def visible(response: Any) -> str:
    """The text a user reads: tags and scripts removed, entities decoded, whitespace collapsed."""
    body = re.sub(r"(?is)<(script|style|title)\b.*?</\1>", " ", page(response))
    body = re.sub(r"(?s)<[^>]+>", " ", body)
    return " ".join(html.unescape(body).split())


def field_error(response: Any, name: str) -> str | None:
    """The message shown under field ``name`` (``<p class="field-error" id="NAME-error">``)."""
    match = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', page(response), re.S)
    return html.unescape(match.group(1)).strip() if match else None


def flashes(response: Any) -> list[str]:
    found = re.findall(r'<(?:div|p) class="flash flash-\w+"[^>]*>(.*?)</(?:div|p)>', page(response), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", f)).split()) for f in found]


def menu_labels(response: Any) -> list[str]:
    nav = re.search(r'<nav class="sidebar".*?</nav>', page(response), re.S)
    if not nav:
        return []
    return [html.unescape(label).strip() for label in re.findall(r"<a [^>]*>(.*?)</a>", nav.group(0), re.S)]


def table_column(response: Any, index: int = 0) -> list[str]:
    """The text of column ``index`` of each body row of the first list table."""
    body = re.search(r"<tbody>(.*?)</tbody>", page(response), re.S)
    if not body:
        return []
    rows = re.findall(r"<tr\b.*?</tr>", body.group(1), re.S)
    cells = [re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S) for row in rows]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c[index])).split()) for c in cells if c]


def next_page_link(response: Any) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next">', page(response))
    return html.unescape(match.group(1)) if match else None


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, page(response)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(page(response))))


def redirect_path(response: Any) -> str:
    assert response.status_code in (302, 303), (response.status_code, page(response)[:2000])
    return response.headers["Location"]


def assert_login_redirect(response: Any) -> None:
    assert redirect_path(response).startswith("/login"), response.headers["Location"]


def assert_forbidden(response: Any, permission: str) -> None:
    """A 403 page, in the layout, naming the missing permission."""
    assert response.status_code == 403, (response.status_code, page(response)[:2000])
    assert f"needs {permission}" in visible(response)
    assert "Not allowed" in visible(response)


def submit(
    client: Any, path: str, data: dict[str, Any] | None = None, *, form_page: str | None = None
) -> Any:
    """POST a form as a browser would: the CSRF token is read from the page that shows the form."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token})
