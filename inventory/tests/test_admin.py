"""The catalogue, warehouse and stock admin, driven with the Django test client as a logged-in staff user."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from inventory import services
from inventory.filters import StockLevelFilter
from inventory.models import MovementKind, Product, ProductGroup, StockLevel, StockMovement, Variant, Warehouse
from inventory.tests.factories import ProductFactory, ProductGroupFactory, WarehouseFactory, stocked_variant
from sales.services import ItemData
from sales.tests.factories import SaleFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/inventory"


@pytest.fixture
def client(boss_client):
    return boss_client  # signed in as `boss`, a superuser (conftest.py)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def view_only(page: str) -> bool:
    """A change page with a Close button and no Save, Save and continue editing, Save and add another or Delete."""
    saves = any(f'name="{name}"' in page for name in ("_save", "_continue", "_addanother"))
    return not saves and 'class="deletelink"' not in page and 'class="closelink"' in page


def management(prefix: str, total: int, initial: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def variant_row(index: int, *, sku: str, name: str = "", default: bool = False, pk: int | None = None, **extra):
    row = {
        f"variants-{index}-sku": sku,
        f"variants-{index}-name": name,
        f"variants-{index}-attributes": "{}",
        f"variants-{index}-price": "",
        f"variants-{index}-cost_price": "",
    }
    if default:
        row[f"variants-{index}-default"] = "on"
    if pk is not None:
        row[f"variants-{index}-id"] = str(pk)
        # A field with a callable default carries its initial value in a hidden input, as the page renders it.
        row[f"initial-variants-{index}-attributes"] = "{}"
    row.update({f"variants-{index}-{key}": value for key, value in extra.items()})
    return row


def product_form(**fields) -> dict[str, str]:
    return {
        "sku": "TEE",
        "name": "T-shirt",
        "kind": "standard",  # the select's selected option, as the page renders it
        "unit": "pcs",
        "image_url": "",
        "price": "19.90",
        "cost_price": "8.00",
        "product_group": "",
        "active": "on",
        **fields,
    }


def product_change_data(product: Product, *, rows: list[dict], **fields) -> dict[str, str]:
    data = product_form(sku=product.sku, name=product.name, **fields)
    data.update(management("variants", len(rows), product.variants.count()))
    for row in rows:
        data.update(row)
    return data


def adjust(client, levels, **form) -> object:
    data = {"action": "adjust_stock", "_selected_action": [str(level.pk) for level in levels], **form}
    return client.post(f"{ADMIN}/stocklevel/", data)


# --- every page answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "product/",
        "product/?q=SKU",
        "product/?active__exact=1",
        "product/add/",
        "variant/",
        "variant/?q=VAR",
        "variant/?is_default__exact=1",
        "variant/add/",
        "warehouse/",
        "warehouse/?q=MAIN",
        "warehouse/?is_default__exact=1",
        "warehouse/add/",
        "productgroup/",
        "productgroup/?q=group",
        "productgroup/add/",
        "stocklevel/",
        "stocklevel/?q=SKU",
        "stocklevel/?low_stock=yes",
        "stocklevel/?low_stock=no",
        "stockmovement/",
        "stockmovement/?q=factory",
        "stockmovement/?kind__exact=receipt",
    ],
)
def test_list_search_filter_and_add_pages_answer_200(client, warehouse, path):
    stocked_variant(3, product_group=ProductGroupFactory())

    response = client.get(f"{ADMIN}/{path}")

    assert response.status_code == 200
    assert "?e=1" not in response.get("Location", "")


def test_change_pages_answer_200(client, warehouse):
    variant = stocked_variant(3, product_group=ProductGroupFactory())
    level = StockLevel.objects.get(variant=variant)
    movement = StockMovement.objects.get(variant=variant)

    for path in [
        f"product/{variant.product_id}/change/",
        f"variant/{variant.pk}/change/",
        f"warehouse/{warehouse.pk}/change/",
        f"productgroup/{variant.product.product_group_id}/change/",
        f"stocklevel/{level.pk}/change/",
        f"stockmovement/{movement.pk}/change/",
    ]:
        assert client.get(f"{ADMIN}/{path}").status_code == 200, path


@pytest.mark.parametrize("path", ["product/", "stocklevel/", "stockmovement/", "warehouse/"])
def test_a_non_staff_user_is_sent_to_the_login_page(warehouse, path):
    client = Client()
    client.force_login(UserFactory())

    response = client.get(f"{ADMIN}/{path}")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_stock_list_query_count_does_not_grow_with_the_rows(client, warehouse, django_assert_max_num_queries):
    for _ in range(2):
        stocked_variant(3)
    with django_assert_max_num_queries(12) as few:
        client.get(f"{ADMIN}/stocklevel/")
    for _ in range(6):
        stocked_variant(3)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"{ADMIN}/stocklevel/")

    assert response.status_code == 200


# --- products and variants go through the catalogue services ---------------------------------------------------


def test_adding_a_product_without_variants_makes_its_default_variant(client):
    data = {**product_form(), **management("variants", 1, 0), **variant_row(0, sku="")}
    data.pop("variants-0-attributes")

    response = client.post(f"{ADMIN}/product/add/", data)

    assert response.status_code == 302
    product = Product.objects.get(sku="TEE")
    assert [(v.sku, v.name, v.is_default) for v in product.variants.all()] == [("TEE", "T-shirt", True)]


def test_adding_a_product_with_variants_makes_the_marked_one_the_default(client):
    data = {
        **product_form(),
        **management("variants", 2, 0),
        **variant_row(0, sku="TEE-S", name="S"),
        **variant_row(1, sku="TEE-M", name="M", default=True, price="21.00"),
    }

    response = client.post(f"{ADMIN}/product/add/", data)

    assert response.status_code == 302
    product = Product.objects.get(sku="TEE")
    variants = {v.sku: v for v in product.variants.all()}
    assert set(variants) == {"TEE-S", "TEE-M"}
    assert [sku for sku, v in variants.items() if v.is_default] == ["TEE-M"]
    assert str(variants["TEE-M"].price) == "21.00"


def test_changing_the_default_variant_moves_the_flag(client):
    product = ProductFactory(sku="MUG")
    first = product.variants.get()
    second = services.variant_create(product=product, sku="MUG-BLUE", name="Blue")
    rows = [
        variant_row(0, sku=first.sku, name=first.name, pk=first.pk),
        variant_row(1, sku=second.sku, name=second.name, pk=second.pk, default=True),
    ]

    response = client.post(f"{ADMIN}/product/{product.pk}/change/", product_change_data(product, rows=rows))

    assert response.status_code == 302
    assert list(product.variants.filter(is_default=True).values_list("sku", flat=True)) == ["MUG-BLUE"]


def test_marking_two_default_variants_is_a_form_error_and_changes_nothing(client):
    product = ProductFactory(sku="MUG")
    first = product.variants.get()
    second = services.variant_create(product=product, sku="MUG-BLUE", name="Blue")
    rows = [
        variant_row(0, sku=first.sku, name=first.name, pk=first.pk, default=True),
        variant_row(1, sku=second.sku, name="Renamed", pk=second.pk, default=True),
    ]

    response = client.post(f"{ADMIN}/product/{product.pk}/change/", product_change_data(product, rows=rows))

    assert response.status_code == 200
    assert "Mark one variant as the default" in response.content.decode()
    second.refresh_from_db()
    assert second.name == "Blue"


def test_removing_a_variant_with_stock_history_is_refused(client, warehouse):
    product = ProductFactory(sku="MUG")
    keep = product.variants.get()
    used = services.variant_create(product=product, sku="MUG-BLUE", name="Blue")
    services.stock_receive(variant=used, warehouse=warehouse, quantity=2, reason="count")
    services.stock_adjust(variant=used, warehouse=warehouse, quantity_change=-2, reason="count")
    rows = [
        variant_row(0, sku=keep.sku, name=keep.name, pk=keep.pk, default=True),
        variant_row(1, sku=used.sku, name=used.name, pk=used.pk, DELETE="on"),
    ]

    response = client.post(f"{ADMIN}/product/{product.pk}/change/", product_change_data(product, rows=rows))

    # The admin's own check sees the protected ledger rows first and keeps the form as typed.
    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in response.content.decode()
    assert Variant.objects.filter(pk=used.pk).exists()


def test_editing_product_fields_keeps_the_default_variant_in_step(client):
    product = ProductFactory(sku="CAP", name="Cap")
    variant = product.variants.get()
    rows = [variant_row(0, sku=variant.sku, name=variant.name, pk=variant.pk, default=True)]

    response = client.post(
        f"{ADMIN}/product/{product.pk}/change/",
        {**product_change_data(product, rows=rows), "sku": "CAP2", "price": "12.50"},
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.sku, str(product.price)) == ("CAP2", "12.50")
    # Untouched variant rows: the service's rule applies (the default variant follows the product's sku).
    assert list(product.variants.values_list("sku", "is_default")) == [("CAP2", True)]


def test_deleting_an_unused_product_goes_through_the_service(client):
    product = ProductFactory()

    response = client.post(f"{ADMIN}/product/{product.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()


def test_deleting_the_only_variant_is_refused_with_a_message(client):
    product = ProductFactory()
    variant = product.variants.get()

    response = client.post(f"{ADMIN}/variant/{variant.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert Variant.objects.filter(pk=variant.pk).exists()
    assert any("keeps at least one variant" in text for text in texts(response))


def test_adding_a_default_variant_in_the_variant_admin_moves_the_flag(client):
    product = ProductFactory(sku="HAT")
    data = {
        "product": str(product.pk),
        "sku": "HAT-L",
        "name": "L",
        "attributes": '{"size": "L"}',
        "price": "",
        "cost_price": "",
        "default": "on",
    }

    response = client.post(f"{ADMIN}/variant/add/", data)

    assert response.status_code == 302
    assert list(product.variants.filter(is_default=True).values_list("sku", "attributes")) == [("HAT-L", {"size": "L"})]


def test_unticking_the_default_variant_is_refused_with_a_message(client):
    product = ProductFactory(sku="HAT")
    variant = product.variants.get()
    data = {"sku": variant.sku, "name": variant.name, "attributes": "{}", "price": "", "cost_price": ""}

    response = client.post(f"{ADMIN}/variant/{variant.pk}/change/", data)

    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.is_default
    assert any("always has a default variant" in text for text in texts(response))


def test_the_bulk_delete_action_is_not_offered(client):
    ProductFactory()

    response = client.get(f"{ADMIN}/product/")

    assert "delete_selected" not in response.content.decode()


# --- warehouses and groups ----------------------------------------------------------------------------------


def test_a_new_default_warehouse_takes_the_flag_and_its_country_is_upper_cased(client, warehouse):
    response = client.post(
        f"{ADMIN}/warehouse/add/", {"code": "eu", "name": "Europe", "country": "de", "default": "on"}
    )

    assert response.status_code == 302
    assert list(Warehouse.objects.filter(is_default=True).values_list("code", "country")) == [("eu", "DE")]


def test_deleting_a_product_group_goes_through_the_service(client):
    group = ProductGroupFactory()
    product = ProductFactory(product_group=group)

    response = client.post(f"{ADMIN}/productgroup/{group.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not ProductGroup.objects.filter(pk=group.pk).exists()
    product.refresh_from_db()
    assert product.product_group is None


# --- stock levels: read-only, changed only by the adjust action ------------------------------------------------


def test_stock_levels_cannot_be_added_changed_or_deleted_by_hand(client, warehouse):
    level = StockLevel.objects.get(variant=stocked_variant(4))

    assert client.get(f"{ADMIN}/stocklevel/add/").status_code == 403
    assert client.post(f"{ADMIN}/stocklevel/{level.pk}/change/", {"on_hand": "400"}).status_code == 403
    assert client.post(f"{ADMIN}/stocklevel/{level.pk}/delete/", {"post": "yes"}).status_code == 403
    assert view_only(client.get(f"{ADMIN}/stocklevel/{level.pk}/change/").content.decode())
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (4, 0)


def test_stock_list_shows_on_hand_reserved_and_available(client, warehouse):
    variant = stocked_variant(10, sku="ROW")
    SaleFactory(items=[ItemData(variant=variant, quantity=3)])

    response = client.get(f"{ADMIN}/stocklevel/?q=ROW")

    row = response.context["cl"].result_list[0]
    assert (row.on_hand, row.reserved, row.available) == (10, 3, 7)
    assert "column-available" in response.content.decode()


def test_low_stock_filter_applies_the_apis_rule(client, warehouse):
    at = stocked_variant(5, sku="AT-THRESHOLD")
    above = stocked_variant(6, sku="ABOVE")
    reserved = stocked_variant(8, sku="RESERVED")
    SaleFactory(items=[ItemData(variant=reserved, quantity=3)])  # 8 on hand, 3 reserved: 5 available

    response = client.get(f"{ADMIN}/stocklevel/?low_stock=yes")

    shown = {level.variant.sku for level in response.context["cl"].result_list}
    assert shown == {"AT-THRESHOLD", "RESERVED"}
    api_rule = StockLevelFilter({"low_stock": "true"}, queryset=StockLevel.objects.all()).qs
    assert shown == {level.variant.sku for level in api_rule}
    assert above.sku not in shown and at.sku in shown


def test_adjust_stock_asks_for_a_change_and_a_reason_first(client, warehouse):
    level = StockLevel.objects.get(variant=stocked_variant(4, sku="ASK"))

    response = adjust(client, [level])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/action_form.html"
    page = response.content.decode()
    assert 'name="quantity_change"' in page and 'name="reason"' in page and "ASK" in page
    assert StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).count() == 0


def test_adjust_stock_calls_the_service_and_writes_the_ledger(client, boss, warehouse):
    level = StockLevel.objects.get(variant=stocked_variant(4))

    response = adjust(client, [level], apply="yes", quantity_change="-3", reason="broken in transit")

    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (1, 0)
    movement = StockMovement.objects.get(kind=MovementKind.ADJUSTMENT)
    assert (movement.on_hand_change, movement.reason, movement.user) == (-3, "broken in transit", boss)
    assert texts(response) == ["Stock adjusted by -3: 1 done."]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"quantity_change": "0", "reason": "count"}, "must not be zero"),
        ({"quantity_change": "2", "reason": "   "}, "This field is required"),
        ({"quantity_change": "two", "reason": "count"}, "Enter a whole number"),
    ],
)
def test_adjust_stock_with_bad_input_shows_the_form_again(client, warehouse, form, error):
    level = StockLevel.objects.get(variant=stocked_variant(4))

    response = adjust(client, [level], apply="yes", **form)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()


def test_adjusting_below_zero_is_refused_with_a_message_not_a_500(client, warehouse):
    level = StockLevel.objects.get(variant=stocked_variant(2, sku="FEW"))

    response = adjust(client, [level], apply="yes", quantity_change="-5", reason="count")

    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 2
    [message] = texts(response)
    assert "0 done, 1 failed" in message and "FEW" in message and "insufficient_stock" in message


def test_adjusting_several_levels_reports_each_one(client, warehouse):
    plenty = StockLevel.objects.get(variant=stocked_variant(9, sku="PLENTY"))
    few = StockLevel.objects.get(variant=stocked_variant(1, sku="FEW"))

    response = adjust(client, [plenty, few], apply="yes", quantity_change="-4", reason="count")

    plenty.refresh_from_db()
    few.refresh_from_db()
    assert (plenty.on_hand, few.on_hand) == (5, 1)
    [message] = texts(response)
    assert "1 done, 1 failed" in message and "FEW" in message


def test_staff_without_the_stock_permission_cannot_adjust(warehouse):
    level = StockLevel.objects.get(variant=stocked_variant(4))
    clerk = StaffFactory()
    clerk.user_permissions.add(Permission.objects.get(codename="view_stocklevel"))
    client = Client()
    client.force_login(clerk)

    page = client.get(f"{ADMIN}/stocklevel/")
    response = adjust(client, [level], apply="yes", quantity_change="5", reason="count")

    assert page.status_code == 200
    assert "adjust_stock" not in page.content.decode()
    # No action is offered to this user, so the post is just the list again.
    assert response.status_code == 200
    level.refresh_from_db()
    assert level.on_hand == 4
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()


# --- the ledger: append-only ----------------------------------------------------------------------------------


def test_the_ledger_cannot_be_added_changed_or_deleted(client, warehouse):
    stocked_variant(4)
    movement = StockMovement.objects.get()

    assert client.get(f"{ADMIN}/stockmovement/add/").status_code == 403
    assert client.post(f"{ADMIN}/stockmovement/{movement.pk}/change/", {"reason": "x"}).status_code == 403
    assert client.post(f"{ADMIN}/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"{ADMIN}/stockmovement/{movement.pk}/change/").content.decode()
    assert view_only(page)
    movement.refresh_from_db()
    assert movement.reason == "factory"


def test_the_ledger_filters_by_kind_and_warehouse_and_searches_sku_and_reason(client, warehouse):
    other = WarehouseFactory(code="SIDE")
    variant = stocked_variant(4, sku="LEDGER")
    services.stock_receive(variant=variant, warehouse=other, quantity=2, reason="pallet 7")
    services.stock_adjust(variant=variant, warehouse=other, quantity_change=-1, reason="count")

    def shown(query):
        response = client.get(f"{ADMIN}/stockmovement/?{query}")
        return sorted((m.kind, m.warehouse.code, m.reason) for m in response.context["cl"].result_list)

    assert shown(f"warehouse__id__exact={other.pk}") == [
        ("adjustment", "SIDE", "count"),
        ("receipt", "SIDE", "pallet 7"),
    ]
    assert shown("kind__exact=adjustment") == [("adjustment", "SIDE", "count")]
    assert shown("q=pallet") == [("receipt", "SIDE", "pallet 7")]
    assert len(shown("q=LEDGER")) == 3


def test_staff_who_may_not_see_variants_still_edit_the_product(warehouse):
    product = ProductFactory(sku="PEN", name="Pen")
    clerk = StaffFactory()
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "change_product"]))
    client = Client()
    client.force_login(clerk)

    response = client.post(f"{ADMIN}/product/{product.pk}/change/", product_form(sku="PEN", name="Fountain pen"))

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "Fountain pen"
    # The service's rule: a default variant carrying the product's name follows it.
    assert list(product.variants.values_list("name", "is_default")) == [("Fountain pen", True)]
