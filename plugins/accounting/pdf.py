"""Invoice, bill and credit note documents as PDF, drawn with fpdf2 (pure Python, no system libraries).

The PDF holds what the print page shows: the company, the customer or vendor
and their address, number and dates, the lines, a summary per tax and the
totals. Amounts and dates are formatted by the callables the caller passes
(the UI passes its locale-aware ``money`` and ``date`` filters).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

FONT = "Helvetica"
GREY = (241, 245, 249)
INK = (15, 23, 42)
MUTED = (100, 116, 139)

# fpdf2's core fonts (Helvetica) only encode latin-1. Rather than ship a TTF font, text is
# brought into latin-1: typographic punctuation and spaces get their plain equivalents, and
# any other character that cannot be encoded becomes "?". No name, description or locale
# format can then make the PDF fail (the document stays readable, a glyph may be lost).
_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u20ac": "EUR",
        "\u2009": " ",
        "\u202f": " ",
        "\u200b": "",
        "\t": " ",
    }
)


def latin1(value: Any) -> str:
    """``value`` as text the core fonts can draw (see the comment on ``_PLAIN``)."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value)).translate(_PLAIN)
    text = "".join(c for c in text if c == "\n" or ord(c) >= 0x20)
    return text.encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True)
class TaxTotal:
    name: str
    base: Decimal
    amount: Decimal


def tax_summary(invoice: Any) -> list[TaxTotal]:
    """Base and amount per tax of a document's lines, in the order the taxes first appear."""
    totals: dict[int, TaxTotal] = {}
    for line in invoice.lines:
        if line.tax is None:
            continue
        found = totals.get(line.tax.id, TaxTotal(line.tax.name, Decimal("0.00"), Decimal("0.00")))
        totals[line.tax.id] = TaxTotal(found.name, found.base + line.subtotal, found.amount + line.tax_amount)
    return list(totals.values())


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _quantity(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else f"{value:f}".rstrip("0")


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def document_title(kind: str) -> str:
    return {
        "out_invoice": _("Invoice"),
        "in_invoice": _("Vendor bill"),
        "out_refund": _("Credit note"),
        "in_refund": _("Vendor credit note"),
    }.get(kind, _("Invoice"))


def address_lines(contact: Any) -> list[str]:
    """The contact's postal address as printed lines (empty parts left out)."""
    city = " ".join(part for part in (contact.postal_code, contact.city) if part)
    return [part for part in (contact.street, city, contact.country) if part]


def render_invoice_pdf(
    invoice: Any,
    company: Any,
    *,
    money: Callable[[Decimal], str] = _money,
    quantity: Callable[[Decimal], str] = _quantity,
    price: Callable[[Decimal], str] = _money,
    date: Callable[[dt.date | None], str] = _date,
) -> bytes:
    """The document as PDF bytes."""
    pdf = _Document(latin1(f"{company.name} · {invoice.number or _('Draft')}"))
    pdf.set_title(latin1(f"{document_title(invoice.kind)} {invoice.display_number}"))
    pdf.set_author(latin1(company.name))
    pdf.set_creator("Officium")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages()
    pdf.set_text_color(*INK)
    pdf.add_page()
    width = pdf.epw

    # Company and document title.
    pdf.set_font(FONT, "B", 16)
    pdf.cell(width / 2, 9, latin1(company.name))
    pdf.set_font(FONT, "B", 14)
    pdf.cell(width / 2, 9, latin1(document_title(invoice.kind).upper()), align="R")
    pdf.ln(9)
    pdf.set_font(FONT, "", 11)
    pdf.cell(width, 6, latin1(invoice.number or _("Draft")), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    # Partner on the left, dates on the right.
    top = pdf.get_y()
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(width / 2, 5, latin1(_("Bill to") if invoice.is_customer else _("Vendor")).upper())
    pdf.set_text_color(*INK)
    pdf.ln(5)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(width / 2 - 5, 5.5, latin1(invoice.contact.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    for text in [*address_lines(invoice.contact), invoice.contact.email or ""]:
        if text:
            pdf.multi_cell(width / 2 - 5, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()

    pdf.set_y(top)
    facts = [(_("Number"), invoice.number or _("Draft")), (_("Date"), date(invoice.date))]
    if invoice.kind in ("out_invoice", "in_invoice"):
        facts.append((_("Due date"), date(invoice.due_date)))
    if invoice.reference:
        facts.append((_("Reference"), invoice.reference))
    for label, value in facts:
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.set_font(FONT, "", 10)
        pdf.set_text_color(*MUTED)
        pdf.cell(width / 4, 5.5, latin1(label))
        pdf.set_text_color(*INK)
        pdf.multi_cell(width / 4, 5.5, latin1(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)

    # Lines.
    headings = FontFace(emphasis="BOLD", fill_color=GREY)
    pdf.set_font(FONT, "", 10)
    with pdf.table(
        col_widths=(80, 22, 28, 32, 28),
        text_align=("LEFT", "RIGHT", "RIGHT", "LEFT", "RIGHT"),
        headings_style=headings,
        borders_layout="HORIZONTAL_LINES",
        line_height=6,
        padding=1,
    ) as table:
        _row(table, [_("Description"), _("Quantity"), _("Unit price"), _("Tax"), _("Amount")])
        for line in invoice.lines:
            _row(
                table,
                [
                    line.description,
                    quantity(line.quantity),
                    price(line.unit_price),
                    line.tax.name if line.tax else "",
                    money(line.subtotal),
                ],
            )
    pdf.ln(4)

    # Taxes, then totals.
    taxes = tax_summary(invoice)
    if taxes:
        with pdf.table(
            col_widths=(60, 30, 30),
            text_align=("LEFT", "RIGHT", "RIGHT"),
            headings_style=headings,
            borders_layout="HORIZONTAL_LINES",
            line_height=6,
            padding=1,
            width=width * 0.6,
            align="LEFT",
        ) as table:
            _row(table, [_("Tax"), _("Base"), _("Amount")])
            for tax in taxes:
                _row(table, [tax.name, money(tax.base), money(tax.amount)])
        pdf.ln(4)

    totals: list[tuple[str, str, bool]] = [
        (_("Untaxed amount"), money(invoice.untaxed_amount), False),
        (_("Tax"), money(invoice.tax_amount), False),
        (_("Total") + f" ({invoice.currency})", money(invoice.total), True),
    ]
    if invoice.state != "draft" and invoice.paid_amount:
        totals.append((_("Paid"), money(invoice.paid_amount), False))
        totals.append((_("Amount due"), money(invoice.residual), True))
    for label, value, strong in totals:
        pdf.set_x(pdf.l_margin + width * 0.5)
        pdf.set_font(FONT, "B" if strong else "", 11 if strong else 10)
        pdf.cell(width * 0.3, 6.5, latin1(label))
        pdf.cell(width * 0.2, 6.5, latin1(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    if invoice.notes:
        pdf.ln(6)
        pdf.set_font(FONT, "", 9)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(width, 5, latin1(invoice.notes), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)

    return bytes(pdf.output())


class _Document(FPDF):
    """A4 pages with the document's name and the page number at the foot of each page."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(*INK)


def _row(table: Any, cells: Sequence[Any]) -> None:
    row = table.row()
    for cell in cells:
        row.cell(latin1(cell))
