"""The sales back office in the Django admin, driven as staff drive it: with a logged-in test client.

Pages answer 200, buttons and bulk actions move the sale and its stock
through the services, refusals come back as admin messages (never a 500),
and the change list costs the same number of queries however many sales it shows.
"""

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel
from inventory.services import stock_receive
from inventory.tests.factories import WarehouseFactory, stocked_variant
from sales import services
from sales.csv_io import EXPORT_COLUMNS, write_sales_csv
from sales.models import Carrier, Channel, Invoice, Sale, SaleEvent, SaleItem, TaxRate
from sales.services import ItemData, sale_record_payment
from sales.tests.factories import CarrierFactory, ChannelFactory, StaffFactory, TaxRateFactory, UserFactory
from salesproject.models import IdempotencyKey

pytestmark = pytest.mark.django_db

D = Decimal
CHANGELIST = reverse("admin:sales_sale_changelist")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def admin_user(db):
    return StaffFactory(is_superuser=True)


@pytest.fixture
def client(client, admin_user):
    client.force_login(admin_user)
    return client


def change_url(sale) -> str:
    return reverse("admin:sales_sale_change", args=[sale.pk])


def transition_url(sale, name: str) -> str:
    return reverse("admin:sales_sale_transition", kwargs={"object_id": sale.pk, "transition_name": name})


def level(variant) -> tuple[int, int]:
    """(on_hand, reserved) of the variant in its only warehouse."""
    stock = StockLevel.objects.get(variant=variant)
    return stock.on_hand, stock.reserved


def make_sale(*, quantity: int = 2, stock: int = 10, status: str = "pending", **kwargs) -> Sale:
    variant = stocked_variant(stock)
    sale = services.sale_create(
        seller=kwargs.pop("seller", None) or UserFactory(),
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=quantity)],
            status=status,
            **kwargs,
        ),
    )
    return Sale.objects.get(pk=sale.pk)


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


class FormFields(HTMLParser):
    """What a browser would submit from each POST form of a page, without pressing any button."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, list[str]]] = []
        self.data: dict[str, list[str]] | None = None
        self.select: str | None = None
        self.select_first: str | None = None
        self.selected = False
        self.textarea: str | None = None

    def add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.data = {}
            self.forms.append(self.data)
        if self.data is None:
            return
        name = attrs.get("name")
        kind = attrs.get("type", "text")
        if tag == "input" and name and kind not in ("submit", "button", "file", "image"):
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.add(name, attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self.select, self.select_first, self.selected = name, None, False
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in attrs:
                self.add(self.select, value)
                self.selected = True
        elif tag == "textarea" and name:
            self.textarea = name
            self.add(name, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.data = None
        elif tag == "select" and self.select:
            if not self.selected and self.select_first is not None:
                self.add(self.select, self.select_first)
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea and self.data is not None:
            value = self.data[self.textarea][-1]
            self.data[self.textarea][-1] = value + (data if value else data.removeprefix("\n"))


def form_data(client, url: str) -> dict[str, list[str]]:
    """The fields of the page's main form (the largest POST form; the header's log-out form is another)."""
    response = client.get(url)
    assert response.status_code == 200
    parser = FormFields()
    parser.feed(response.content.decode())
    return max(parser.forms, key=len)


def post_form(client, url: str, changes: dict | None = None, **extra):
    """GET the page, change some fields, POST it back (following the redirect)."""
    data = form_data(client, url)
    for name, value in {**(changes or {}), **extra}.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [str(value)]
    return client.post(url, data, follow=True)


def press(client, sale, transition: str):
    """Press a transition button on the sale page: the change form is submitted as it is, plus the button."""
    return post_form(client, change_url(sale), {"_fsm_transition_to": transition})


def buttons(response) -> list[str]:
    return re.findall(r'name="_fsm_transition_to" value="(\w+)"', response.content.decode())


SAVE_BUTTONS = ("_save", "_continue", "_addanother")  # Save, Save and continue editing, Save and add another


def save_buttons(response) -> list[str]:
    """The Save buttons a change page's submit row offers (a view-only page offers none, only Close)."""
    body = response.content.decode()
    return [name for name in SAVE_BUTTONS if f'name="{name}"' in body]


def offers_delete(response) -> bool:
    return 'class="deletelink"' in response.content.decode()


def run_action(client, action: str, sales, **extra):
    data = {"action": action, "_selected_action": [str(sale.pk) for sale in sales], **extra}
    return client.post(CHANGELIST, data, follow=not extra.get("_no_follow"))


# --- pages, search, filters -------------------------------------------------------------------


def test_sale_list_shows_the_columns_of_the_issue(client):
    channel = ChannelFactory(code="web")
    customer = CustomerFactory(name="Ada Lovelace")
    sale = make_sale(customer=customer, channel=channel)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    body = response.content.decode()
    for header in (
        "Number",
        "Reference",
        "Customer",
        "Seller",
        "Channel",
        "Status",
        "Payment status",
        "Grand total",
        "Created at",
    ):
        assert header in body
    assert sale.reference in body and "Ada Lovelace" in body and "Pending" in body and "Unpaid" in body


@pytest.mark.parametrize(
    "term",
    ["reference", "customer name", "customer email", "item sku", "item name", "part of an email in capitals"],
    ids=lambda term: term.replace(" ", "_"),
)
def test_search_finds_the_sale_by_each_searchable_field(client, term):
    customer = CustomerFactory(name="Grace Hopper", email="grace@example.com")
    sale = make_sale(customer=customer, reference="WEB-1001")
    make_sale(quantity=1)  # another sale that must not match
    query = {
        "reference": "WEB-1001",
        "customer name": "Grace Hopper",
        "customer email": "grace@example.com",
        "item sku": sale.items.get().sku,
        "item name": sale.items.get().name,
        "part of an email in capitals": "GRACE@EXAMPLE",  # as the API's ?search= (sales.selectors.sale_search)
    }[term]

    response = client.get(CHANGELIST, {"q": query})

    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [sale.pk]


def test_search_by_a_sku_on_two_lines_lists_the_sale_once(client):
    variant = stocked_variant(10)
    sale = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=1), ItemData(variant=variant, quantity=2)],
        ),
    )

    response = client.get(CHANGELIST, {"q": variant.sku})

    assert [s.pk for s in response.context["cl"].result_list] == [sale.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"status__exact": "completed"},
        {"payment_status__exact": "paid"},
        {"fulfillment_status__exact": "fulfilled"},
        {"channel__id__exact": "CHANNEL"},
        {"warehouse__id__exact": "WAREHOUSE"},
    ],
    ids=["status", "payment_status", "fulfillment_status", "channel", "warehouse"],
)
def test_each_filter_answers_200_and_keeps_only_matching_sales(client, params):
    second = WarehouseFactory(code="WH2")
    channel = ChannelFactory(code="pos")
    match = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5, warehouse=second), quantity=1)],
            status="completed",
            channel=channel,
            warehouse=second,
        ),
    )
    sale_record_payment(sale=match, amount=match.grand_total)
    make_sale()  # pending, unpaid, unfulfilled, no channel, default warehouse
    value = {"CHANNEL": str(channel.pk), "WAREHOUSE": str(second.pk)}
    params = {key: value.get(v, v) for key, v in params.items()}

    response = client.get(CHANGELIST, params)

    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [match.pk]


def test_date_hierarchy_drills_down_to_the_day(client):
    sale = make_sale()
    day = sale.created_at

    for params in (
        {},
        {"created_at__year": day.year},
        {"created_at__year": day.year, "created_at__month": day.month},
        {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day},
    ):
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200
        assert [s.pk for s in response.context["cl"].result_list] == [sale.pk]
    response = client.get(CHANGELIST, {"created_at__year": day.year - 1})
    assert response.status_code == 200 and list(response.context["cl"].result_list) == []


def test_sale_list_query_count_does_not_grow_with_the_number_of_sales(client):
    channel, customer = ChannelFactory(), CustomerFactory()

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CHANGELIST).status_code == 200
        return len(queries)

    for _ in range(2):
        make_sale(channel=channel, customer=customer)
    few = count()
    for _ in range(8):
        make_sale(channel=ChannelFactory(), customer=CustomerFactory())
    many = count()

    assert many == few
    assert few <= 8  # session, user, 2 filter choices, count, rows with their relations, 2 for the date hierarchy


def test_sale_page_costs_at_most_one_query_more_per_line(client):
    """Each line's variant box shows the variant's name (one query); warehouse and carrier choices are read once."""

    def count(lines: int) -> int:
        sale = services.sale_create(
            seller=UserFactory(),
            data=services.NewSale(
                items=[ItemData(variant=stocked_variant(5), quantity=1) for _ in range(lines)],
            ),
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(change_url(sale)).status_code == 200
        return len(queries)

    one = count(1)
    assert count(6) - one <= 5


def test_change_page_shows_status_totals_and_the_activity_log(client):
    sale = make_sale(quantity=3)

    response = client.get(change_url(sale))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="sale-status">Pending<' in body
    assert str(sale.grand_total) in body
    # the activity log reads as sentences: the submit event is "Submitted by <seller>, 5 Dec 14:02"
    assert "activity log" in body.lower() and f"Submitted by <strong>{sale.seller.username}</strong>" in body
    assert sale.items.get().sku in body


@pytest.mark.parametrize(
    "name", ["channel", "carrier", "taxrate", "invoice"], ids=["channels", "carriers", "taxes", "invoices"]
)
def test_reference_and_invoice_pages_answer_200(client, name):
    ChannelFactory(), CarrierFactory(), TaxRateFactory()
    services.sale_attach_invoice(sale=make_sale(), user=None, content=PDF, filename="a.pdf")

    assert client.get(reverse(f"admin:sales_{name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:sales_{name}_changelist"), {"q": "a"}).status_code == 200
    assert client.get(reverse(f"admin:sales_{name}_add")).status_code == 200


def test_idempotency_keys_are_listed_read_only(client, admin_user):
    key = IdempotencyKey.objects.create(
        user=admin_user, key="k-1", method="POST", path="/api/v1/sales/", request_hash="0" * 64
    )

    assert client.get(reverse("admin:salesproject_idempotencykey_changelist")).status_code == 200
    assert client.get(reverse("admin:salesproject_idempotencykey_add")).status_code == 403
    response = client.get(reverse("admin:salesproject_idempotencykey_change", args=[key.pk]))
    assert response.status_code == 200 and 'name="_save"' not in response.content.decode()
    assert save_buttons(response) == []


def test_invoice_pages_offer_no_save_and_no_delete(client):
    invoice = services.sale_attach_invoice(sale=make_sale(), user=None, content=PDF, filename="a.pdf")

    response = client.get(reverse("admin:sales_invoice_change", args=[invoice.pk]))

    assert response.status_code == 200
    assert save_buttons(response) == [] and not offers_delete(response)
    assert 'class="closelink"' in response.content.decode()


@pytest.mark.parametrize("name", ["accessattempt", "accesslog", "accessfailurelog"])
def test_the_login_records_of_axes_are_view_only(client, name):
    fields = {
        "user_agent": "pytest",
        "ip_address": "10.0.0.1",
        "username": "mallory",
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    record = {
        "accessattempt": lambda: AccessAttempt.objects.create(
            **fields, get_data="", post_data="", failures_since_start=1
        ),
        "accesslog": lambda: AccessLog.objects.create(**fields),
        "accessfailurelog": lambda: AccessFailureLog.objects.create(**fields),
    }[name]()
    url = reverse(f"admin:axes_{name}_change", args=[record.pk])

    response = client.get(url)

    assert response.status_code == 200 and "mallory" in response.content.decode()
    assert save_buttons(response) == []
    assert offers_delete(response)  # deleting an attempt is how staff unlock a login
    assert client.post(url, {}).status_code == 403


# --- Save buttons on the sale page ------------------------------------------------------------


def test_a_draft_sale_offers_the_save_buttons_before_its_transitions(client):
    sale = make_sale(status="draft")

    response = client.get(change_url(sale))

    body = response.content.decode()
    assert save_buttons(response) == list(SAVE_BUTTONS) and offers_delete(response)
    assert buttons(response) == ["submit", "cancel"]
    # Pressing Enter in a field presses the form's first submit button: Save, never a transition.
    assert body.index('name="_save"') < body.index('name="_fsm_transition_to"')


@pytest.mark.parametrize("status", ["confirmed", "completed", "refunded", "cancelled"])
def test_a_sale_past_editing_keeps_save_for_its_notes_and_tags_only(client, admin_user, status):
    """`sale_update` takes notes and tags in every status, so Save stays; every other field is read-only."""
    sale = make_sale(status="completed" if status == "refunded" else "confirmed" if status == "cancelled" else status)
    if status == "refunded":
        services.sale_refund(sale=sale, user=admin_user)
    elif status == "cancelled":
        services.sale_cancel(sale=sale, user=admin_user)
    sale.refresh_from_db()
    assert sale.status == status and not sale.is_editable

    response = client.get(change_url(sale))

    assert response.status_code == 200
    assert save_buttons(response) == list(SAVE_BUTTONS)
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"note", "staff_note", "tags"}
    assert not response.context["has_editable_inline_admin_formsets"]
    # Delete only where `sale_delete` would: a cancelled sale without payments or invoices.
    assert offers_delete(response) is (status == "cancelled")
    post_form(client, change_url(sale), {"staff_note": "called the customer"})
    sale.refresh_from_db()
    assert sale.staff_note == "called the customer"


@pytest.mark.parametrize("status", ["draft", "pending", "completed"])
def test_view_only_staff_see_a_sale_without_save_delete_or_transition_buttons(client, status):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_sale"))
    sale = make_sale(status=status)
    client.force_login(viewer)

    response = client.get(change_url(sale))

    assert response.status_code == 200
    assert save_buttons(response) == [] and not offers_delete(response) and buttons(response) == []
    assert 'class="closelink"' in response.content.decode()


# --- transition buttons ----------------------------------------------------------------------


def test_pending_sale_page_shows_exactly_the_transitions_available_to_the_user(client, admin_user):
    sale = make_sale()

    response = client.get(change_url(sale))

    assert buttons(response) == ["confirm", "cancel", "reject"]
    assert sale.available_transitions_for(admin_user) == ["confirmed", "cancelled", "rejected"]
    assert ">Confirm</button>" in response.content.decode()


def test_confirm_button_confirms_the_sale_and_takes_the_units_out_of_stock(client):
    sale = make_sale(quantity=3)
    variant = sale.items.get().variant
    assert level(variant) == (10, 3)

    response = press(client, sale, "confirm")

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == "confirmed" and sale.confirmed_at is not None
    assert level(variant) == (7, 0)
    assert f"Sale {sale.reference} is now confirmed." in texts(response)
    assert 'class="sale-status">Confirmed<' in response.content.decode()
    event = sale.events.filter(type="status_changed").last()
    assert (event.from_status, event.to_status, event.user.is_superuser) == ("pending", "confirmed", True)


def test_submit_button_reserves_the_stock_of_a_draft(client):
    sale = make_sale(quantity=4, status="draft")
    variant = sale.items.get().variant

    press(client, sale, "submit")

    sale.refresh_from_db()
    assert sale.status == "pending"
    assert level(variant) == (10, 4)


def test_complete_button_completes_a_confirmed_sale(client):
    sale = make_sale(status="confirmed")

    press(client, sale, "complete")

    sale.refresh_from_db()
    assert sale.status == "completed" and sale.fulfillment_status == "fulfilled"


def test_ship_button_asks_for_carrier_and_tracking_then_ships(client):
    sale = make_sale(status="confirmed")
    carrier = CarrierFactory(code="dhl", tracking_url_template="https://dhl.example/{tracking_code}")

    response = press(client, sale, "ship")
    assert response.redirect_chain[-1][0] == transition_url(sale, "ship")
    assert 'name="carrier"' in response.content.decode()
    response = client.post(transition_url(sale, "ship"), {"carrier": carrier.pk, "tracking_code": "TRK1"}, follow=True)

    sale.refresh_from_db()
    assert sale.status == "in_delivery"
    item = sale.items.get()
    assert (item.carrier, item.tracking_code, item.tracking_url) == (carrier, "TRK1", "https://dhl.example/TRK1")
    assert response.redirect_chain[-1][0] == change_url(sale)


def test_cancel_button_asks_for_the_reason_then_releases_the_reservation(client):
    sale = make_sale(quantity=2)
    variant = sale.items.get().variant

    response = press(client, sale, "cancel")
    assert response.redirect_chain[-1][0] == transition_url(sale, "cancel")
    assert 'name="reason"' in response.content.decode()
    sale.refresh_from_db()
    assert sale.status == "pending"  # nothing happens before the reason is given

    response = client.post(transition_url(sale, "cancel"), {"reason": "fraud", "note": "stolen card"}, follow=True)

    sale.refresh_from_db()
    assert (sale.status, sale.cancel_reason) == ("cancelled", "fraud")
    assert level(variant) == (10, 0)
    assert sale.events.last().data["note"] == "stolen card"


def test_cancel_without_a_reason_shows_the_form_again(client):
    sale = make_sale()

    response = client.post(transition_url(sale, "cancel"), {"reason": ""})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    sale.refresh_from_db()
    assert sale.status == "pending"


def test_reject_button_asks_for_a_reason_and_releases_the_reservation(client):
    sale = make_sale(quantity=2)
    variant = sale.items.get().variant

    client.post(transition_url(sale, "reject"), {"reason": "address unknown"})

    sale.refresh_from_db()
    assert (sale.status, sale.reject_reason) == ("rejected", "address unknown")
    assert level(variant) == (10, 0)


@pytest.mark.parametrize("restock, stock_after", [(True, (10, 0)), (False, (8, 0))])
def test_refund_asks_whether_to_restock_and_gives_the_money_back(client, restock, stock_after):
    sale = make_sale(quantity=2, status="completed")
    sale_record_payment(sale=sale, amount=sale.grand_total)
    variant = sale.items.get().variant
    assert level(variant) == (8, 0)

    assert client.get(transition_url(sale, "refund")).status_code == 200
    client.post(transition_url(sale, "refund"), {"restock": "on"} if restock else {})

    sale.refresh_from_db()
    assert (sale.status, sale.payment_status, sale.paid_total) == ("refunded", "refunded", D("0.00"))
    assert level(variant) == stock_after
    assert sale.return_status == "full"  # every unit counts as returned; restock decides where they go


def test_insufficient_stock_on_submit_is_a_message_not_a_500(client):
    sale = make_sale(quantity=5, stock=10, status="draft")
    variant = sale.items.get().variant
    services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=8)],
        ),
    )  # leaves 2

    response = press(client, sale, "submit")

    assert response.status_code == 200
    [message] = texts(response)
    assert message.startswith(f"Submit {sale.reference} failed:") and "(insufficient_stock)" in message
    sale.refresh_from_db()
    assert sale.status == "draft"
    assert level(variant) == (10, 8)


def test_a_transition_the_sale_cannot_take_is_a_message(client):
    sale = make_sale()
    variant = sale.items.get().variant

    response = press(client, sale, "complete")  # pending → completed is not a transition

    assert response.status_code == 200
    [message] = texts(response)
    assert "(invalid_transition)" in message
    sale.refresh_from_db()
    assert sale.status == "pending" and level(variant) == (10, 2)


def test_a_transition_form_for_a_transition_not_available_now_redirects_with_a_message(client):
    sale = make_sale(status="draft")

    response = client.get(transition_url(sale, "refund"), follow=True)

    assert response.redirect_chain[-1][0] == change_url(sale)
    assert texts(response) == [f"Refund is not available for sale {sale.reference} (draft)."]


def test_an_unknown_transition_name_is_a_message_not_a_500(client):
    sale = make_sale()

    response = press(client, sale, "save")
    assert response.status_code == 200 and texts(response) == ["There is no transition called 'save'."]
    response = client.post(transition_url(sale, "delete"), follow=True)
    assert response.status_code == 200 and "not available" in texts(response)[0]
    sale.refresh_from_db()
    assert sale.status == "pending"


@pytest.fixture
def sales_clerk(db):
    """Staff who may view and change sales but not refund them."""
    user = StaffFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_sale", "change_sale"]))
    return user


def test_staff_without_the_refund_permission_sees_no_refund_button_and_cannot_refund(client, sales_clerk):
    sale = make_sale(status="completed")
    variant = sale.items.get().variant
    client.force_login(sales_clerk)

    response = client.get(change_url(sale))
    assert response.status_code == 200
    assert buttons(response) == []  # completed: refund is the only transition left, and it is not theirs

    response = client.post(transition_url(sale, "refund"), {"restock": "on"}, follow=True)
    assert texts(response) == ["You may not refund this sale."]
    response = press(client, sale, "refund")
    assert texts(response) == [f"Refund is not available for sale {sale.reference} (completed)."]

    sale.refresh_from_db()
    assert sale.status == "completed" and level(variant) == (8, 0)


def test_staff_with_the_refund_permission_sees_the_refund_button(client, sales_clerk):
    sales_clerk.user_permissions.add(Permission.objects.get(codename="refund_sale"))
    sale = make_sale(status="confirmed")
    client.force_login(sales_clerk)

    assert buttons(client.get(change_url(sale))) == ["ship", "complete", "cancel", "refund"]


def test_view_only_staff_see_no_buttons_and_cannot_open_a_transition_page(client):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_sale"))
    sale = make_sale()
    client.force_login(viewer)

    response = client.get(change_url(sale))

    assert response.status_code == 200 and buttons(response) == []
    assert client.get(transition_url(sale, "cancel")).status_code == 403
    assert client.post(transition_url(sale, "cancel"), {"reason": "other"}).status_code == 403
    sale.refresh_from_db()
    assert sale.status == "pending"


@pytest.mark.parametrize("url", [CHANGELIST, "change", "transition"])
def test_non_staff_users_are_sent_to_the_login_page(client, url):
    sale = make_sale()
    url = {"change": change_url(sale), "transition": transition_url(sale, "cancel")}.get(url, url)
    client.force_login(UserFactory())

    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    response = client.post(url, {"reason": "other", "_fsm_transition_to": "confirm"})
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    sale.refresh_from_db()
    assert sale.status == "pending"


# --- editing a sale and its lines -------------------------------------------------------------


def test_editing_a_line_quantity_reprices_and_moves_the_reservation(client):
    sale = make_sale(quantity=2)
    variant = sale.items.get().variant

    response = post_form(client, change_url(sale), {"items-0-quantity": "5"})

    assert response.status_code == 200
    sale.refresh_from_db()
    item = sale.items.get()
    assert item.quantity == 5 and sale.grand_total == D("50.00")
    assert level(variant) == (10, 5)
    assert sale.events.filter(type="edited").exists()


def test_adding_and_removing_lines_goes_through_the_service(client):
    sale = make_sale(quantity=2)
    first = sale.items.get()
    other = stocked_variant(10)

    post_form(client, change_url(sale), {"items-1-variant": str(other.pk), "items-1-quantity": "3"})
    sale.refresh_from_db()
    assert sorted((item.sku, item.quantity) for item in sale.items.all()) == sorted([(first.sku, 2), (other.sku, 3)])
    assert level(other) == (10, 3)
    assert sale.grand_total == D("50.00")

    data = form_data(client, change_url(sale))
    kept = next(i for i in range(2) if data[f"items-{i}-variant"] == [str(other.pk)])
    post_form(client, change_url(sale), {f"items-{1 - kept}-DELETE": "on"})
    sale.refresh_from_db()
    assert [(item.sku, item.quantity) for item in sale.items.all()] == [(other.sku, 3)]
    assert level(first.variant) == (10, 0)


def test_moving_a_line_to_another_warehouse_moves_its_reservation(client):
    second = WarehouseFactory(code="WH2")
    sale = make_sale(quantity=2)
    item = sale.items.get()
    stock_receive(variant=item.variant, warehouse=second, quantity=5, reason="test")

    post_form(client, change_url(sale), {"items-0-warehouse": str(second.pk)})

    item.refresh_from_db()
    assert item.pk == sale.items.get().pk  # changed in place by sale_update_item, not replaced
    assert item.warehouse == second
    assert StockLevel.objects.get(variant=item.variant, warehouse=second).reserved == 2
    assert StockLevel.objects.get(variant=item.variant, warehouse__code="MAIN").reserved == 0
    assert sale.events.filter(type="item_updated").exists()


def test_editing_a_line_beyond_the_stock_is_a_message_and_changes_nothing(client):
    sale = make_sale(quantity=2, stock=3)
    variant = sale.items.get().variant

    response = post_form(client, change_url(sale), {"items-0-quantity": "9"})

    assert response.status_code == 200
    [message] = texts(response)
    assert message.startswith("Nothing was saved:") and "(insufficient_stock)" in message
    assert sale.items.get().quantity == 2 and level(variant) == (3, 2)


def test_changing_the_order_discount_recomputes_the_totals(client):
    sale = make_sale(quantity=2)  # 2 × 10.00

    post_form(client, change_url(sale), {"discount": "5.00", "discount_type": "fixed"})

    sale.refresh_from_db()
    assert (sale.discount_total, sale.grand_total) == (D("5.00"), D("15.00"))


def test_a_confirmed_sale_only_takes_notes_and_its_lines_are_read_only(client):
    sale = make_sale(quantity=2, status="confirmed")
    variant = sale.items.get().variant
    data = form_data(client, change_url(sale))
    assert "items-0-quantity" not in data and "discount" not in data and "customer" not in data

    response = post_form(client, change_url(sale), {"staff_note": "call before delivery", "items-0-quantity": "7"})

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.staff_note == "call before delivery"
    assert sale.items.get().quantity == 2 and level(variant) == (8, 0)
    assert sale.events.filter(type="note_changed").exists()


def test_saving_an_unchanged_sale_writes_nothing(client):
    sale = make_sale()
    events, updated = sale.events.count(), sale.updated_at

    response = post_form(client, change_url(sale), {"_save": "Save"})

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.events.count() == events and sale.updated_at == updated


def test_the_add_page_creates_a_draft_through_sale_create(client, admin_user):
    variant = stocked_variant(10)
    TaxRateFactory()

    response = post_form(
        client,
        reverse("admin:sales_sale_add"),
        {"items-0-variant": str(variant.pk), "items-0-quantity": "3", "note": "phone order"},
    )

    assert response.status_code == 200
    sale = Sale.objects.get()
    assert (sale.status, sale.seller, sale.note, sale.grand_total) == ("draft", admin_user, "phone order", D("30.00"))
    assert sale.reference.startswith("S-") and sale.warehouse.code == "MAIN"
    assert sale.items.get().sku == variant.sku
    assert level(variant) == (10, 0)  # a draft holds no stock
    assert sale.events.get().type == "created"
    assert response.redirect_chain[-1][0] == CHANGELIST


def test_the_add_page_without_lines_is_a_message(client, warehouse):
    response = post_form(client, reverse("admin:sales_sale_add"), {})

    assert response.status_code == 200
    assert texts(response) == ["Nothing was saved: A sale needs at least one item. (empty)"]
    assert not Sale.objects.exists()


def test_deleting_a_pending_sale_releases_its_reservation(client):
    sale = make_sale(quantity=2)
    variant = sale.items.get().variant

    response = client.post(reverse("admin:sales_sale_delete", args=[sale.pk]), {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert not Sale.objects.filter(pk=sale.pk).exists()
    assert level(variant) == (10, 0)


def test_staff_allowed_to_delete_sales_delete_one_with_its_lines_and_log(client):
    clerk = StaffFactory()
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_sale", "change_sale", "delete_sale"]))
    sale = make_sale(status="draft")
    client.force_login(clerk)

    assert client.get(reverse("admin:sales_sale_delete", args=[sale.pk])).status_code == 200
    client.post(reverse("admin:sales_sale_delete", args=[sale.pk]), {"post": "yes"})

    assert not Sale.objects.filter(pk=sale.pk).exists()


def test_a_sale_with_an_invoice_offers_no_delete_and_keeps_its_history(client):
    clerk = StaffFactory()
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_sale", "change_sale", "delete_sale"]))
    sale = make_sale(status="draft")
    services.sale_attach_invoice(sale=sale, user=None, content=PDF, filename="a.pdf")
    client.force_login(clerk)

    assert client.get(reverse("admin:sales_sale_delete", args=[sale.pk])).status_code == 403
    assert client.post(reverse("admin:sales_sale_delete", args=[sale.pk]), {"post": "yes"}).status_code == 403
    assert Sale.objects.filter(pk=sale.pk).exists() and Invoice.objects.filter(sale=sale).exists()


def test_a_confirmed_sale_cannot_be_deleted(client):
    sale = make_sale(status="confirmed")

    assert client.get(reverse("admin:sales_sale_delete", args=[sale.pk])).status_code == 403
    assert client.post(reverse("admin:sales_sale_delete", args=[sale.pk]), {"post": "yes"}).status_code == 403
    assert Sale.objects.filter(pk=sale.pk).exists()


# --- bulk actions -----------------------------------------------------------------------------


def test_bulk_confirm_confirms_each_sale_and_reports_the_failures(client):
    first, second = make_sale(quantity=1), make_sale(quantity=2)
    draft = make_sale(status="draft")

    response = run_action(client, "confirm_selected", [first, second, draft])

    assert response.status_code == 200
    [message] = texts(response)
    assert message.startswith(f"Confirm: 2 done, 1 failed: {draft.reference}: Cannot confirm a sale that is draft.")
    assert message.endswith("(invalid_transition)")
    assert [Sale.objects.get(pk=s.pk).status for s in (first, second, draft)] == ["confirmed", "confirmed", "draft"]
    assert level(second.items.get().variant) == (8, 0)


def test_bulk_cancel_asks_for_the_reason_first(client):
    sales = [make_sale(quantity=1), make_sale(quantity=3)]

    response = run_action(client, "cancel_selected", sales)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="reason"' in body and all(sale.reference in body for sale in sales)
    assert "<td>Pending</td>" in body and "bound method" not in body
    assert {sale.status for sale in Sale.objects.all()} == {"pending"}


def test_bulk_cancel_with_a_reason_cancels_each_sale_and_releases_stock(client):
    pending, confirmed, completed = (
        make_sale(quantity=1),
        make_sale(quantity=3, status="confirmed"),
        make_sale(status="completed"),
    )

    response = run_action(client, "cancel_selected", [pending, confirmed, completed], reason="customer", apply="1")

    [message] = texts(response)
    assert message.startswith(f"Cancel: 2 done, 1 failed: {completed.reference}:")
    for sale, status in ((pending, "cancelled"), (confirmed, "cancelled"), (completed, "completed")):
        sale.refresh_from_db()
        assert sale.status == status
    assert pending.cancel_reason == confirmed.cancel_reason == "customer"
    assert level(pending.items.get().variant) == (10, 0)
    assert level(confirmed.items.get().variant) == (10, 0)  # put back on hand


def test_bulk_cancel_with_an_invalid_reason_shows_the_page_again(client):
    sale = make_sale()

    response = run_action(client, "cancel_selected", [sale], reason="bored", apply="1")

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    sale.refresh_from_db()
    assert sale.status == "pending"


def test_bulk_mark_shipped_ships_confirmed_sales_only(client):
    confirmed, pending = make_sale(status="confirmed"), make_sale()

    response = run_action(client, "mark_shipped", [confirmed, pending])

    [message] = texts(response)
    assert message.startswith(f"Mark shipped: 1 done, 1 failed: {pending.reference}:")
    confirmed.refresh_from_db()
    assert (confirmed.status, confirmed.fulfillment_status) == ("in_delivery", "fulfilled")
    assert confirmed.shipped_at is not None


def test_bulk_actions_report_success_without_failures(client):
    sales = [make_sale(), make_sale()]

    response = run_action(client, "confirm_selected", sales)

    assert texts(response) == ["Confirm: 2 done, 0 failed."]


def test_csv_export_writes_one_row_per_item_with_the_sale_totals(client):
    variant_a, variant_b = stocked_variant(10), stocked_variant(10)
    two_lines = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[ItemData(variant=variant_a, quantity=1), ItemData(variant=variant_b, quantity=2)],
        ),
    )
    one_line = make_sale(quantity=4)
    make_sale()  # not selected

    response = run_action(client, "export_csv", [two_lines, one_line])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="sales-')
    content = response.content.decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert tuple(rows[0].keys()) == EXPORT_COLUMNS
    assert [(row["reference"], row["item_sku"], row["item_quantity"], row["grand_total"]) for row in rows] == [
        (two_lines.reference, variant_a.sku, "1", "30.00"),
        (two_lines.reference, variant_b.sku, "2", "30.00"),
        (one_line.reference, one_line.items.get().sku, "4", "40.00"),
    ]
    expected = io.StringIO()
    write_sales_csv(Sale.objects.filter(pk__in=[two_lines.pk, one_line.pk]).order_by("pk"), expected)
    assert content == expected.getvalue()


def test_bulk_actions_need_the_change_permission(client):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_sale"))
    sale = make_sale()
    client.force_login(viewer)

    response = run_action(client, "confirm_selected", [sale])

    assert response.status_code == 200  # the action is not offered: Django answers with the list again
    sale.refresh_from_db()
    assert sale.status == "pending"
    assert run_action(client, "export_csv", [sale])["Content-Type"].startswith("text/csv")


# --- invoices and reference data ----------------------------------------------------------------


def test_uploading_an_invoice_attaches_it_through_the_service(client):
    sale = make_sale()

    response = client.post(
        reverse("admin:sales_invoice_add"),
        {"sale": sale.pk, "file": SimpleUploadedFile("bill.pdf", PDF, content_type="application/pdf")},
        follow=True,
    )

    assert response.status_code == 200
    invoice = Invoice.objects.get()
    assert (invoice.sale, invoice.content_type, invoice.original_filename) == (sale, "application/pdf", "bill.pdf")
    assert invoice.number == f"INV-{invoice.pk:06d}"
    assert sale.events.filter(type="invoice_attached").exists()


def test_uploading_a_file_that_is_not_a_pdf_or_image_is_a_message(client):
    sale = make_sale()

    response = client.post(
        reverse("admin:sales_invoice_add"),
        {"sale": sale.pk, "file": SimpleUploadedFile("bill.pdf", b"MZ not a pdf", content_type="application/pdf")},
        follow=True,
    )

    assert response.status_code == 200
    assert texts(response) == ["Nothing was saved: Only PDF, PNG or JPEG files are accepted. (invalid_file_type)"]
    assert not Invoice.objects.exists()


def test_reference_data_is_created_and_changed_through_the_admin(client):
    post_form(client, reverse("admin:sales_channel_add"), {"code": "shop", "name": "Shop", "kind": "pos"})
    post_form(
        client,
        reverse("admin:sales_carrier_add"),
        {"code": "ups", "name": "UPS", "tracking_url_template": "https://ups.example/{tracking_code}"},
    )
    post_form(client, reverse("admin:sales_taxrate_add"), {"code": "vat22", "name": "VAT 22%", "rate": "22.00"})

    assert Channel.objects.get(code="shop").kind == "pos"
    assert Carrier.objects.get(code="ups").tracking_url("X") == "https://ups.example/X"
    tax = TaxRate.objects.get(code="vat22")
    assert tax.rate == D("22.00")

    post_form(client, reverse("admin:sales_taxrate_change", args=[tax.pk]), {"rate": "21.00"})
    tax.refresh_from_db()
    assert tax.rate == D("21.00")


def test_a_tax_rate_used_by_a_sale_is_not_deleted(client):
    tax = TaxRateFactory()
    make_sale(tax=tax)

    response = client.post(reverse("admin:sales_taxrate_delete", args=[tax.pk]), {"post": "yes"})

    assert response.status_code == 200  # Django's "protected objects" page
    assert TaxRate.objects.filter(pk=tax.pk).exists()


def test_an_item_is_never_saved_by_the_admin_directly(client):
    """The read-only inlines carry no editable rows: payments and events come from the services only."""
    sale = make_sale()
    sale_record_payment(sale=sale, amount=D("5.00"))
    events, items = SaleEvent.objects.count(), list(SaleItem.objects.values_list("pk", "quantity"))

    post_form(client, change_url(sale), {"payments-0-amount": "999", "events-0-type": "created"})

    assert SaleEvent.objects.count() == events
    assert list(SaleItem.objects.values_list("pk", "quantity")) == items
    sale.refresh_from_db()
    assert sale.paid_total == D("5.00")
