"""The shared ledger: accounts, journals, posting, gapless numbering, immutability, balances."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, object_session

from core.context import company_id_of, set_actor, set_company
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.models import Account, Company, Journal, JournalEntry, JournalLine, NumberSequence
from core.services import ledger
from core.services.companies import create_company, set_lock_date
from core.services.contacts import create_contact
from core.services.ledger import EntryInput, LineInput
from core.services.users import create_role, create_user

D = Decimal

CHART = [
    ("1000", "Cash", "asset"),
    ("1200", "Receivables", "asset"),
    ("2000", "Payables", "liability"),
    ("4000", "Sales", "income"),
    ("6000", "Rent", "expense"),
]


# --- helpers ------------------------------------------------------------------------------------


def dr(account: str | int, amount: object, **extra: object) -> dict:
    return {"account": account, "debit": amount, **extra}


def cr(account: str | int, amount: object, **extra: object) -> dict:
    return {"account": account, "credit": amount, **extra}


def entry(*lines: dict, date: str | dt.date = "2026-03-01", journal: str = "GJ", memo: str = "") -> dict:
    return {"journal": journal, "date": date, "memo": memo, "lines": list(lines)}


def sale(amount: str, *, date: str | dt.date = "2026-03-01", journal: str = "GJ", memo: str = "") -> dict:
    """Invoice a customer: receivables up, sales up."""
    return entry(dr("1200", amount), cr("4000", amount), date=date, journal=journal, memo=memo)


def as_entry_input(data: dict) -> EntryInput:
    return EntryInput(
        journal=data["journal"],
        date=data["date"],
        memo=data["memo"],
        lines=[LineInput(**line) for line in data["lines"]],
    )


def stored(session: Session) -> tuple[int, int, int]:
    """What the database holds: (entries, lines, numbers handed out by every sequence)."""
    entries = session.scalar(select(func.count()).select_from(JournalEntry))
    lines = session.scalar(select(func.count()).select_from(JournalLine))
    numbers = session.scalar(select(func.coalesce(func.sum(NumberSequence.last_value), 0)))
    return entries, lines, numbers


def numbers_in_db(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(JournalEntry.number).where(JournalEntry.number.is_not(None)).order_by(JournalEntry.id)
        )
    )


def balances(tb: ledger.TrialBalance) -> dict[str, tuple[Decimal, Decimal]]:
    return {row.code: (row.debit, row.credit) for row in tb.rows}


def assert_money(value: object, expected: str) -> None:
    """A Decimal with exactly two places, equal to ``expected`` digit for digit."""
    assert isinstance(value, Decimal), f"{value!r} is not a Decimal"
    assert str(value) == expected


@pytest.fixture
def books(session: Session) -> None:
    """A small chart of accounts (one retired), a general and a sales journal; committed."""
    for code, name, type_ in CHART:
        ledger.create_account(session, code=code, name=name, type=type_)
    ledger.create_account(session, code="3999", name="Retired equity", type="equity", active=False)
    ledger.create_journal(session, code="GJ", name="General journal")
    ledger.create_journal(session, code="SJ", name="Sales journal", prefix="SAL")
    session.commit()


# --- accounts and journals ----------------------------------------------------------------------


def test_an_account_is_created_and_found_by_code_or_id(session):
    account = ledger.create_account(session, code=" 1000 ", name=" Cash ", type="asset")
    assert (account.code, account.name, account.type, account.active) == ("1000", "Cash", "asset", True)
    assert ledger.get_account(session, "1000") is account
    assert ledger.get_account(session, account.id) is account
    with pytest.raises(NotFound, match="account 9999 not found"):
        ledger.get_account(session, "9999")
    child = ledger.create_account(session, code="1010", name="Bank", type="asset", parent="1000")
    assert child.parent_id == account.id


def test_account_codes_are_unique_within_a_company(session):
    ledger.create_account(session, code="1000", name="Cash", type="asset")
    with pytest.raises(Conflict, match="account 1000 exists") as refused:
        ledger.create_account(session, code="1000", name="Petty cash", type="asset")
    assert refused.value.fields == {"code": ["already in use"]}
    assert [a.name for a in ledger.list_accounts(session)] == ["Cash"]


def test_another_company_may_reuse_an_account_code(session):
    ledger.create_account(session, code="1000", name="Cash", type="asset")
    first_company_id = company_id_of(session)
    other = create_company(session, name="Other Ltd")
    set_company(session, other.id)
    theirs = ledger.create_account(session, code="1000", name="Their cash", type="asset")
    assert theirs.company_id == other.id
    assert [a.name for a in ledger.list_accounts(session)] == ["Their cash"]
    set_company(session, first_company_id)
    assert [a.name for a in ledger.list_accounts(session)] == ["Cash"]


def test_an_account_with_an_invalid_type_code_or_name_is_refused_with_field_errors(session):
    with pytest.raises(ValidationError) as refused:
        ledger.create_account(session, code="", name=" ", type="treasure")
    assert set(refused.value.fields) == {"code", "name", "type"}
    assert "must be one of asset, liability, equity, income, expense" in refused.value.fields["type"]
    with pytest.raises(ValidationError) as refused:
        ledger.create_account(session, code="X" * 21, name="Long", type="asset")
    assert set(refused.value.fields) == {"code"}
    with pytest.raises(ValidationError) as refused:
        ledger.create_account(session, code="1100", name="Child", type="asset", parent="0000")
    assert refused.value.fields == {"parent": ["unknown account '0000'"]}
    assert ledger.list_accounts(session) == []


def test_listing_accounts_can_leave_out_inactive_ones(session, books):
    assert "3999" in [a.code for a in ledger.list_accounts(session)]
    assert "3999" not in [a.code for a in ledger.list_accounts(session, active=True)]
    assert [a.code for a in ledger.list_accounts(session, active=False)] == ["3999"]


def test_a_journal_numbers_with_its_code_unless_given_a_prefix(session):
    general = ledger.create_journal(session, code="GJ", name="General")
    sales = ledger.create_journal(session, code="SJ", name="Sales", prefix="SAL")
    assert (general.prefix, sales.prefix) == ("GJ", "SAL")
    with pytest.raises(Conflict, match="journal GJ exists"):
        ledger.create_journal(session, code="GJ", name="Again")
    with pytest.raises(ValidationError) as refused:
        ledger.create_journal(session, code="A/B", name="")
    assert {"code", "name"} <= set(refused.value.fields)
    assert [j.code for j in ledger.list_journals(session)] == ["GJ", "SJ"]


# --- posting and numbering ----------------------------------------------------------------------


def test_posting_gives_a_number_and_stores_the_lines(session, books):
    posted = ledger.create_entry(session, sale("125.50", memo="Invoice 7"), post=True)
    session.commit()
    assert posted.state == "posted"
    assert posted.number == "GJ/2026/000001"
    assert posted.posted_at is not None
    assert posted.memo == "Invoice 7"
    assert posted.date == dt.date(2026, 3, 1)
    assert [(line.account.code, line.debit, line.credit) for line in posted.lines] == [
        ("1200", D("125.50"), D("0.00")),
        ("4000", D("0.00"), D("125.50")),
    ]
    assert ledger.get_entry(session, posted.id) is posted


def test_a_draft_has_no_number_until_it_is_posted(session, books):
    draft = ledger.create_entry(session, sale("10.00"))
    assert (draft.state, draft.number) == ("draft", None)
    ledger.post_entry(session, sale("20.00"))
    posted = ledger.post_entry(session, draft)
    assert posted is draft
    assert (draft.state, draft.number) == ("posted", "GJ/2026/000002")


def test_post_entry_accepts_a_dict_or_an_entry_input(session, books):
    first = ledger.post_entry(session, sale("1.00"))
    second = ledger.post_entry(session, as_entry_input(sale("2.00")))
    assert (first.number, second.number) == ("GJ/2026/000001", "GJ/2026/000002")
    assert second.total_debit == D("2.00")


def test_numbers_are_gapless_per_journal_and_restart_each_year(session, books):
    posted = [
        ledger.post_entry(session, sale("1.00", date="2026-01-05")),
        ledger.post_entry(session, sale("2.00", date="2026-12-31")),
        ledger.post_entry(session, sale("3.00", date="2027-01-01")),
        ledger.post_entry(session, sale("4.00", date="2026-06-30")),
        ledger.post_entry(session, sale("5.00", date="2026-06-30", journal="SJ")),
        ledger.post_entry(session, sale("6.00", date="2027-02-01")),
        ledger.post_entry(session, sale("7.00", date="2026-07-01", journal="SJ")),
    ]
    session.commit()
    assert [e.number for e in posted] == [
        "GJ/2026/000001",
        "GJ/2026/000002",
        "GJ/2027/000001",
        "GJ/2026/000003",
        "SAL/2026/000001",
        "GJ/2027/000002",
        "SAL/2026/000002",
    ]


def test_numbers_follow_the_fiscal_year_of_the_company(session, books):
    session.get(Company, company_id_of(session)).fiscal_year_start_month = 7
    session.commit()
    june = ledger.post_entry(session, sale("1.00", date="2026-06-30"))
    july = ledger.post_entry(session, sale("1.00", date="2026-07-01"))
    assert (june.number, july.number) == ("GJ/2025/000001", "GJ/2026/000001")


def test_a_rolled_back_posting_gives_its_number_back(session, books):
    assert ledger.post_entry(session, sale("1.00")).number == "GJ/2026/000001"
    session.commit()
    assert ledger.post_entry(session, sale("2.00")).number == "GJ/2026/000002"
    session.rollback()
    assert ledger.post_entry(session, sale("3.00")).number == "GJ/2026/000002"
    session.commit()
    assert numbers_in_db(session) == ["GJ/2026/000001", "GJ/2026/000002"]


def test_posting_an_entry_twice_is_refused(session, books):
    posted = ledger.post_entry(session, sale("1.00"))
    with pytest.raises(Conflict, match="entry GJ/2026/000001 is already posted"):
        ledger.post_entry(session, posted)
    assert numbers_in_db(session) == ["GJ/2026/000001"]


# --- refusals: nothing is stored -----------------------------------------------------------------

POSTERS = {
    "create_entry-post": lambda session, data: ledger.create_entry(session, data, post=True),
    "post_entry-dict": ledger.post_entry,
    "post_entry-EntryInput": lambda session, data: ledger.post_entry(session, as_entry_input(data)),
}

EXACTLY_ONE = "give either a debit or a credit (exactly one, not zero)"
REFUSALS = {
    "unbalanced": [
        ([dr("1000", "10.00"), cr("4000", "9.99")], "lines", "unbalanced: debits 10.00 != credits 9.99"),
        (
            [dr("1000", "10.00"), dr("6000", "1.00"), cr("4000", "10.00")],
            "lines",
            "unbalanced: debits 11.00 != credits 10.00",
        ),
    ],
    "bad-amounts": [
        (
            [{"account": "1000", "debit": "10.00", "credit": "10.00"}, cr("4000", "10.00")],
            "lines.0.debit",
            EXACTLY_ONE,
        ),
        ([dr("1000", "10.00"), {"account": "4000"}], "lines.1.debit", EXACTLY_ONE),
        ([dr("1000", "0.00"), cr("4000", "0")], "lines.0.debit", EXACTLY_ONE),
        ([dr("1000", "-10.00"), cr("4000", "-10.00")], "lines.0.debit", "must not be negative"),
        ([dr("1000", "10.005"), cr("4000", "10.005")], "lines.1.credit", "must have at most 2 decimals"),
        ([dr("1000", 10.0), cr("4000", 10.0)], "lines.0.debit", "must be a decimal number"),
        ([dr("1000", "ten"), cr("4000", "10.00")], "lines.0.debit", "must be a decimal number"),
        ([dr("1000", "NaN"), cr("4000", "10.00")], "lines.0.debit", "must be a decimal number"),
        ([dr("1000", True), cr("4000", "1.00")], "lines.0.debit", "must be a decimal number"),
        ([dr("1000", "1000000000000.00"), cr("4000", "1000000000000.00")], "lines.0.debit", "is too large"),
        ([dr("1000", "1E+30"), cr("4000", "1E+30")], "lines.0.debit", "is too large"),
    ],
    "bad-accounts-or-contacts": [
        ([dr("9999", "10.00"), cr("4000", "10.00")], "lines.0.account", "unknown account '9999'"),
        ([dr(None, "10.00"), cr("4000", "10.00")], "lines.0.account", "unknown account None"),
        ([dr("1000", "10.00"), cr("3999", "10.00")], "lines.1.account", "account 3999 is inactive"),
        (
            [dr("1000", "10.00"), cr("4000", "10.00", contact_id=987654)],
            "lines.1.contact_id",
            "no such contact",
        ),
    ],
    "too-few-lines": [
        ([dr("1000", "10.00")], "lines", "an entry needs at least two lines"),
        ([], "lines", "an entry needs at least two lines"),
    ],
}


@pytest.mark.parametrize("cases", REFUSALS.values(), ids=REFUSALS.keys())
def test_an_invalid_entry_is_refused_and_nothing_is_stored(session, books, cases):
    for lines, field, message in cases:
        for how, poster in POSTERS.items():
            with pytest.raises(ValidationError) as refused:
                poster(session, entry(*lines))
            assert message in refused.value.fields.get(field, []), (how, lines, refused.value.fields)
            assert refused.value.message.startswith("invalid entry: ")
            assert stored(session) == (0, 0, 0), (how, lines)
            session.rollback()
            assert stored(session) == (0, 0, 0), (how, lines)
    # No refusal consumed a number: the next good entry is the first.
    assert ledger.post_entry(session, sale("10.00")).number == "GJ/2026/000001"


def test_field_errors_name_every_bad_line(session, books):
    with pytest.raises(ValidationError) as refused:
        ledger.post_entry(
            session,
            entry(dr("1000", "-1"), dr("nope", "5.00"), cr("4000", "1.234"), {"account": "6000", "x": 1}),
        )
    assert refused.value.fields == {
        "lines.0.debit": ["must not be negative"],
        "lines.1.account": ["unknown account 'nope'"],
        "lines.2.credit": ["must have at most 2 decimals"],
        "lines.3.x": ["unknown field"],
        "lines.3.debit": ["give either a debit or a credit (exactly one, not zero)"],
    }


def test_an_unknown_journal_is_refused(session, books):
    for how, poster in POSTERS.items():
        with pytest.raises(ValidationError) as refused:
            poster(session, sale("10.00", journal="XX"))
        assert refused.value.fields == {"journal": ["unknown journal 'XX'"]}, how
        assert stored(session) == (0, 0, 0), how


def test_an_inactive_journal_is_refused(session, books):
    session.scalar(select(Journal).where(Journal.code == "SJ")).active = False
    session.commit()
    for how, poster in POSTERS.items():
        with pytest.raises(ValidationError) as refused:
            poster(session, sale("10.00", journal="SJ"))
        assert refused.value.fields == {"journal": ["journal SJ is inactive"]}, how
        assert stored(session) == (0, 0, 0), how
        session.rollback()
    assert ledger.post_entry(session, sale("10.00", journal="GJ")).number == "GJ/2026/000001"


def test_an_entry_with_an_impossible_date_or_unknown_fields_is_refused(session, books):
    with pytest.raises(ValidationError) as refused:
        ledger.post_entry(session, sale("10.00", date="2026-02-30"))
    assert refused.value.fields == {"date": ["must be a date (YYYY-MM-DD)"]}
    with pytest.raises(ValidationError) as refused:
        ledger.post_entry(session, {**sale("10.00"), "amount": "10.00"})
    assert refused.value.fields == {"amount": ["unknown field"]}
    assert stored(session) == (0, 0, 0)


def test_an_unbalanced_draft_may_be_saved_but_not_posted(session, books):
    draft = ledger.create_entry(session, entry(dr("1000", "10.00"), cr("4000", "9.00")))
    session.commit()
    with pytest.raises(ValidationError) as refused:
        ledger.post_entry(session, draft)
    assert refused.value.fields == {"lines": ["unbalanced: debits 10.00 != credits 9.00"]}
    session.rollback()
    assert (draft.state, draft.number) == ("draft", None)
    assert stored(session) == (1, 2, 0)


def test_posting_into_a_locked_period_is_refused(session, books):
    set_lock_date(session, dt.date(2026, 3, 31))
    session.commit()
    for how, poster in POSTERS.items():
        for day in ("2026-03-31", "2026-01-15"):
            with pytest.raises(ValidationError, match="the period is locked through 2026-03-31") as refused:
                poster(session, sale("10.00", date=day))
            assert refused.value.fields == {"date": ["is in a locked period (locked through 2026-03-31)"]}
            assert stored(session) == (0, 0, 0), (how, day)
            session.rollback()
            assert stored(session) == (0, 0, 0), (how, day)
    assert ledger.post_entry(session, sale("10.00", date="2026-04-01")).number == "GJ/2026/000001"


def test_a_draft_dated_in_a_locked_period_cannot_be_posted(session, books):
    draft = ledger.create_entry(session, sale("10.00", date="2026-03-15"))
    set_lock_date(session, dt.date(2026, 3, 31))
    session.commit()
    with pytest.raises(ValidationError, match="locked"):
        ledger.post_entry(session, draft)
    assert (draft.state, draft.number) == ("draft", None)
    assert stored(session) == (1, 2, 0)


# --- drafts and immutability -----------------------------------------------------------------------


def test_a_draft_can_be_rewritten_then_posted(session, books):
    draft = ledger.create_entry(session, sale("10.00", memo="first try"))
    ledger.update_draft(
        session,
        draft,
        entry(dr("6000", "40.00"), cr("1000", "40.00"), date="2026-05-02", memo="Rent May"),
    )
    session.commit()
    assert (draft.memo, draft.date) == ("Rent May", dt.date(2026, 5, 2))
    assert [(line.account.code, line.debit, line.credit) for line in draft.lines] == [
        ("6000", D("40.00"), D("0.00")),
        ("1000", D("0.00"), D("40.00")),
    ]
    assert stored(session) == (1, 2, 0)
    ledger.post_entry(session, draft)
    assert ledger.account_balance(session, "6000") == D("40.00")


def test_a_draft_can_be_deleted(session, books):
    draft = ledger.create_entry(session, sale("10.00"))
    session.commit()
    ledger.delete_draft(session, draft)
    session.commit()
    assert stored(session) == (0, 0, 0)


@pytest.fixture
def posted(session: Session, books: None) -> JournalEntry:
    """A committed invoice: GJ/2026/000001, 100.00 receivables against sales."""
    entry_ = ledger.post_entry(session, sale("100.00", memo="Invoice 1"))
    session.commit()
    return entry_


def assert_untouched(ext, entry_id: int) -> None:
    """A fresh session sees the posted entry exactly as it was posted."""
    with ext.db.session(read_only=True) as fresh:
        found = fresh.get(JournalEntry, entry_id)
        assert (found.state, found.number, found.memo, found.date) == (
            "posted",
            "GJ/2026/000001",
            "Invoice 1",
            dt.date(2026, 3, 1),
        )
        assert [(line.account.code, line.debit, line.credit) for line in found.lines] == [
            ("1200", D("100.00"), D("0.00")),
            ("4000", D("0.00"), D("100.00")),
        ]


def _change_memo(entry_: JournalEntry) -> None:
    entry_.memo = "Edited afterwards"


def _change_date(entry_: JournalEntry) -> None:
    entry_.date = dt.date(2026, 3, 2)


def _change_number(entry_: JournalEntry) -> None:
    entry_.number = "GJ/2026/000099"


def _move_to_another_journal(entry_: JournalEntry) -> None:
    entry_.journal = object_session(entry_).scalar(select(Journal).where(Journal.code == "SJ"))


def _back_to_draft(entry_: JournalEntry) -> None:
    entry_.state = "draft"


def _change_amounts(entry_: JournalEntry) -> None:
    entry_.lines[0].debit = D("90.00")
    entry_.lines[1].credit = D("90.00")


def _change_line_account(entry_: JournalEntry) -> None:
    entry_.lines[0].account_id = entry_.lines[1].account_id


def _point_a_line_at_another_account(entry_: JournalEntry) -> None:
    entry_.lines[0].account = entry_.lines[1].account


def _add_line(entry_: JournalEntry) -> None:
    entry_.lines.append(
        JournalLine(company_id=entry_.company_id, account_id=entry_.lines[0].account_id, debit=D("1.00"))
    )


def _remove_line(entry_: JournalEntry) -> None:
    entry_.lines.pop()


def _replace_lines(entry_: JournalEntry) -> None:
    entry_.lines = []


CHANGES = [
    _change_memo,
    _change_date,
    _change_number,
    _move_to_another_journal,
    _back_to_draft,
    _change_amounts,
    _change_line_account,
    _point_a_line_at_another_account,
    _add_line,
    _remove_line,
    _replace_lines,
]


def test_a_posted_entry_cannot_be_changed_through_the_orm(ext, session, posted):
    for change in CHANGES:
        change(posted)
        try:
            session.flush()
        except Conflict as refused:
            assert "posted entry GJ/2026/000001" in refused.message, change.__name__
        else:
            pytest.fail(f"{change.__name__.strip('_')} was stored")
        session.rollback()
        assert_untouched(ext, posted.id)


def test_a_posted_entry_cannot_be_deleted(ext, session, posted):
    session.delete(posted)
    with pytest.raises(Conflict, match="posted entry GJ/2026/000001 cannot be deleted; reverse it"):
        session.flush()
    session.rollback()
    with pytest.raises(Conflict, match="entry GJ/2026/000001 is posted; reverse it instead of deleting"):
        ledger.delete_draft(session, posted)
    session.rollback()
    assert_untouched(ext, posted.id)


def test_a_posted_line_cannot_be_deleted(ext, session, posted):
    session.delete(posted.lines[0])
    with pytest.raises(Conflict, match="lines of posted entry GJ/2026/000001 are immutable"):
        session.flush()
    session.rollback()
    assert_untouched(ext, posted.id)


def test_update_draft_refuses_a_posted_entry(ext, session, posted):
    with pytest.raises(Conflict, match="entry GJ/2026/000001 is posted; reverse it instead of editing"):
        ledger.update_draft(session, posted, sale("1.00"))
    session.rollback()
    assert_untouched(ext, posted.id)


# --- reversal ---------------------------------------------------------------------------------------


def test_reversing_posts_a_mirror_entry_and_the_accounts_net_to_zero(session, posted):
    reversal = ledger.reverse_entry(session, posted)
    session.commit()
    assert posted.state == "reversed"
    assert reversal.state == "posted"
    assert reversal.number == "GJ/2026/000002"
    assert reversal.reversal_of_id == posted.id
    assert reversal.memo == "Reversal of GJ/2026/000001"
    assert reversal.date == posted.date
    assert [(line.account.code, line.debit, line.credit) for line in reversal.lines] == [
        ("1200", D("0.00"), D("100.00")),
        ("4000", D("100.00"), D("0.00")),
    ]
    tb = ledger.trial_balance(session)
    assert balances(tb) == {
        "1200": (D("100.00"), D("100.00")),
        "4000": (D("100.00"), D("100.00")),
    }
    assert all(row.balance == 0 for row in tb.rows)
    assert ledger.account_balance(session, "1200") == D("0.00")
    assert ledger.account_balance(session, "4000") == D("0.00")


def test_a_reversal_may_be_dated_and_described(session, posted):
    reversal = ledger.reverse_entry(session, posted, date="2026-04-10", memo="Customer cancelled")
    assert (reversal.date, reversal.memo) == (dt.date(2026, 4, 10), "Customer cancelled")
    # As of the end of March the invoice still stands.
    assert ledger.account_balance(session, "1200", date_to=dt.date(2026, 3, 31)) == D("100.00")
    assert ledger.account_balance(session, "1200", date_to=dt.date(2026, 4, 30)) == D("0.00")


def test_reversing_twice_is_refused(session, posted):
    ledger.reverse_entry(session, posted)
    session.commit()
    with pytest.raises(Conflict, match="only posted entries can be reversed; this one is reversed"):
        ledger.reverse_entry(session, posted)
    assert stored(session) == (2, 4, 2)


def test_a_draft_cannot_be_reversed(session, books):
    draft = ledger.create_entry(session, sale("5.00"))
    with pytest.raises(Conflict, match="this one is draft"):
        ledger.reverse_entry(session, draft)
    assert stored(session) == (1, 2, 0)


def test_reversing_into_a_locked_period_is_refused(session, posted):
    set_lock_date(session, dt.date(2026, 3, 31))
    session.commit()
    with pytest.raises(ValidationError, match="the period is locked through 2026-03-31"):
        ledger.reverse_entry(session, posted)
    with pytest.raises(ValidationError, match="locked"):
        ledger.reverse_entry(session, posted, date="2026-03-31")
    session.rollback()
    assert posted.state == "posted"
    assert stored(session) == (1, 2, 1)
    reversal = ledger.reverse_entry(session, posted, date="2026-04-01")
    assert reversal.number == "GJ/2026/000002"


def test_a_reversal_with_a_bad_date_is_refused(session, posted):
    with pytest.raises(ValidationError) as refused:
        ledger.reverse_entry(session, posted, date="someday")
    assert refused.value.fields == {"date": ["must be a date (YYYY-MM-DD)"]}
    assert posted.state == "posted"


# --- bulk posting -----------------------------------------------------------------------------------


def test_bulk_posting_numbers_entries_consecutively_in_input_order(session, books):
    ledger.post_entry(session, sale("1.00"))
    amounts = [f"{n}.{n:02d}" for n in range(1, 21)]
    ids = ledger.post_entries(
        session, [sale(a, date=f"2026-04-{(20 - i):02d}") for i, a in enumerate(amounts)]
    )
    session.commit()
    assert len(ids) == 20
    entries = [ledger.get_entry(session, i) for i in ids]
    assert [e.number for e in entries] == [f"GJ/2026/{n:06d}" for n in range(2, 22)]
    assert [e.total_debit for e in entries] == [D(a) for a in amounts]
    assert all(e.state == "posted" and e.posted_at is not None for e in entries)
    assert ledger.post_entry(session, sale("1.00")).number == "GJ/2026/000022"
    assert ledger.post_entries(session, []) == []
    assert stored(session) == (22, 44, 22)


def test_bulk_posting_keeps_a_sequence_per_journal_and_year(session, books):
    ids = ledger.post_entries(
        session,
        [
            sale("1.00", journal="SJ"),
            sale("2.00"),
            sale("3.00", journal="SJ", date="2027-01-03"),
            sale("4.00", journal="SJ"),
            EntryInput(
                "GJ", "2026-05-01", [LineInput("6000", debit="5.00"), LineInput("1000", credit="5.00")]
            ),
        ],
    )
    assert [ledger.get_entry(session, i).number for i in ids] == [
        "SAL/2026/000001",
        "GJ/2026/000001",
        "SAL/2027/000001",
        "SAL/2026/000002",
        "GJ/2026/000002",
    ]


BAD_IN_A_BATCH = [
    (entry(dr("1000", "5.00"), cr("4000", "4.00")), "entry 3: invalid entry: lines unbalanced", "lines"),
    (
        entry(dr("1000", "5.00"), cr("9999", "5.00")),
        "entry 3: invalid entry: lines.1.account",
        "lines.1.account",
    ),
    (sale("5.00", date="2026-01-31"), "entry 3: the period is locked through 2026-01-31", "date"),
]


def test_one_bad_entry_refuses_the_whole_batch(session, books):
    set_lock_date(session, dt.date(2026, 1, 31))
    session.commit()
    for bad, message, field in BAD_IN_A_BATCH:
        with pytest.raises(ValidationError) as refused:
            ledger.post_entries(session, [sale("1.00"), sale("2.00"), bad, sale("4.00")])
        assert refused.value.message.startswith(message)
        assert field in refused.value.fields
        assert stored(session) == (0, 0, 0)
        session.rollback()
        assert stored(session) == (0, 0, 0)
    ids = ledger.post_entries(session, [sale("1.00"), sale("2.00")])
    assert [ledger.get_entry(session, i).number for i in ids] == ["GJ/2026/000001", "GJ/2026/000002"]


# --- balances ----------------------------------------------------------------------------------------


@pytest.fixture
def quarter(session: Session, books: None) -> None:
    """Invoice 100 (Jan), rent 40 (Feb), customer pays 60 (Mar), and an unposted draft of 500."""
    ledger.post_entry(session, sale("100.00", date="2026-01-15"))
    ledger.post_entry(session, entry(dr("6000", "40.00"), cr("1000", "40.00"), date="2026-02-10"))
    ledger.post_entry(session, entry(dr("1000", "60.00"), cr("1200", "60.00"), date="2026-03-05"))
    ledger.create_entry(session, entry(dr("6000", "500.00"), cr("2000", "500.00"), date="2026-01-20"))
    session.commit()


def test_the_trial_balance_sums_posted_entries_per_account(session, quarter):
    tb = ledger.trial_balance(session)
    # The draft's 500 on payables and rent is left out.
    assert balances(tb) == {
        "1000": (D("60.00"), D("40.00")),
        "1200": (D("100.00"), D("60.00")),
        "4000": (D("0.00"), D("100.00")),
        "6000": (D("40.00"), D("0.00")),
    }
    assert tb.total_debit == tb.total_credit == D("200.00")
    assert [(row.code, row.name, row.type, row.balance) for row in tb.rows] == [
        ("1000", "Cash", "asset", D("20.00")),
        ("1200", "Receivables", "asset", D("40.00")),
        ("4000", "Sales", "income", D("-100.00")),
        ("6000", "Rent", "expense", D("40.00")),
    ]


def test_the_trial_balance_as_of_a_date_leaves_out_later_entries(session, quarter):
    february = ledger.trial_balance(session, date_to=dt.date(2026, 2, 28))
    assert balances(february) == {
        "1000": (D("0.00"), D("40.00")),
        "1200": (D("100.00"), D("0.00")),
        "4000": (D("0.00"), D("100.00")),
        "6000": (D("40.00"), D("0.00")),
    }
    assert february.total_debit == february.total_credit == D("140.00")
    # Bounds are inclusive.
    assert ledger.trial_balance(session, date_to=dt.date(2026, 2, 9)).total_debit == D("100.00")
    assert ledger.trial_balance(session, date_to=dt.date(2026, 2, 10)).total_debit == D("140.00")
    assert ledger.trial_balance(session, date_to=dt.date(2025, 12, 31)).rows == []


def test_the_trial_balance_over_a_period(session, quarter):
    spring = ledger.trial_balance(session, date_from=dt.date(2026, 2, 10), date_to=dt.date(2026, 3, 31))
    assert balances(spring) == {
        "1000": (D("60.00"), D("40.00")),
        "1200": (D("0.00"), D("60.00")),
        "6000": (D("40.00"), D("0.00")),
    }
    assert spring.total_debit == spring.total_credit == D("100.00")


def test_an_account_balance_is_debit_minus_credit(session, quarter):
    assert ledger.account_balance(session, "1200") == D("40.00")
    assert ledger.account_balance(session, "4000") == D("-100.00")
    assert ledger.account_balance(session, "1200", date_to=dt.date(2026, 2, 28)) == D("100.00")
    assert ledger.account_balance(session, "2000") == D("0.00")
    cash = ledger.get_account(session, "1000")
    assert ledger.account_balance(session, cash.id) == D("20.00")
    with pytest.raises(NotFound):
        ledger.account_balance(session, "9999")


def test_balances_per_contact(session, books):
    alice = create_contact(session, name="Alice")
    bob = create_contact(session, name="Bob")
    ledger.post_entry(
        session, entry(dr("1200", "100.00", contact_id=alice.id), cr("4000", "100.00"), date="2026-01-10")
    )
    ledger.post_entry(
        session, entry(dr("1200", "30.00", contact_id=bob.id), cr("4000", "30.00"), date="2026-01-11")
    )
    ledger.post_entry(
        session, entry(dr("1000", "75.00"), cr("1200", "75.00", contact_id=alice.id), date="2026-02-01")
    )
    ledger.post_entry(
        session, entry(dr("6000", "12.00", contact_id=bob.id), cr("2000", "12.00", contact_id=bob.id))
    )
    session.commit()
    assert ledger.contact_balances(session, alice.id) == {"1200": D("25.00")}
    assert ledger.contact_balances(session, alice.id, date_to=dt.date(2026, 1, 31)) == {"1200": D("100.00")}
    assert ledger.contact_balances(session, bob.id) == {
        "1200": D("30.00"),
        "2000": D("-12.00"),
        "6000": D("12.00"),
    }
    assert ledger.account_balance(session, "1200", contact_id=alice.id) == D("25.00")
    assert ledger.account_balance(session, "1200", contact_id=bob.id) == D("30.00")
    assert ledger.account_balance(session, "1200") == D("55.00")
    assert ledger.contact_balances(session, 987654) == {}


# --- money --------------------------------------------------------------------------------------------


def test_money_is_decimal_end_to_end_and_sums_are_exact(ext, session, books):
    ledger.post_entry(session, entry(dr("1000", "0.10"), dr("1000", D("0.20")), cr("4000", "0.30")))
    session.commit()
    total = session.scalar(
        select(func.sum(JournalLine.debit)).join(JournalLine.account).where(Account.code == "1000")
    )
    assert_money(total, "0.30")
    cash = ledger.trial_balance(session).rows[0]
    assert cash.code == "1000"
    assert_money(cash.debit, "0.30")
    assert_money(cash.credit, "0.00")
    assert_money(ledger.account_balance(session, "1000"), "0.30")


def test_amounts_read_back_as_decimals_with_two_places(ext, session, books):
    given = [(5, "5.00"), ("7.5", "7.50"), (D("12"), "12.00"), (" 3.10 ", "3.10"), (D("4.000"), "4.00")]
    posted = [ledger.post_entry(session, entry(dr("1000", a), cr("4000", a))) for a, _ in given]
    session.commit()
    for entry_, (_amount, expected) in zip(posted, given, strict=True):
        assert_money(entry_.lines[0].debit, expected)
        assert_money(entry_.lines[1].credit, expected)
        assert_money(entry_.total_debit, expected)
    with ext.db.session(read_only=True) as fresh:
        for entry_, (_amount, expected) in zip(posted, given, strict=True):
            lines = fresh.get(JournalEntry, entry_.id).lines
            assert_money(lines[0].debit, expected)
            assert_money(lines[0].credit, "0.00")
            assert_money(lines[1].credit, expected)


def test_the_largest_amount_is_kept_to_the_cent(session, books):
    biggest = "999999999999.99"
    ledger.post_entry(session, entry(dr("1000", biggest), cr("4000", biggest)))
    ledger.post_entry(session, entry(dr("1000", biggest), cr("4000", biggest)))
    session.commit()
    assert ledger.account_balance(session, "1000") == D("1999999999999.98")
    assert ledger.trial_balance(session).total_credit == D("1999999999999.98")


# --- events --------------------------------------------------------------------------------------------


def seen_events(session: Session) -> list[tuple[str, str]]:
    return [tuple(row) for row in session.execute(text("SELECT name, ref FROM notes_seen_event ORDER BY id"))]


def test_entry_posted_reaches_plugins_only_after_commit(ext, session, books):
    session.rollback()  # SQLite: release the write lock before another connection migrates
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.refresh(session)
    ledger.post_entry(session, sale("1.00"))
    assert seen_events(session) == []
    session.rollback()
    assert seen_events(session) == []
    kept = ledger.post_entry(session, sale("2.00"))
    assert seen_events(session) == []
    session.commit()
    assert seen_events(session) == [("entry.created", str(kept.id)), ("entry.posted", str(kept.id))]


def test_bulk_posting_and_reversal_announce_each_entry_after_commit(ext, session, books):
    session.rollback()
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.refresh(session)
    ids = ledger.post_entries(session, [sale("1.00"), sale("2.00")])
    session.commit()
    reversal = ledger.reverse_entry(session, ledger.get_entry(session, ids[0]))
    session.commit()
    assert seen_events(session) == [
        ("entry.posted", str(ids[0])),
        ("entry.posted", str(ids[1])),
        ("entry.posted", str(reversal.id)),
        ("entry.reversed", str(ids[0])),
    ]


# --- permissions --------------------------------------------------------------------------------------


def user_with(session: Session, *permissions: str):
    create_role(session, name="Limited", permissions=permissions)
    return create_user(session, email="limited@example.org", password=None, roles=["Limited"])


def test_a_clerk_may_draft_entries_but_not_post_them(session, books):
    clerk = user_with(session, "ledger.view", "ledger.entry.create")
    set_actor(session, clerk)
    draft = ledger.create_entry(session, sale("10.00"))
    assert draft.created_by_id == clerk.id
    with pytest.raises(PermissionDenied, match="needs ledger.entry.post"):
        ledger.post_entry(session, draft)
    with pytest.raises(PermissionDenied, match="needs ledger.entry.post"):
        ledger.create_entry(session, sale("20.00"), post=True)
    with pytest.raises(PermissionDenied, match="needs ledger.entry.post"):
        ledger.post_entries(session, [sale("30.00")])
    with pytest.raises(PermissionDenied, match="needs ledger.account.manage"):
        ledger.create_account(session, code="9000", name="Suspense", type="asset")
    with pytest.raises(PermissionDenied, match="needs ledger.period.lock"):
        set_lock_date(session, dt.date(2026, 12, 31))
    # Only the draft exists, still unnumbered.
    assert stored(session) == (1, 2, 0)
    assert draft.state == "draft"


def test_reversing_needs_the_right_to_post_too(session, posted):
    set_actor(session, user_with(session, "ledger.view", "ledger.entry.reverse"))
    with pytest.raises(PermissionDenied, match="needs ledger.entry.post"):
        ledger.reverse_entry(session, posted)
    assert posted.state == "posted"
    assert stored(session) == (1, 2, 1)


def test_the_poster_is_recorded(session, books):
    accountant = user_with(session, "ledger.view", "ledger.entry.create", "ledger.entry.post")
    set_actor(session, accountant)
    posted = ledger.post_entry(session, sale("10.00"))
    assert (posted.created_by_id, posted.posted_by_id) == (accountant.id, accountant.id)
    [bulk_id] = ledger.post_entries(session, [sale("5.00")])
    assert ledger.get_entry(session, bulk_id).posted_by_id == accountant.id


# --- a property: the books always balance --------------------------------------------------------------

CODES = [code for code, _name, _type in CHART]
AMOUNTS = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)


@st.composite
def postings(draw: st.DrawFn) -> tuple[dict, bool, Decimal]:
    """An entry with random lines; balanced (and accepted) or not (and refused)."""
    lines = draw(
        st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(["debit", "credit"]), AMOUNTS), max_size=4)
    )
    difference = sum((a if side == "debit" else -a for _c, side, a in lines), D("0.00"))
    balanced = draw(st.booleans())
    code = draw(st.sampled_from(CODES))
    if balanced:
        if difference > 0:
            lines.append((code, "credit", difference))
        elif difference < 0:
            lines.append((code, "debit", -difference))
        if len(lines) < 2:
            amount = draw(AMOUNTS)
            lines += [(code, "debit", amount), (draw(st.sampled_from(CODES)), "credit", amount)]
    else:
        # Push the difference further from zero: it stays unbalanced, with at least one more line.
        off = draw(AMOUNTS)
        lines.append((code, "debit", off) if difference >= 0 else (code, "credit", off))
        if len(lines) < 2:
            other = draw(AMOUNTS)
            lines.append((code, "debit", other))
    day = draw(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)))
    data = entry(*({"account": c, side: a} for c, side, a in lines), date=day)
    amount = sum((a for _c, side, a in lines if side == "debit"), D("0.00"))
    return data, balanced, amount


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(postings(), min_size=1, max_size=8))
def test_the_books_always_balance_whatever_is_posted_or_refused(session, books, batch):
    session.rollback()
    try:
        accepted: list[Decimal] = []
        net = dict.fromkeys(CODES, D("0.00"))
        for data, balanced, amount in batch:
            try:
                with session.begin_nested():
                    posted = ledger.post_entry(session, data)
            except ValidationError as exc:
                assert not balanced, exc.fields
                assert "lines" in exc.fields and exc.fields["lines"][0].startswith("unbalanced")
                continue
            assert balanced
            accepted.append(amount)
            assert posted.number == f"GJ/2026/{len(accepted):06d}"
            for line in data["lines"]:
                net[line["account"]] += line.get("debit", D(0)) - line.get("credit", D(0))
        tb = ledger.trial_balance(session)
        assert tb.total_debit == tb.total_credit == sum(accepted, D("0.00"))
        assert {row.code: row.balance for row in tb.rows} == {
            code: value for code, value in net.items() if code in balances(tb)
        }
        assert all(value == 0 for code, value in net.items() if code not in balances(tb))
        assert stored(session)[0] == len(accepted)
    finally:
        session.rollback()
