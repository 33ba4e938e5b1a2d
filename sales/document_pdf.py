"""Render a generated invoice or credit note as a PDF (fpdf2, pure Python: no browser, no network).

The text is set in Noto Sans, shipped as a TTF by the `fontpkg-noto-sans` package and embedded
(subset) in the file: the PDF core fonts only cover Latin-1, and customers are named "Zoë
Łukasiewicz" too. Everything printed comes from the frozen document and the sale's copies of its
addresses, so printing it again gives the same content.
"""

from fontpkg_noto_sans import ROOT as NOTO_SANS_ROOT
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from sales.models import DocumentKind, SaleDocument
from salesproject.api.representation import money

FONT = "NotoSans"
FONT_FILE = NOTO_SANS_ROOT / "files" / "NotoSans[wdth,wght].ttf"
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")
TITLES = {DocumentKind.INVOICE: "Invoice", DocumentKind.CREDIT_NOTE: "Credit note"}
# Column titles and widths (mm) of the lines table: 190 mm across an A4 page with 10 mm margins.
COLUMNS = (("SKU", 26), ("Item", 58), ("Qty", 12), ("Unit price", 22), ("Discount", 22), ("Tax", 22), ("Total", 28))


def _address_lines(address: dict | None) -> list[str]:
    if not address:
        return ["—"]
    city = " ".join(str(address.get(key) or "") for key in ("postal_code", "city")).strip()
    parts = [address.get("name"), address.get("line1"), address.get("line2"), city,
             address.get("state"), address.get("country"), address.get("phone")]
    return [str(part) for part in parts if part] or ["—"]


def _person(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


def render_document_pdf(document: SaleDocument) -> bytes:
    """The document as PDF bytes: seller, customer, addresses, lines, tax breakdown and totals."""
    sale = document.sale
    currency = document.currency

    def amount(value) -> str:
        return f"{money(value, currency)} {currency}"

    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLES[document.kind]} {document.number}")
    pdf.set_creator("sales backend")
    pdf.add_font(FONT, "", FONT_FILE, variations={"wght": 400})
    pdf.add_font(FONT, "B", FONT_FILE, variations={"wght": 700})
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    pdf.set_font(FONT, "B", 20)
    pdf.cell(0, 10, f"{TITLES[document.kind]} {document.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    facts = [f"Issued: {document.issued_at:%Y-%m-%d %H:%M} UTC", f"Sale: {sale.reference}", f"Currency: {currency}"]
    if document.credits_id:
        facts.append(f"Credits invoice: {document.credits.number}")
    if document.reason:
        facts.append(f"Reason: {document.reason}")
    for fact in facts:
        pdf.cell(0, 5, fact, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    customer = sale.customer
    blocks = [
        ("Seller", [_person(sale.seller), *([sale.store.name] if sale.store_id else [])]),
        ("Customer", [customer.name, customer.email] if customer is not None else ["—"]),
        ("Billing address", _address_lines(sale.billing_address)),
        ("Shipping address", _address_lines(sale.shipping_address)),
    ]
    top = pdf.get_y()
    width = 190 / len(blocks)
    bottom = top
    for index, (title, lines) in enumerate(blocks):
        pdf.set_xy(10 + index * width, top)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(width, 5, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 9)
        for line in lines:
            pdf.multi_cell(width - 2, 4.5, str(line or ""), new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(10, bottom + 6)

    pdf.set_font(FONT, "B", 9)
    pdf.set_fill_color(230, 230, 230)
    for title, col in COLUMNS:
        pdf.cell(col, 7, title, border=1, fill=True, align="L" if title in ("SKU", "Item") else "R")
    pdf.ln()
    pdf.set_font(FONT, "", 9)
    for line in document.lines.all():
        values = (line.sku, line.name, str(line.quantity), money(line.unit_price, currency),
                  money(line.discount_total, currency), money(line.tax_total, currency), money(line.total, currency))
        for (title, col), value in zip(COLUMNS, values, strict=True):
            text = value if pdf.get_string_width(value) < col - 2 else value[: max(int(col / 2), 4)] + "…"
            pdf.cell(col, 6, text, border=1, align="L" if title in ("SKU", "Item") else "R")
        pdf.ln()
    pdf.ln(4)

    label_width, value_width = 50, 40
    if document.tax_lines:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 6, "Tax breakdown", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 9)
        for entry in document.tax_lines:
            rate = f" {entry['rate']}%" if entry.get("rate") else ""
            name = " ".join(str(part) for part in (entry.get("name"), entry.get("jurisdiction")) if part)
            pdf.cell(label_width + 50, 5, f"{name or 'Tax'}{rate}")
            pdf.cell(value_width, 5, amount(entry.get("amount") or 0), align="R", new_x=XPos.LMARGIN,
                     new_y=YPos.NEXT)
        pdf.ln(3)

    totals = [("Subtotal", document.subtotal), ("Discounts", document.discount_total),
              ("Tax", document.tax_total), ("Total credited" if document.kind == DocumentKind.CREDIT_NOTE
                                            else "Total", document.total)]
    for index, (label, value) in enumerate(totals):
        last = index == len(totals) - 1
        pdf.set_font(FONT, "B" if last else "", 11 if last else 10)
        pdf.set_x(200 - label_width - value_width)
        pdf.cell(label_width, 6, label, border="T" if last else 0)
        pdf.cell(value_width, 6, amount(value), border="T" if last else 0, align="R", new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
    return bytes(pdf.output())
