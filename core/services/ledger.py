"""The shared double-entry ledger: accounts, journals, entries, numbering, balances.

A posted entry balances (in base currency), carries a gapless number per
journal and fiscal year (``GJ/2026/000123``), is immutable, and is corrected
only by a reversing entry. Balances are computed by SQL aggregation.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, event, func, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import actor_id_of, actor_of, company_id_of, manager_of
from core.db import to_decimal, utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.events import emit
from core.models import (
    ACCOUNT_TYPES,
    ENTRY_STATES,
    Account,
    Company,
    Contact,
    Journal,
    JournalEntry,
    JournalLine,
    NumberSequence,
)
from core.pagination import Page, keyset_page
from core.permissions import check_permission, require_permission
from core.services.companies import fiscal_year
from core.services.duties import check_duty
from core.validation import parse_id

ZERO = Decimal("0.00")
POSTED_STATES = ("posted", "reversed")
AMOUNT_SCALE = 2
MAX_AMOUNT = Decimal("999999999999.99")


# --- inputs -------------------------------------------------------------------------------------


@dataclass
class LineInput:
    """One journal line: an account (code or id) and exactly one of debit or credit."""

    account: str | int
    debit: Decimal | str | int = ZERO
    credit: Decimal | str | int = ZERO
    contact_id: int | None = None
    memo: str = ""


@dataclass
class EntryInput:
    """A journal entry to create or post; ``journal`` is a code or id."""

    journal: str | int
    date: dt.date | str
    lines: Sequence[LineInput | Mapping[str, Any]] = field(default_factory=list)
    memo: str = ""
    source_plugin: str | None = None
    source_ref: str | None = None


@dataclass
class _CleanLine:
    account_id: int
    debit: Decimal
    credit: Decimal
    contact_id: int | None
    memo: str


@dataclass
class _CleanEntry:
    journal: Journal
    date: dt.date
    memo: str
    lines: list[_CleanLine]
    source_plugin: str | None
    source_ref: str | None

    @property
    def total(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)


class _Lookup:
    """Accounts, journals and contacts of one company, loaded once per business action."""

    def __init__(self, session: Session, company_id: int) -> None:
        self.session = session
        self.company_id = company_id
        self._accounts: dict[str | int, Account] | None = None
        self._journals: dict[str | int, Journal] | None = None
        self._contacts: dict[int, bool] = {}

    def account(self, ref: Any) -> Account | None:
        if self._accounts is None:
            rows = self.session.scalars(select(Account).where(Account.company_id == self.company_id)).all()
            self._accounts = {a.code: a for a in rows} | {a.id: a for a in rows}
        return self._accounts.get(ref) if isinstance(ref, str | int) and not isinstance(ref, bool) else None

    def journal(self, ref: Any) -> Journal | None:
        if self._journals is None:
            rows = self.session.scalars(select(Journal).where(Journal.company_id == self.company_id)).all()
            self._journals = {j.code: j for j in rows} | {j.id: j for j in rows}
        return self._journals.get(ref) if isinstance(ref, str | int) and not isinstance(ref, bool) else None

    def load_contacts(self, contact_ids: Iterable[Any]) -> None:
        """Check many lines' contacts with one query (a payroll entry has a line per employee)."""
        wanted = {c for c in contact_ids if c is not None and parse_id(c) == c and c not in self._contacts}
        found: set[int] = set()
        ids = sorted(wanted)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            found.update(
                self.session.scalars(
                    select(Contact.id).where(Contact.id.in_(chunk), Contact.company_id == self.company_id)
                )
            )
        for contact_id in wanted:
            self._contacts[contact_id] = contact_id in found

    def contact_exists(self, contact_id: Any) -> bool:
        if contact_id is None or parse_id(contact_id) != contact_id:
            return False
        if contact_id not in self._contacts:
            found = self.session.scalar(
                select(Contact.id).where(Contact.id == contact_id, Contact.company_id == self.company_id)
            )
            self._contacts[contact_id] = found is not None
        return self._contacts[contact_id]


def _as_input(data: EntryInput | Mapping[str, Any]) -> EntryInput:
    if isinstance(data, EntryInput):
        return data
    if not isinstance(data, Mapping):
        raise ValidationError("an entry must be an object")
    unknown = sorted(set(data) - {"journal", "date", "lines", "memo", "source_plugin", "source_ref"})
    if unknown:
        raise ValidationError("invalid entry", fields={k: ["unknown field"] for k in unknown})
    return EntryInput(
        journal=data.get("journal"),
        date=data.get("date"),
        lines=data.get("lines") or [],
        memo=data.get("memo") or "",
        source_plugin=data.get("source_plugin"),
        source_ref=data.get("source_ref"),
    )


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _parse_amount(value: Any, errors: list[str]) -> Decimal:
    if value is None or value == "":
        return ZERO
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError):
        errors.append("must be a decimal number")
        return ZERO
    if amount < 0:
        errors.append("must not be negative")
    elif amount > MAX_AMOUNT:  # before quantize(), which raises on more than 28 digits
        errors.append("is too large")
    elif amount != amount.quantize(Decimal(1).scaleb(-AMOUNT_SCALE)):
        errors.append(f"must have at most {AMOUNT_SCALE} decimals")
    else:
        return amount.quantize(Decimal(1).scaleb(-AMOUNT_SCALE))  # 5 -> 5.00, as it reads back
    return amount


def _clean_entry(lookup: _Lookup, data: EntryInput | Mapping[str, Any], *, balanced: bool) -> _CleanEntry:
    """Validate an entry; raises ValidationError with ``lines.N.field`` keys."""
    entry = _as_input(data)
    errors: dict[str, list[str]] = {}
    journal = lookup.journal(entry.journal)
    if journal is None:
        errors["journal"] = [f"unknown journal {entry.journal!r}"]
    elif not journal.active:
        errors["journal"] = [f"journal {journal.code} is inactive"]
    date = _parse_date(entry.date)
    if date is None:
        errors["date"] = ["must be a date (YYYY-MM-DD)"]
    memo = entry.memo if isinstance(entry.memo, str) else ""
    if len(memo) > 500:
        errors["memo"] = ["must be at most 500 characters"]
    raw_lines = entry.lines if isinstance(entry.lines, list | tuple) else None
    if raw_lines is None or len(raw_lines) < 2:
        errors["lines"] = ["an entry needs at least two lines"]
        raw_lines = raw_lines or []
    lines: list[_CleanLine] = []
    lookup.load_contacts(
        raw.get("contact_id") if isinstance(raw, Mapping) else getattr(raw, "contact_id", None)
        for raw in raw_lines
    )
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        if isinstance(raw, Mapping):
            unknown = set(raw) - {"account", "debit", "credit", "contact_id", "memo"}
            for key in sorted(unknown):
                errors[f"{prefix}.{key}"] = ["unknown field"]
            raw = LineInput(
                account=raw.get("account"),
                debit=raw.get("debit"),
                credit=raw.get("credit"),
                contact_id=raw.get("contact_id"),
                memo=raw.get("memo") or "",
            )
        elif not isinstance(raw, LineInput):
            errors[prefix] = ["must be an object"]
            continue
        account = lookup.account(raw.account)
        if account is None:
            errors[f"{prefix}.account"] = [f"unknown account {raw.account!r}"]
        elif not account.active:
            errors[f"{prefix}.account"] = [f"account {account.code} is inactive"]
        debit_errors: list[str] = []
        credit_errors: list[str] = []
        debit = _parse_amount(raw.debit, debit_errors)
        credit = _parse_amount(raw.credit, credit_errors)
        if debit_errors:
            errors[f"{prefix}.debit"] = debit_errors
        if credit_errors:
            errors[f"{prefix}.credit"] = credit_errors
        if not debit_errors and not credit_errors and (debit == 0) == (credit == 0):
            errors[f"{prefix}.debit"] = ["give either a debit or a credit (exactly one, not zero)"]
        if raw.contact_id is not None and not lookup.contact_exists(raw.contact_id):
            errors[f"{prefix}.contact_id"] = ["no such contact"]
        line_memo = raw.memo if isinstance(raw.memo, str) else ""
        if len(line_memo) > 500:
            errors[f"{prefix}.memo"] = ["must be at most 500 characters"]
        lines.append(_CleanLine(account.id if account else 0, debit, credit, raw.contact_id, line_memo))
    if not errors and balanced:
        debit_total = sum((line.debit for line in lines), ZERO)
        credit_total = sum((line.credit for line in lines), ZERO)
        if debit_total != credit_total:
            errors["lines"] = [f"unbalanced: debits {debit_total} != credits {credit_total}"]
    if errors:
        raise ValidationError(_summary(errors), fields=errors)
    return _CleanEntry(journal, date, memo, lines, entry.source_plugin, entry.source_ref)


def _summary(errors: dict[str, list[str]]) -> str:
    key, messages = next(iter(errors.items()))
    return f"invalid entry: {key} {messages[0]}"


def _check_lock(company: Company, date: dt.date) -> None:
    if company.lock_date is not None and date <= company.lock_date:
        raise ValidationError(
            f"the period is locked through {company.lock_date.isoformat()}",
            fields={"date": [f"is in a locked period (locked through {company.lock_date.isoformat()})"]},
        )


# --- numbering ----------------------------------------------------------------------------------


def allocate_numbers(session: Session, company_id: int, key: str, year: int, count: int = 1) -> int:
    """Reserve ``count`` consecutive numbers of a gapless sequence; returns the first one.

    The counter row stays locked until the transaction ends, so concurrent
    posters queue on it (PostgreSQL row lock, SQLite write lock) and a rollback
    gives the numbers back: no gaps, no duplicates.
    """
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert_fn(NumberSequence)
        .values(company_id=company_id, key=key, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    last = session.execute(
        update(NumberSequence)
        .where(
            NumberSequence.company_id == company_id, NumberSequence.key == key, NumberSequence.year == year
        )
        .values(last_value=NumberSequence.last_value + count)
        .returning(NumberSequence.last_value)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return last - count + 1


def _entry_number(journal: Journal, year: int, number: int) -> str:
    return f"{journal.prefix}/{year}/{number:06d}"


# --- accounts and journals ----------------------------------------------------------------------


@require_permission("ledger.account.manage")
def create_account(
    session: Session, *, code: str, name: str, type: str, parent: str | int | None = None, active: bool = True
) -> Account:
    """Create an account; codes are unique per company."""
    company_id = company_id_of(session)
    errors: dict[str, list[str]] = {}
    code = code.strip() if isinstance(code, str) else ""
    if not code or len(code) > 20:
        errors["code"] = ["is required (at most 20 characters)"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = ["is required (at most 200 characters)"]
    if type not in ACCOUNT_TYPES:
        errors["type"] = [f"must be one of {', '.join(ACCOUNT_TYPES)}"]
    parent_id = None
    if parent is not None:
        lookup = _Lookup(session, company_id)
        parent_account = lookup.account(parent)
        if parent_account is None:
            errors["parent"] = [f"unknown account {parent!r}"]
        else:
            parent_id = parent_account.id
    if errors:
        raise ValidationError("invalid account", fields=errors)
    exists = session.scalar(select(Account.id).where(Account.company_id == company_id, Account.code == code))
    if exists is not None:
        raise Conflict(f"account {code} exists", fields={"code": ["already in use"]})
    account = Account(
        company_id=company_id, code=code, name=name.strip(), type=type, parent_id=parent_id, active=active
    )
    session.add(account)
    session.flush()
    emit(session, "account.created", {"id": account.id, "code": code})
    return account


@require_permission("ledger.account.manage")
def set_account_active(session: Session, account: Account, active: bool) -> Account:
    account.active = bool(active)
    session.flush()
    return account


@require_permission("ledger.account.manage")
def delete_account(session: Session, account: Account) -> None:
    """Delete an account that nothing refers to; one with postings or sub-accounts is refused."""
    used = session.scalar(select(JournalLine.id).where(JournalLine.account_id == account.id).limit(1))
    if used is not None:
        raise Conflict(
            f"account {account.code} has journal lines; deactivate it instead",
            fields={"account": ["has journal lines; deactivate it instead"]},
        )
    child = session.scalar(select(Account.id).where(Account.parent_id == account.id).limit(1))
    if child is not None:
        raise Conflict(
            f"account {account.code} has sub-accounts",
            fields={"account": ["has sub-accounts; move or delete them first"]},
        )
    try:
        with session.begin_nested():  # a refused delete leaves the caller's transaction usable
            session.delete(account)
    except IntegrityError as exc:  # a plugin's table still points at it (e.g. a tax)
        raise Conflict(
            f"account {account.code} is in use", fields={"account": ["is still referred to"]}
        ) from exc
    emit(session, "account.deleted", {"id": account.id, "code": account.code})


@require_permission("ledger.view")
def get_account(session: Session, ref: str | int) -> Account:
    account = _Lookup(session, company_id_of(session)).account(ref)
    if account is None:
        raise NotFound(f"account {ref} not found")
    return account


@require_permission("ledger.view")
def list_accounts(session: Session, *, active: bool | None = None) -> list[Account]:
    stmt = select(Account).where(Account.company_id == company_id_of(session))
    if active is not None:
        stmt = stmt.where(Account.active.is_(active))
    return list(session.scalars(stmt.order_by(Account.code)))


@require_permission("ledger.account.manage")
def create_journal(session: Session, *, code: str, name: str, prefix: str | None = None) -> Journal:
    """Create a journal; its entries are numbered ``PREFIX/YEAR/NNNNNN`` (prefix defaults to the code)."""
    company_id = company_id_of(session)
    errors: dict[str, list[str]] = {}
    code = code.strip() if isinstance(code, str) else ""
    if not code or len(code) > 20 or "/" in code:
        errors["code"] = ["is required (at most 20 characters, no '/')"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = ["is required (at most 200 characters)"]
    prefix = (prefix or code).strip() if isinstance(prefix or code, str) else code
    if not prefix or len(prefix) > 20 or "/" in prefix:
        errors["prefix"] = ["at most 20 characters, no '/'"]
    if errors:
        raise ValidationError("invalid journal", fields=errors)
    exists = session.scalar(select(Journal.id).where(Journal.company_id == company_id, Journal.code == code))
    if exists is not None:
        raise Conflict(f"journal {code} exists", fields={"code": ["already in use"]})
    journal = Journal(company_id=company_id, code=code, name=name.strip(), prefix=prefix)
    session.add(journal)
    session.flush()
    return journal


@require_permission("ledger.view")
def list_journals(session: Session) -> list[Journal]:
    return list(
        session.scalars(
            select(Journal).where(Journal.company_id == company_id_of(session)).order_by(Journal.code)
        )
    )


# --- entries --------------------------------------------------------------------------------------


@require_permission("ledger.view")
def get_entry(session: Session, entry_id: int) -> JournalEntry:
    entry = session.get(JournalEntry, entry_id) if parse_id(entry_id) == entry_id else None
    if entry is None or entry.company_id != company_id_of(session):
        raise NotFound(f"journal entry {entry_id} not found")
    return entry


@require_permission("ledger.entry.create")
def create_entry(
    session: Session, data: EntryInput | Mapping[str, Any], *, post: bool = False
) -> JournalEntry:
    """Create a draft entry (balance is checked when it is posted), or post it at once."""
    if post:
        check_permission(actor_of(session), "ledger.entry.post")
    company_id = company_id_of(session)
    clean = _clean_entry(_Lookup(session, company_id), data, balanced=post)
    company = session.get(Company, company_id)
    if post:
        # Refuse before anything is written, so a refused posting leaves nothing behind.
        _check_lock(company, clean.date)
    entry = _new_entry(session, company_id, clean)
    if post:
        if not clean.source_plugin and _duties_judged(session):
            # Judged as a draft: whoever creates and posts in one step is its author too.
            check_duty(session, POST_DUTY, entry, amount=clean.total, label=_entry_label(entry))
        # Validated above: number it and insert it posted, instead of a draft then an update
        # (no autoflush, or taking the number would flush the entry as a draft first).
        with session.no_autoflush:
            _mark_posted(session, company, entry)
    session.flush()
    emit(session, "entry.created", {"id": entry.id})
    if post:
        _after_posting(session, [entry])
    return entry


def _mark_posted(session: Session, company: Company, entry: JournalEntry) -> None:
    year = fiscal_year(company, entry.date)
    number = allocate_numbers(session, company.id, f"journal:{entry.journal_id}", year)
    entry.number = _entry_number(entry.journal, year, number)
    entry.state = "posted"
    entry.posted_at = utcnow()
    entry.posted_by_id = actor_id_of(session)


def _new_entry(session: Session, company_id: int, clean: _CleanEntry) -> JournalEntry:
    company = session.get(Company, company_id)
    entry = JournalEntry(
        company_id=company_id,
        journal=clean.journal,
        journal_id=clean.journal.id,
        date=clean.date,
        memo=clean.memo,
        state="draft",
        currency=company.base_currency,
        source_plugin=clean.source_plugin,
        source_ref=clean.source_ref,
        created_by_id=actor_id_of(session),
    )
    entry.lines = _journal_lines(clean, company)
    session.add(entry)
    return entry


def _journal_lines(clean: _CleanEntry, company: Company) -> list[JournalLine]:
    """Lines in the company's base currency (rate 1) from validated input."""
    return [
        JournalLine(
            company_id=company.id,
            account_id=line.account_id,
            contact_id=line.contact_id,
            debit=line.debit,
            credit=line.credit,
            memo=line.memo,
            currency=company.base_currency,
            amount_currency=line.debit - line.credit,
            rate=Decimal(1),
        )
        for line in clean.lines
    ]


@require_permission("ledger.entry.create")
def update_draft(session: Session, entry: JournalEntry, data: EntryInput | Mapping[str, Any]) -> JournalEntry:
    """Replace a draft's header and lines; posted entries cannot change."""
    if entry.state != "draft":
        raise Conflict(f"entry {entry.number} is {entry.state}; reverse it instead of editing")
    clean = _clean_entry(_Lookup(session, entry.company_id), data, balanced=False)
    company = session.get(Company, entry.company_id)
    entry.journal_id, entry.journal = clean.journal.id, clean.journal
    entry.date, entry.memo = clean.date, clean.memo
    entry.lines = _journal_lines(clean, company)
    session.flush()
    return entry


@require_permission("ledger.entry.create")
def delete_draft(session: Session, entry: JournalEntry) -> None:
    if entry.state != "draft":
        raise Conflict(f"entry {entry.number} is {entry.state}; reverse it instead of deleting")
    session.delete(entry)
    session.flush()


@require_permission("ledger.entry.post")
def post_entry(session: Session, entry: JournalEntry | EntryInput | Mapping[str, Any]) -> JournalEntry:
    """Post a draft (or create and post an entry): balanced, unlocked, numbered, then immutable."""
    if not isinstance(entry, JournalEntry):
        return create_entry(session, entry, post=True)
    if entry.state != "draft":
        raise Conflict(f"entry {entry.number} is already {entry.state}")
    company = session.get(Company, entry.company_id)
    lookup = _Lookup(session, entry.company_id)
    _clean_entry(lookup, _entry_as_input(entry), balanced=True)
    _check_lock(company, entry.date)
    if not entry.source_plugin:
        # An entry a plugin posts is judged by that plugin's own action (an invoice, a payroll run).
        check_duty(session, POST_DUTY, entry, amount=entry.total_debit, label=_entry_label(entry))
    _mark_posted(session, company, entry)
    session.flush()
    _after_posting(session, [entry])
    return entry


POST_DUTY = "ledger.entry.post"


def _duties_judged(session: Session) -> bool:
    """Whether an enabled plugin judges duties (``officium_check_duty``); without one a check
    changes nothing, so the create-and-post and bulk paths skip it."""
    manager = manager_of(session)
    return manager is not None and bool(manager.caller("officium_check_duty").get_hookimpls())


def _entry_label(entry: JournalEntry) -> str:
    return f"journal entry {entry.number}" if entry.number else f"draft journal entry #{entry.id}"


def _entry_as_input(entry: JournalEntry) -> EntryInput:
    return EntryInput(
        journal=entry.journal_id,
        date=entry.date,
        memo=entry.memo,
        lines=[
            LineInput(line.account_id, line.debit, line.credit, line.contact_id, line.memo)
            for line in entry.lines
        ],
    )


def _after_posting(session: Session, entries: Iterable[JournalEntry]) -> None:
    manager = manager_of(session)
    for entry in entries:
        if manager is not None:
            manager.hook.officium_entry_posted(entry=entry, session=session)
        emit(
            session,
            "entry.posted",
            {
                "id": entry.id,
                "number": entry.number,
                "journal": entry.journal.code,
                "date": entry.date.isoformat(),
                "amount": str(entry.total_debit),
            },
        )


@require_permission("ledger.entry.post")
def post_entries(session: Session, entries: Iterable[EntryInput | Mapping[str, Any]]) -> list[int]:
    """Bulk path for imports and payroll: validated and inserted with executemany, in chunks.

    Same rules as :func:`post_entry` (balanced, unlocked, gapless numbers). All or
    nothing: one bad entry raises with its index and the caller rolls back.
    Returns the new entries' ids in input order.
    """
    company = session.get(Company, company_id_of(session))
    lookup = _Lookup(session, company.id)
    ids: list[int] = []
    # Streams in chunks so memory does not grow with the batch; the caller's single
    # transaction still makes the whole batch all or nothing.
    numbered = enumerate(entries)
    while chunk := list(itertools.islice(numbered, BULK_CHUNK)):
        cleaned: list[_CleanEntry] = []
        for index, data in chunk:
            try:
                clean = _clean_entry(lookup, data, balanced=True)
                _check_lock(company, clean.date)
            except ValidationError as exc:
                raise ValidationError(f"entry {index + 1}: {exc.message}", fields=exc.fields) from exc
            cleaned.append(clean)
        ids += _insert_posted(session, company, cleaned)
    return ids


BULK_CHUNK = 2000


def _insert_posted(session: Session, company: Company, cleaned: list[_CleanEntry]) -> list[int]:
    """Number and insert validated entries with two executemany statements; returns their ids."""
    # One counter update per journal and fiscal year, numbers handed out in input order.
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, clean in enumerate(cleaned):
        groups[(clean.journal.id, fiscal_year(company, clean.date))].append(index)
    numbers: list[str] = [""] * len(cleaned)
    for (journal_id, year), indexes in sorted(groups.items()):
        first = allocate_numbers(session, company.id, f"journal:{journal_id}", year, len(indexes))
        journal = cleaned[indexes[0]].journal
        for offset, index in enumerate(indexes):
            numbers[index] = _entry_number(journal, year, first + offset)
    now = utcnow()
    actor_id = actor_id_of(session)
    currency = company.base_currency
    entry_rows = [
        {
            "company_id": company.id,
            "journal_id": c.journal.id,
            "number": numbers[i],
            "date": c.date,
            "memo": c.memo,
            "state": "posted",
            "currency": currency,
            "source_plugin": c.source_plugin,
            "source_ref": c.source_ref,
            "reversal_of_id": None,
            "created_by_id": actor_id,
            "posted_by_id": actor_id,
            "posted_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for i, c in enumerate(cleaned)
    ]
    ids = list(
        session.scalars(
            insert(JournalEntry).returning(JournalEntry.id, sort_by_parameter_order=True), entry_rows
        )
    )
    line_rows = [
        {
            "entry_id": entry_id,
            "company_id": company.id,
            "account_id": line.account_id,
            "contact_id": line.contact_id,
            "debit": line.debit,
            "credit": line.credit,
            "memo": line.memo,
            "currency": currency,
            "amount_currency": line.debit - line.credit,
            "rate": Decimal(1),
        }
        for entry_id, c in zip(ids, cleaned, strict=True)
        for line in c.lines
    ]
    session.execute(insert(JournalLine), line_rows)
    if _duties_judged(session) and any(not c.source_plugin for c in cleaned):
        # The rows exist only now; a refusal rolls the whole batch back with the caller.
        totals = {entry_id: c.total for entry_id, c in zip(ids, cleaned, strict=True) if not c.source_plugin}
        manual = list(totals)
        for start in range(0, len(manual), 500):
            chunk = manual[start : start + 500]
            for entry in session.scalars(select(JournalEntry).where(JournalEntry.id.in_(chunk))):
                check_duty(session, POST_DUTY, entry, amount=totals[entry.id], label=_entry_label(entry))
    manager = manager_of(session)
    if manager is not None and manager.caller("officium_entry_posted").get_hookimpls():
        for entry in session.scalars(select(JournalEntry).where(JournalEntry.id.in_(ids))):
            manager.hook.officium_entry_posted(entry=entry, session=session)
    for entry_id, number, c in zip(ids, numbers, cleaned, strict=True):
        emit(
            session,
            "entry.posted",
            {
                "id": entry_id,
                "number": number,
                "journal": c.journal.code,
                "date": c.date.isoformat(),
                "amount": str(c.total),
            },
        )
    return ids


@require_permission("ledger.entry.reverse")
def reverse_entry(
    session: Session, entry: JournalEntry, *, date: dt.date | str | None = None, memo: str | None = None
) -> JournalEntry:
    """Post the mirror of a posted entry (debits and credits swapped) and mark it reversed."""
    check_permission(actor_of(session), "ledger.entry.post")  # before anything changes
    if entry.state != "posted":
        raise Conflict(f"only posted entries can be reversed; this one is {entry.state}")
    reversal_date = _parse_date(date) if date is not None else entry.date
    if reversal_date is None:
        raise ValidationError("invalid date", fields={"date": ["must be a date (YYYY-MM-DD)"]})
    company = session.get(Company, entry.company_id)
    _check_lock(company, reversal_date)
    reversal = JournalEntry(
        company_id=entry.company_id,
        journal_id=entry.journal_id,
        journal=entry.journal,
        date=reversal_date,
        memo=memo if memo is not None else f"Reversal of {entry.number}",
        state="draft",
        currency=entry.currency,
        reversal_of_id=entry.id,
        created_by_id=actor_id_of(session),
        source_plugin=entry.source_plugin,
        source_ref=entry.source_ref,
    )
    reversal.lines = [
        JournalLine(
            company_id=line.company_id,
            account_id=line.account_id,
            contact_id=line.contact_id,
            debit=line.credit,
            credit=line.debit,
            memo=line.memo,
            currency=line.currency,
            amount_currency=-line.amount_currency,
            rate=line.rate,
        )
        for line in entry.lines
    ]
    session.add(reversal)
    session.flush()
    entry.state = "reversed"
    post_entry(session, reversal)
    emit(session, "entry.reversed", {"id": entry.id, "number": entry.number, "reversal_id": reversal.id})
    return reversal


ENTRY_SORTS = {"id": JournalEntry.id, "date": JournalEntry.date, "number": JournalEntry.number}


@require_permission("ledger.view")
def entries_query(
    session: Session,
    *,
    journal: str | None = None,
    state: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Select:
    """The current company's entries, filtered; an unknown journal code is a ValidationError."""
    company_id = company_id_of(session)
    stmt = select(JournalEntry).where(JournalEntry.company_id == company_id)
    if journal:
        found = _Lookup(session, company_id).journal(journal)
        if found is None:
            raise ValidationError("unknown journal", fields={"journal": [f"unknown journal {journal!r}"]})
        stmt = stmt.where(JournalEntry.journal_id == found.id)
    if state:
        if state not in ENTRY_STATES:
            raise ValidationError(
                "invalid state", fields={"state": [f"must be one of {', '.join(ENTRY_STATES)}"]}
            )
        stmt = stmt.where(JournalEntry.state == state)
    if date_from:
        stmt = stmt.where(JournalEntry.date >= date_from)
    if date_to:
        stmt = stmt.where(JournalEntry.date <= date_to)
    return stmt


@require_permission("ledger.view")
def list_entries(
    session: Session,
    *,
    sort: str = "id",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    """One page of entries by keyset (newest first by default); filters as :func:`entries_query`."""
    if sort not in ENTRY_SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(ENTRY_SORTS)}"]})
    return keyset_page(
        session,
        entries_query(session, **filters),
        column=ENTRY_SORTS[sort],
        id_column=JournalEntry.id,
        descending=descending,
        after=after,
        limit=limit,
    )


# --- balances --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        return self.debit - self.credit


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    date_from: dt.date | None
    date_to: dt.date | None

    @property
    def total_debit(self) -> Decimal:
        return sum((r.debit for r in self.rows), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((r.credit for r in self.rows), ZERO)


def _posted_lines_filter(company_id: int, date_from: dt.date | None, date_to: dt.date | None) -> Any:
    conditions = [JournalEntry.company_id == company_id, JournalEntry.state.in_(POSTED_STATES)]
    if date_from is not None:
        conditions.append(JournalEntry.date >= date_from)
    if date_to is not None:
        conditions.append(JournalEntry.date <= date_to)
    return and_(*conditions)


@require_permission("ledger.view")
def trial_balance(
    session: Session, *, date_to: dt.date | None = None, date_from: dt.date | None = None
) -> TrialBalance:
    """Debit and credit totals per account over posted entries, aggregated in SQL."""
    company_id = company_id_of(session)
    sums = (
        select(
            JournalLine.account_id,
            func.sum(JournalLine.debit).label("debit"),
            func.sum(JournalLine.credit).label("credit"),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(_posted_lines_filter(company_id, date_from, date_to))
        .group_by(JournalLine.account_id)
        .subquery()
    )
    stmt = (
        select(Account.id, Account.code, Account.name, Account.type, sums.c.debit, sums.c.credit)
        .join(sums, sums.c.account_id == Account.id)
        .order_by(Account.code)
    )
    rows = [
        TrialBalanceRow(r.id, r.code, r.name, r.type, r.debit or ZERO, r.credit or ZERO)
        for r in session.execute(stmt)
    ]
    return TrialBalance(rows, date_from, date_to)


@require_permission("ledger.view")
def account_balance(
    session: Session, account: str | int, *, date_to: dt.date | None = None, contact_id: int | None = None
) -> Decimal:
    """Debit minus credit of one account (optionally for one contact) over posted entries."""
    company_id = company_id_of(session)
    found = _Lookup(session, company_id).account(account)
    if found is None:
        raise NotFound(f"account {account} not found")
    stmt = (
        select(func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(_posted_lines_filter(company_id, None, date_to), JournalLine.account_id == found.id)
    )
    if contact_id is not None:
        stmt = stmt.where(JournalLine.contact_id == contact_id)
    debit, credit = session.execute(stmt).one()
    return (debit or ZERO) - (credit or ZERO)


@require_permission("ledger.view")
def contact_balances(
    session: Session, contact_id: int, *, date_to: dt.date | None = None
) -> dict[str, Decimal]:
    """Debit minus credit per account code for one contact, e.g. what they owe on receivables."""
    company_id = company_id_of(session)
    stmt = (
        select(Account.code, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(_posted_lines_filter(company_id, None, date_to), JournalLine.contact_id == contact_id)
        .group_by(Account.code)
        .order_by(Account.code)
    )
    return {code: (debit or ZERO) - (credit or ZERO) for code, debit, credit in session.execute(stmt)}


# --- immutability -------------------------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_posted_entries(session: Session, _context: Any, _instances: Any) -> None:
    """A posted entry may only become ``reversed``; its lines never change."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, JournalEntry):
            original = _original(obj, "state")
            if original == "draft":
                continue
            number = _original(obj, "number")  # as posted, even if someone just changed it
            if obj in session.deleted:
                raise Conflict(f"posted entry {number} cannot be deleted; reverse it")
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()} - {"lines"}
            allowed = {"state", "updated_at"} if original == "posted" and obj.state == "reversed" else set()
            if changed - allowed:
                raise Conflict(f"posted entry {number} is immutable; reverse it instead")
        elif isinstance(obj, JournalLine):
            # A line taken out of its entry's collection no longer points at the entry.
            entry = obj.entry or _original(obj, "entry")
            if entry is None and obj.entry_id is not None:
                entry = session.get(JournalEntry, obj.entry_id)
            if entry is not None and _original(entry, "state") != "draft" and _line_changed(obj, session):
                raise Conflict(f"lines of posted entry {entry.number} are immutable")
    for obj in session.new:
        if (
            isinstance(obj, JournalLine)
            and obj.entry is not None
            and obj.entry.id is not None
            and _original(obj.entry, "state") != "draft"
        ):
            raise Conflict(f"lines cannot be added to posted entry {obj.entry.number}")


def _original(obj: Any, key: str) -> Any:
    history = inspect(obj).attrs[key].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, key)


def _line_changed(line: JournalLine, session: Session) -> bool:
    return line in session.deleted or any(a.history.has_changes() for a in inspect(line).attrs)
