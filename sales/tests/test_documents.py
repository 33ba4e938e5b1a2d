"""Generated invoices and credit notes (records.md): numbering, frozen totals, credit notes, invoice_status,
the API's scope and errors, and the PDF."""

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from customers.models import Customer
from inventory.tests.factories import stocked_variant
from sales import services
from sales.document_pdf import render_document_pdf
from sales.errors import InvalidTransition, SaleLocked
from sales.models import DocumentCounter, Sale, SaleDocument, SaleEvent, SaleItem
from sales.services import ItemData, ItemQuantity, NewSale, ReturnLine
from sales.services.documents import allocate_tax_lines, document_number_take, sale_issue_invoice
from sales.tests.factories import TaxRateFactory, UserFactory
from salesproject.errors import ValidationError

pytestmark = pytest.mark.django_db

D = Decimal
SALES = "/api/v1/sales/"
YEAR = timezone.now().year
PDF_DIR = Path(settings.BASE_DIR) / "test-artifacts" / "pdf"


@pytest.fixture
def shirt(warehouse):
    return stocked_variant(50, price=D("10.00"))


@pytest.fixture
def mug(warehouse):
    return stocked_variant(50, price=D("5.00"))


def make_sale(seller, *lines, status="confirmed", **fields) -> Sale:
    items = [line if isinstance(line, ItemData) else ItemData(variant=line[0], quantity=line[1]) for line in lines]
    sale = services.sale_create(seller=seller, data=NewSale(items=items, status=status, **fields), user=seller)
    return Sale.objects.get(pk=sale.pk)


def item_of(sale, variant) -> SaleItem:
    return SaleItem.objects.get(sale=sale, variant=variant)


def frozen(document: SaleDocument) -> tuple:
    document = SaleDocument.objects.get(pk=document.pk)
    lines = [(line.item_id, line.quantity, line.subtotal, line.discount_total, line.tax_total, line.total)
             for line in document.lines.all()]
    return (document.number, document.subtotal, document.discount_total, document.tax_total, document.total,
            document.tax_lines, lines)


def status_of(sale) -> str:
    return Sale.objects.values_list("invoice_status", flat=True).get(pk=sale.pk)


# --- numbering --------------------------------------------------------------------------


def test_numbers_run_per_kind_and_year_without_gaps(db):
    assert [document_number_take(kind="invoice", year=2026)[1] for _ in range(3)] == [
        "INV-2026-000001", "INV-2026-000002", "INV-2026-000003"
    ]
    assert document_number_take(kind="credit_note", year=2026) == (1, "CN-2026-000001")
    assert document_number_take(kind="invoice", year=2027) == (1, "INV-2027-000001")
    assert DocumentCounter.objects.get(kind="invoice", year=2026).last == 3


def test_a_rolled_back_issue_gives_its_number_back(seller, shirt):
    sale = make_sale(seller, (shirt, 2))
    with pytest.raises(ValidationError):
        sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, shirt).pk, quantity=3)])
    document = sale_issue_invoice(sale=sale, user=seller)
    assert document.number == f"INV-{YEAR}-000001"


# --- issuing ----------------------------------------------------------------------------


def test_invoice_of_everything_takes_the_lines_amounts(seller, shirt, mug):
    vat = TaxRateFactory(code="vat20", name="VAT 20%", rate=D("20.00"))
    sale = make_sale(seller, (shirt, 3), (mug, 1), tax=vat)

    document = sale_issue_invoice(sale=sale, user=seller)

    assert (document.kind, document.number, document.currency) == ("invoice", f"INV-{YEAR}-000001", sale.currency)
    assert [(line.sku, line.quantity) for line in document.lines.all()] == [
        (item_of(sale, shirt).sku, 3), (item_of(sale, mug).sku, 1)
    ]
    assert (document.subtotal, document.tax_total, document.total) == (D("35.00"), D("7.00"), D("42.00"))
    assert sum(D(entry["amount"]) for entry in document.tax_lines) == D("7.00")
    assert status_of(sale) == "invoiced"
    event = SaleEvent.objects.filter(sale=sale, type="invoice_attached").last()
    assert event.data["kind"] == "invoice" and event.data["number"] == document.number


def test_invoicing_a_line_in_parts_adds_up_to_the_line_cent_for_cent(seller, shirt):
    sale = make_sale(seller, ItemData(variant=shirt, quantity=3, discount=D("1.00")))
    item = item_of(sale, shirt)  # 30.00 - 1.00 = 29.00: thirds do not divide evenly
    parts = [sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item.pk, quantity=1)])
             for _ in range(3)]
    assert [p.number[-1] for p in parts] == ["1", "2", "3"]
    assert sum(p.total for p in parts) == item.total
    assert sum(p.discount_total for p in parts) == item.discount_total
    assert {p.total for p in parts} <= {D("9.66"), D("9.67")}


def test_partial_invoice_makes_the_sale_partially_invoiced(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 2), (mug, 1))
    sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, shirt).pk, quantity=1)])
    assert status_of(sale) == "partially_invoiced"
    rest = sale_issue_invoice(sale=sale, user=seller)
    assert [(line.item_id, line.quantity) for line in rest.lines.all()] == [
        (item_of(sale, shirt).pk, 1), (item_of(sale, mug).pk, 1)
    ]
    assert status_of(sale) == "invoiced"


def test_more_units_than_left_to_invoice_is_a_400_on_the_quantity(seller, shirt):
    sale = make_sale(seller, (shirt, 2))
    sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, shirt).pk, quantity=1)])
    with pytest.raises(ValidationError) as error:
        sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, shirt).pk, quantity=2)])
    assert error.value.attr == "items.0.quantity"


def test_nothing_left_to_invoice_is_a_400(seller, shirt):
    sale = make_sale(seller, (shirt, 2))
    sale_issue_invoice(sale=sale, user=seller)
    with pytest.raises(ValidationError) as error:
        sale_issue_invoice(sale=sale, user=seller)
    assert error.value.attr == "items"


@pytest.mark.parametrize("status", ["draft", "pending"])
def test_an_unconfirmed_sale_cannot_be_invoiced(seller, shirt, status):
    sale = make_sale(seller, (shirt, 1), status=status)
    with pytest.raises(InvalidTransition):
        sale_issue_invoice(sale=sale, user=seller)


def test_a_locked_sale_cannot_be_invoiced(seller, staff, shirt):
    sale = make_sale(seller, (shirt, 1))
    services.sale_lock_for_review(sale=sale, user=staff, reason="fraud check")
    with pytest.raises(SaleLocked):
        sale_issue_invoice(sale=sale, user=seller)
    assert not SaleDocument.objects.exists()


def test_tax_lines_are_shared_by_largest_remainder():
    sale = Sale(currency="EUR", tax_lines=[
        {"code": "a", "name": "A", "jurisdiction": "", "rate": "10.00", "amount": "1.00"},
        {"code": "b", "name": "B", "jurisdiction": "", "rate": "10.00", "amount": "1.00"},
        {"code": "c", "name": "C", "jurisdiction": "", "rate": "10.00", "amount": "1.00"},
    ])
    shares = allocate_tax_lines(sale, D("1.00"))
    assert sorted(entry["amount"] for entry in shares) == ["0.33", "0.33", "0.34"]


# --- frozen, and credit notes -----------------------------------------------------------


def test_a_return_of_invoiced_units_issues_a_credit_note_and_leaves_the_invoice(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 1))
    invoice = sale_issue_invoice(sale=sale, user=seller)
    before = frozen(invoice)

    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=item_of(sale, shirt).pk, quantity=1)])

    assert frozen(invoice) == before
    note = SaleDocument.objects.get(kind="credit_note")
    assert (note.number, note.credits_id, note.total) == (f"CN-{YEAR}-000001", invoice.pk, D("10.00"))
    assert [(line.item_id, line.quantity) for line in note.lines.all()] == [(item_of(sale, shirt).pk, 1)]
    assert status_of(sale) == "invoiced"  # 3 invoiced - 1 credited = 3 sold - 1 returned


def test_a_return_of_units_not_invoiced_issues_no_credit_note(seller, shirt):
    sale = make_sale(seller, (shirt, 3))
    sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, shirt).pk, quantity=1)])
    services.sale_return(sale=sale, user=seller, lines=[ReturnLine(item=item_of(sale, shirt).pk, quantity=2)])
    assert not SaleDocument.objects.filter(kind="credit_note").exists()
    assert status_of(sale) == "invoiced"  # 1 invoiced of the 1 still sold


def test_a_refund_credits_everything_invoiced(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 2), (mug, 1))
    invoice = sale_issue_invoice(sale=sale, user=seller)
    services.sale_refund(sale=sale, user=None, reason="damaged")
    note = SaleDocument.objects.get(kind="credit_note")
    assert (note.total, note.subtotal, note.tax_total) == (invoice.total, invoice.subtotal, invoice.tax_total)
    assert note.reason == "damaged"
    assert status_of(sale) == "not_invoiced"


def test_a_cancel_credits_everything_invoiced(seller, shirt):
    sale = make_sale(seller, (shirt, 2))
    invoice = sale_issue_invoice(sale=sale, user=seller)
    services.sale_cancel(sale=sale, user=seller)
    note = SaleDocument.objects.get(kind="credit_note")
    assert note.total == invoice.total and note.lines.get().quantity == 2
    assert status_of(sale) == "not_invoiced"


def test_cancelling_invoiced_units_credits_them_at_their_invoiced_price(seller, shirt, mug):
    sale = make_sale(seller, (shirt, 3), (mug, 2))
    invoice = sale_issue_invoice(sale=sale, user=seller)
    before = frozen(invoice)
    services.sale_cancel_items(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, mug).pk, quantity=1)])
    note = SaleDocument.objects.get(kind="credit_note")
    assert (note.total, note.lines.get().quantity) == (D("5.00"), 1)
    assert frozen(invoice) == before
    assert status_of(sale) == "invoiced"


def test_a_later_edit_does_not_change_an_issued_invoice(seller, shirt):
    sale = make_sale(seller, (shirt, 3))
    invoice = sale_issue_invoice(sale=sale, user=seller, lines=[ItemQuantity(item=item_of(sale, shirt).pk, quantity=2)])
    before = frozen(invoice)
    SaleItem.objects.filter(sale=sale).update(unit_price=D("99.00"), total=D("297.00"))
    assert frozen(invoice) == before


# --- API --------------------------------------------------------------------------------


def test_api_issues_lists_and_shows_invoice_status(api_client, seller, shirt, mug):
    sale = make_sale(seller, (shirt, 2), (mug, 1))
    client = api_client(seller)
    url = f"{SALES}{sale.pk}/invoices/"

    first = client.post(url, {"items": [{"item": item_of(sale, shirt).pk, "quantity": 1}]}, format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    assert set(body) == {"id", "kind", "number", "issued_at", "currency", "lines", "subtotal", "discount_total",
                         "tax_total", "tax_lines", "total", "url"}
    assert (body["kind"], body["number"], body["total"]) == ("invoice", f"INV-{YEAR}-000001", "10.00")
    assert body["url"].endswith(f"/sales/{sale.pk}/invoices/{body['id']}/pdf/")
    assert body["lines"][0]["quantity"] == 1 and body["lines"][0]["unit_price"] == "10.00"
    assert client.get(f"{SALES}{sale.pk}/").json()["invoice_status"] == "partially_invoiced"

    assert client.post(url, format="json").status_code == 201  # the rest
    client.post(f"{SALES}{sale.pk}/returns/", {"items": [{"item": item_of(sale, mug).pk, "quantity": 1}]},
                format="json")
    listed = client.get(url)
    assert listed.status_code == 200
    assert [(d["kind"], d["number"]) for d in listed.json()] == [
        ("invoice", f"INV-{YEAR}-000001"), ("invoice", f"INV-{YEAR}-000002"), ("credit_note", f"CN-{YEAR}-000001")
    ]
    assert client.get(f"{SALES}{sale.pk}/").json()["invoice_status"] == "invoiced"

    pdf = client.get(body["url"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_api_errors(api_client, seller, staff, shirt):
    sale = make_sale(seller, (shirt, 2))
    client = api_client(seller)
    url = f"{SALES}{sale.pk}/invoices/"

    too_many = client.post(url, {"items": [{"item": item_of(sale, shirt).pk, "quantity": 3}]}, format="json")
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["attr"] == "items.0.quantity"
    unknown = client.post(url, {"items": [{"item": item_of(sale, shirt).pk, "quantity": 1}], "x": 1}, format="json")
    assert unknown.status_code == 400

    pending = make_sale(seller, (shirt, 1), status="pending")
    refused = client.post(f"{SALES}{pending.pk}/invoices/", format="json")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "invalid_transition"

    services.sale_lock_for_review(sale=sale, user=staff)
    locked = client.post(url, format="json")
    assert locked.status_code == 409 and locked.json()["errors"][0]["code"] == "sale_locked"


def test_another_sellers_documents_are_404(api_client, seller, shirt):
    sale = make_sale(seller, (shirt, 1))
    document = sale_issue_invoice(sale=sale, user=seller)
    other = api_client(UserFactory())
    assert other.get(f"{SALES}{sale.pk}/invoices/").status_code == 404
    assert other.post(f"{SALES}{sale.pk}/invoices/", format="json").status_code == 404
    assert other.get(f"{SALES}{sale.pk}/invoices/{document.pk}/pdf/").status_code == 404
    # A document of another sale is not found under this one.
    mine = make_sale(seller, (shirt, 1))
    assert api_client(seller).get(f"{SALES}{mine.pk}/invoices/{document.pk}/pdf/").status_code == 404


def test_idempotency_key_issues_once(api_client, seller, shirt):
    sale = make_sale(seller, (shirt, 2))
    client = api_client(seller)
    headers = {"HTTP_IDEMPOTENCY_KEY": "issue-once-1"}
    first = client.post(f"{SALES}{sale.pk}/invoices/", format="json", **headers)
    again = client.post(f"{SALES}{sale.pk}/invoices/", format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"]
    assert SaleDocument.objects.count() == 1


def test_a_sale_with_a_document_cannot_be_deleted(api_client, seller, shirt):
    sale = make_sale(seller, (shirt, 1))
    sale_issue_invoice(sale=sale, user=seller)
    services.sale_cancel(sale=sale, user=seller)  # deletable status; its credit note is history too
    response = api_client(seller).delete(f"{SALES}{sale.pk}/")
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "sale_has_history"
    assert Sale.objects.filter(pk=sale.pk).exists()


# --- PDF --------------------------------------------------------------------------------


def test_pdf_shows_the_number_and_an_accented_customer(seller, shirt):
    customer = Customer.objects.create(name="Zoë Łukasiewicz", email="zoe@example.com")
    address = {"name": "Zoë Łukasiewicz", "line1": "ul. Żółkiewskiego 5", "city": "Kraków", "postal_code": "31-000",
               "country": "PL"}
    sale = make_sale(seller, (shirt, 2), customer=customer, billing_address=address, shipping_address=address)
    document = sale_issue_invoice(sale=sale, user=seller)

    content = render_document_pdf(SaleDocument.objects.get(pk=document.pk))

    assert content.startswith(b"%PDF")
    assert document.number.encode() in content  # the document title (metadata) is not compressed
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not on PATH: the PDF is not rendered to PNG")
    PDF_DIR.mkdir(parents=True, exist_ok=True)
    (PDF_DIR / "invoice.pdf").write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(PDF_DIR / "invoice.pdf"),
                    str(PDF_DIR / "invoice")], check=True, timeout=60)
    assert (PDF_DIR / "invoice.png").stat().st_size > 1000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(PDF_DIR / "invoice.pdf"), "-"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
        assert "Zoë Łukasiewicz" in text and document.number in text


# --- admin ------------------------------------------------------------------------------


def test_admin_issues_an_invoice_and_links_its_pdf(boss_client, seller, shirt):
    from django.urls import reverse

    sale = make_sale(seller, (shirt, 2))
    page = boss_client.get(reverse("admin:sales_sale_change", args=[sale.pk]))
    issue_url = reverse("admin:sales_sale_issue_invoice", args=[sale.pk])
    assert page.status_code == 200 and issue_url in page.content.decode()

    response = boss_client.post(issue_url, {})
    assert response.status_code == 302
    document = SaleDocument.objects.get(sale=sale)
    page = boss_client.get(reverse("admin:sales_sale_change", args=[sale.pk])).content.decode()
    pdf_url = reverse("admin:sales_sale_document_pdf", args=[sale.pk, document.pk])
    assert pdf_url in page and document.number in page and issue_url not in page  # nothing left to invoice
    pdf = boss_client.get(pdf_url)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
