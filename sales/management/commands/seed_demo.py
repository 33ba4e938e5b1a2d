"""Load a small demo business: catalogue, stock, customers and sales across every status."""

import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from customers.models import AddressKind, Customer
from customers.tests.factories import AddressFactory, CustomerFactory
from inventory import services as stock
from inventory.models import Product, Variant
from inventory.tests.factories import ProductGroupFactory, WarehouseFactory
from payments.models import PaymentMethod
from payments.services import payment_record
from sales import services
from sales.models import CancelReason, ChannelKind, Sale
from sales.tests.factories import CarrierFactory, ChannelFactory, TaxRateFactory, UserFactory
from salesproject.errors import DomainError

CATALOGUE = [
    # sku, name, group, price, cost, variants
    ("ESP-01", "Espresso machine", "kitchen", "249.00", "150.00", None),
    ("GRN-01", "Coffee grinder", "kitchen", "89.90", "45.00", None),
    ("KTL-01", "Electric kettle", "kitchen", "39.99", "18.50", None),
    ("MUG-01", "Ceramic mug", "kitchen", "9.50", "3.20", None),
    ("BNS-01", "Coffee beans 1 kg", "grocery", "18.00", "9.00", None),
    ("TEA-01", "Green tea 100 g", "grocery", "6.40", "2.10", None),
    ("TSH-01", "Logo T-shirt", "apparel", "19.99", "7.00", ["S", "M", "L"]),
    ("HOD-01", "Hoodie", "apparel", "49.00", "21.00", ["M", "L"]),
    ("BAG-01", "Tote bag", "apparel", "12.00", "4.00", None),
    ("FLT-01", "Paper filters (100)", "grocery", "4.99", "1.50", None),
]
STATUS_MIX = ["completed"] * 5 + ["confirmed"] * 3 + ["pending"] * 3 + ["draft", "in_delivery", "cancelled",
                                                                        "rejected", "refunded"]


class Command(BaseCommand):
    help = "Load demo data: warehouses, channels, carriers, taxes, a catalogue with stock, customers and sales."

    def add_arguments(self, parser):
        parser.add_argument("--sales", type=int, default=30, help="How many sales to create (default 30).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed, for repeatable data.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has sales."
        )

    def handle(self, *args, sales: int, seed: int, if_empty: bool, **options):
        if sales < 0:
            raise CommandError("--sales must be zero or more.")
        if if_empty and Sale.objects.exists():
            self.stdout.write("The database already has sales; nothing to do (--if-empty).")
            return
        rng = random.Random(seed)
        with transaction.atomic():
            refs = self._reference_data()
            variants = self._catalogue(refs)
            customers = self._customers(rng)
        sellers = [UserFactory(username=name) for name in ("alice", "bob")]
        created, refused = 0, 0
        for _ in tqdm(range(sales), desc="sales", disable=sales < 50 or options["verbosity"] < 1):
            try:
                self._sale(rng, refs, variants, customers, sellers)
                created += 1
            except DomainError:
                refused += 1  # out of stock, for example: a real shop sees that too
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Product.objects.count()} products, {Variant.objects.count()} variants, "
                f"{Customer.objects.count()} customers, {created} new sales ({refused} refused), "
                f"sellers {', '.join(s.username for s in sellers)} (password pass-w0rd!)."
            )
        )

    def _reference_data(self) -> dict:
        return {
            "warehouses": [
                WarehouseFactory(code="MAIN", name="Main warehouse", country="IT", is_default=True),
                WarehouseFactory(code="WEST", name="West coast depot", country="US"),
            ],
            "channels": [
                ChannelFactory(code="pos", name="Shop counter", kind=ChannelKind.POS),
                ChannelFactory(code="web", name="Web shop", kind=ChannelKind.WEB),
                ChannelFactory(code="marketplace", name="Marketplace", kind=ChannelKind.MARKETPLACE),
            ],
            "carriers": [
                CarrierFactory(code="dhl", name="DHL",
                               tracking_url_template="https://www.dhl.com/track?id={tracking_code}"),
                CarrierFactory(code="ups", name="UPS",
                               tracking_url_template="https://www.ups.com/track?tracknum={tracking_code}"),
            ],
            "taxes": [
                TaxRateFactory(code="vat5", name="VAT 5%", rate=Decimal("5.00")),
                TaxRateFactory(code="vat22", name="VAT 22%", rate=Decimal("22.00")),
            ],
        }

    def _catalogue(self, refs) -> list[Variant]:
        variants = []
        for sku, name, group, price, cost, sizes in CATALOGUE:
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                product = stock.product_create(
                    sku=sku, name=name, price=Decimal(price), cost_price=Decimal(cost),
                    product_group=ProductGroupFactory(code=group, name=group.title()),
                    variants=[stock.VariantData(sku=f"{sku}-{size}", name=size, attributes={"size": size})
                              for size in sizes or []],
                )
                for variant in product.variants.all():
                    for warehouse in refs["warehouses"]:
                        stock.stock_receive(variant=variant, warehouse=warehouse, quantity=40, reason="demo stock")
            variants.extend(product.variants.all())
        return variants

    def _customers(self, rng) -> list[Customer]:
        customers = list(Customer.objects.all()[:12])
        for _ in range(12 - len(customers)):
            customer = CustomerFactory()
            AddressFactory(customer=customer, kind=AddressKind.BILLING)
            AddressFactory(customer=customer, kind=AddressKind.SHIPPING, country=rng.choice(["IT", "US", "DE"]))
            customers.append(customer)
        return customers

    def _sale(self, rng, refs, variants, customers, sellers) -> None:
        target = rng.choice(STATUS_MIX)
        create_as = target if target in ("draft", "pending", "confirmed", "completed") else (
            "pending" if target == "rejected" else "confirmed"
        )
        seller = rng.choice(sellers)
        items = [
            services.ItemData(variant=variant, quantity=rng.randint(1, 3))
            for variant in rng.sample(variants, rng.randint(1, 3))
        ]
        channel = rng.choice(refs["channels"])
        sale = services.sale_create(
            seller=seller,
            items=items,
            status=create_as,
            customer=rng.choice(customers) if channel.kind != ChannelKind.POS or rng.random() < 0.3 else None,
            channel=channel,
            warehouse=rng.choice(refs["warehouses"]),
            tax=rng.choice(refs["taxes"]),
            discount=Decimal(rng.choice(["0", "0", "5", "10"])),
            discount_type="percent",
            shipping_cost=Decimal("0.00") if channel.kind == ChannelKind.POS else Decimal("7.50"),
            tags=["demo"],
        )
        if create_as in ("confirmed", "completed"):
            payment_record(sale=sale, amount=sale.grand_total, user=seller,
                           method=rng.choice([PaymentMethod.CASH, PaymentMethod.CARD]))
        if target == "in_delivery":
            services.sale_ship(sale=sale, user=seller, carrier=rng.choice(refs["carriers"]),
                               tracking_code=f"TRK{sale.pk:08d}")
        elif target == "cancelled":
            services.sale_cancel(sale=sale, user=seller, reason=rng.choice(CancelReason.values))
        elif target == "rejected":
            services.sale_reject(sale=sale, user=seller, reason="payment not received")
        elif target == "refunded":
            # Run as the operator (no user): the refund permission is for people.
            services.sale_refund(sale=sale, user=None, restock=rng.random() < 0.5, reason="demo refund")
