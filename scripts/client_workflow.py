"""A seller's day through the generated Python client only; used by scripts/client_check.sh --workflow.

    python scripts/client_workflow.py CLIENT_DIR BASE_URL TOKEN

Creates a customer, a sale with items and a discount, records a payment, confirms, ships and returns it,
lists sales with filters, then reads a 409 and a 400 back as the client's typed error bodies. Any step that
does not get the typed answer it expects fails the run.
"""

import importlib
import pkgutil
import sys
import uuid


def main(root: str, base_url: str, token: str) -> int:
    sys.path.insert(0, root)
    name = next(module.name for module in pkgutil.iter_modules([root]) if module.ispkg)

    def mod(path: str):
        return importlib.import_module(f"{name}.{path}")

    models = mod("models")
    client = mod("client").AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    suffix = uuid.uuid4().hex[:10].upper()

    def step(label: str, value, expected):
        if not isinstance(value, expected):
            raise SystemExit(f"FAIL {label}: expected {expected.__name__}, got {value!r}")
        print(f"ok   {label}")
        return value

    levels = mod("api.stock.v1_stock_list").sync(client=client, page_size=500)
    level = next(
        level for level in step("list stock", levels, models.PaginatedStockLevelList).results if level.available >= 2
    )

    customer = step(
        "create customer",
        mod("api.customers.v1_customers_create").sync(
            client=client, body=models.CustomerRequest(name=f"Client check {suffix}", email="check@example.com")
        ),
        models.Customer,
    )
    body = models.SaleCreateRequest.from_dict(
        {
            "reference": f"POS-{suffix}",
            "customer": customer.id,
            "warehouse": level.warehouse,
            "discount": "10.00",
            "discount_type": "percent",
            "items": [{"variant": level.variant, "quantity": 2, "unit_price": "19.99"}],
        }
    )
    create = mod("api.sales.v1_sales_create")
    sale = step("create sale", create.sync(client=client, body=body, idempotency_key=suffix), models.Sale)
    replay = create.sync_detailed(client=client, body=body, idempotency_key=suffix)
    if replay.parsed.id != sale.id or replay.headers.get("Idempotent-Replayed") != "true":
        raise SystemExit(f"FAIL idempotent replay: {replay.status_code} {replay.headers}")
    print("ok   idempotent replay")
    step(
        "record payment",
        mod("api.sale_payments.v1_sales_payments_create").sync(
            sale.id, client=client, body=models.SalePaymentCreateRequest(amount=sale.grand_total)
        ),
        models.Payment,
    )
    step("confirm", mod("api.sales.v1_sales_confirm_create").sync(sale.id, client=client), models.Sale)
    shipped = step(
        "ship",
        mod("api.sales.v1_sales_ship_create").sync(
            sale.id, client=client, body=models.ShipRequest(tracking_code=f"1Z{suffix}")
        ),
        models.Sale,
    )
    step(
        "return one unit",
        mod("api.sales.v1_sales_returns_create").sync(
            sale.id,
            client=client,
            body=models.ReturnRequest(
                items=[models.ReturnItemRequest(item=shipped.items[0].id, quantity=1)], restock=True
            ),
        ),
        models.Sale,
    )
    listed = step(
        "list with filters",
        mod("api.sales.v1_sales_list").sync(client=client, customer=customer.id, reference=f"POS-{suffix}"),
        models.PaginatedSaleListList,
    )
    if [row.id for row in listed.results] != [sale.id]:
        raise SystemExit(f"FAIL list with filters: {listed.results!r}")

    conflict = step(
        "409 as ConflictResponse",
        mod("api.sales.v1_sales_confirm_create").sync(sale.id, client=client),
        models.ConflictResponse,
    )
    print(f"     {conflict.errors[0].code}: {conflict.errors[0].detail}")
    bad = models.SaleCreateRequest.from_dict({"items": [{"variant": level.variant, "quantity": 0}]})
    invalid = step("400 as BadRequestResponse", create.sync(client=client, body=bad), models.BadRequestResponse)
    print(f"     {invalid.errors[0].attr}: {invalid.errors[0].code}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
