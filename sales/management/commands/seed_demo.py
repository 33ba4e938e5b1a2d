"""Load a small demo business: catalogue, stock, customers and sales across every status.

Reference data, catalogue and customers come from the factory-boy factories in
`<app>/factories.py` (which create products through `product_create`);
stock is received with `stock_receive`, and every sale is made by `sale_create`
and moved on by the transition services, so stock levels, ledger, payments and
activity log are exactly what real use would leave behind (`check_inventory`,
`recalculate_totals` and `reconcile_payments` find nothing to repair).

On top of the random mix, a few fixed "showcase" sales show fulfilments off on
first run: two sent in two parcels with tracking, two pick-ups, one parcel
that is late (the admin's "delayed" filter, `report_delayed_fulfilments`) and
one sale locked for review.

Money: EUR and GBP exchange rates valid from before the first demo sale (each changes twice over the
DAYS days), an "EU web shop" channel selling in EUR from its price list (a 10% tier from 3 units of
groceries and mugs), GBP sales with explicit prices, a Chicago sales tax with state, county, city and
district components on some US sales, the coded promotion WELCOME10 used by a few customers and an
automatic "kitchen month" (10% off kitchen products). Sales are made in the order they were sold, and
the automatic promotion is created when its month begins: sales before it pay full price. All of it
through the services (`exchange_rate_create`, `price_list_create`, `promotion_create`, `tax_rate_create`).
"""

import random
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

import factory.random
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from customers.factories import AddressFactory, CustomerFactory
from customers.models import AddressKind, Customer
from inventory import services as stock
from inventory.factories import ProductFactory, ProductGroupFactory, WarehouseFactory
from inventory.models import Product, ProductGroup, Variant
from payments.models import PaymentMethod
from sales import services
from sales.factories import CarrierFactory, ChannelFactory, TaxRateFactory, UserFactory
from sales.models import (
    CancelReason,
    ChannelKind,
    DeliveryMode,
    ExchangeRate,
    Jurisdiction,
    PaymentMode,
    PriceList,
    Promotion,
    PromotionKind,
    PromotionScope,
    Sale,
    SaleStatus,
    TaxRate,
)
from sales.reference_services import tax_rate_create
from sales.services.exchange_rates import base_currency, exchange_rate_create, rate_at
from sales.services.prices import price_list_create
from sales.services.promotions import promotion_create
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
STOCK_PER_WAREHOUSE = 40
CUSTOMERS = 12
SELLERS = ("alice", "bob")
STATUS_MIX = (
    [SaleStatus.COMPLETED] * 5
    + [SaleStatus.CONFIRMED] * 3
    + [SaleStatus.PENDING] * 3
    + [SaleStatus.DRAFT, SaleStatus.IN_DELIVERY, SaleStatus.CANCELLED, SaleStatus.REJECTED, SaleStatus.REFUNDED]
)
PROGRESS_MIN_SALES = 50
DAYS = 90  # sales are spread over the last DAYS days, so the dashboard's periods and chart have a story to tell
DAY_WEIGHT = (1.0, 1.0, 1.05, 1.1, 1.25, 0.6, 0.3)  # Monday … Sunday: weekdays busier, Friday busiest
RECENT_DAYS = 3  # drafts and pending sales are recent: older ones would have been confirmed or cancelled
RETURN_SHARE = 0.2  # of the paid, confirmed-or-later sales, how many see a partial return

# Money. Rates: one unit is worth `rate` base units (USD) from `days` days ago (the first before any demo sale).
RATES = {
    "EUR": ((DAYS + 1, "1.08500000"), (52, "1.09400000"), (19, "1.07800000")),
    "GBP": ((DAYS + 1, "1.27000000"), (45, "1.26200000"), (12, "1.28100000")),
}
EU_CHANNEL, EU_CURRENCY, EU_PRICE_LIST = "web-eu", "EUR", "eu-web-eur"  # the EU web shop sells in EUR, list-priced
TIER_MIN_QUANTITY, TIER_GROUPS, TIER_SKUS = 3, {"grocery"}, {"MUG-01"}  # 10% off from 3 units of these
GBP_SHARE = 0.11  # of the other non-counter sales: about 5% of all sales are in GBP (explicit unit prices)
WELCOME_CODE, WELCOME_SHARE = "WELCOME10", 0.08  # of the sales to a known customer
KITCHEN_PROMOTION = "Kitchen month: 10% off kitchen"
KITCHEN_STARTED, KITCHEN_DAYS = 21, 30  # began 21 days ago, runs for 30 days
US_TAX_CODE, US_TAX_SHARE = "us-il-chicago", 0.6  # of the base-currency sales from the US warehouse
US_TAX_COMPONENTS = [
    {"name": "Illinois", "jurisdiction": Jurisdiction.STATE, "location": "IL", "rate": Decimal("6.25")},
    {"name": "Cook County", "jurisdiction": Jurisdiction.COUNTY, "location": "Cook", "rate": Decimal("1.75")},
    {"name": "City of Chicago", "jurisdiction": Jurisdiction.CITY, "location": "Chicago", "rate": Decimal("1.25")},
    {"name": "RTA", "jurisdiction": Jurisdiction.DISTRICT, "location": "Chicago area", "rate": Decimal("1.00")},
]
CENT = Decimal("0.01")


class Command(BaseCommand):
    help = (
        "Load demo data: warehouses, channels, carriers, taxes, a catalogue with stock, customers, sellers "
        "alice and bob (password pass-w0rd!) and --sales sales across every status, all through the services. "
        "Safe to run again: reference data and catalogue are reused, new sales are added."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sales", type=int, default=80, help="How many sales to create (default 80).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed, for repeatable data.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database already has sales.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Build everything inside a transaction that is rolled back: report, save nothing.",
        )

    def handle(self, *args, sales: int, seed: int, if_empty: bool, dry_run: bool, **options):
        if sales < 0:
            raise CommandError("--sales must be zero or more.")
        if if_empty and Sale.objects.exists():
            self.stdout.write("The database already has sales; nothing to do (--if-empty).")
            return
        rng = random.Random(seed)
        factory.random.reseed_random(seed)  # names, e-mails and addresses from Faker repeat too
        # A real run commits the catalogue at once and each sale on its own; a dry run wraps it all in one
        # transaction (the services' own transactions become savepoints) and rolls it back.
        with transaction.atomic() if dry_run else nullcontext():
            with transaction.atomic():
                refs = self._reference_data()
                variants = self._catalogue(refs)
                customers = self._customers(rng)
                sellers = [UserFactory(username=name) for name in SELLERS]
                self.now = timezone.now()
                self._money(refs, variants)
            made: Counter = Counter()
            self.currencies: Counter = Counter()
            self.promoted = 0
            refused = returned = 0
            # Drawn first and made in the order they were sold, so the automatic promotion starts on its day.
            plans = sorted(
                ((self._sold_at(rng, target), target) for target in [rng.choice(STATUS_MIX) for _ in range(sales)]),
                key=lambda plan: plan[0],
            )
            progress = tqdm(
                range(sales),
                desc="sales",
                unit="sale",
                disable=sales < PROGRESS_MIN_SALES or options["verbosity"] < 1 or not self.stderr.isatty(),
            )
            for index in progress:
                sold_at, target = plans[index]
                if sold_at >= refs["kitchen_starts"]:
                    self._kitchen_promotion(refs)
                try:
                    status, came_back = self._sale(rng, refs, variants, customers, sellers, target, sold_at)
                    made[status] += 1
                    returned += came_back
                except DomainError:
                    refused += 1  # out of stock, for example: a real shop sees that too
            self._kitchen_promotion(refs)  # running now, whatever the sales
            showcase = self._showcase(rng, refs, variants, customers, sellers) if sales else 0
            summary = (
                f"{Product.objects.count()} products, {Variant.objects.count()} variants, "
                f"{Customer.objects.count()} customers, {sum(made.values())} new sales ({refused} refused"
                + "".join(f", {made[status]} {status}" for status in SaleStatus.values if made[status])
                + (f", {returned} with a partial return" if returned else "")
                + (", in " + ", ".join(f"{n} {c}" for c, n in self.currencies.most_common()) if made else "")
                + (f", {self.promoted} with a promotion" if self.promoted else "")
                + f") and {showcase} showcase sales (parcels, pick-ups, a late parcel, a locked sale), "
                f"sellers {', '.join(s.username for s in sellers)} (password pass-w0rd!)"
            )
            if dry_run:
                transaction.set_rollback(True)
        if dry_run:
            self.stdout.write(f"Dry run, nothing saved; it would have left: {summary}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo data ready: {summary}."))

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
                ChannelFactory(code="phone", name="Phone orders", kind=ChannelKind.PHONE),
                ChannelFactory(code=EU_CHANNEL, name="EU web shop", kind=ChannelKind.WEB),
            ],
            # how often each channel sells, in the order above: the counter and the web shop carry the business,
            # the EU web shop (in EUR) about 15%
            "channel_weights": [4, 4, 2, 1, 2],
            "carriers": [
                CarrierFactory(
                    code="dhl", name="DHL", tracking_url_template="https://www.dhl.com/track?id={tracking_code}"
                ),
                CarrierFactory(
                    code="ups", name="UPS", tracking_url_template="https://www.ups.com/track?tracknum={tracking_code}"
                ),
            ],
            "taxes": [
                TaxRateFactory(code="vat5", name="VAT 5%", rate=Decimal("5.00")),
                TaxRateFactory(code="vat22", name="VAT 22%", rate=Decimal("22.00")),
            ],
        }

    def _money(self, refs, variants) -> None:
        """Exchange rates, the EU web shop's price list, WELCOME10 and the Chicago tax; each made once (a second run
        reuses them). The kitchen promotion is made later, on its first day (`_kitchen_promotion`)."""
        zone = timezone.get_default_timezone()
        today = timezone.localdate(self.now, timezone=zone)

        def midnight(days_ago: int) -> datetime:
            return datetime.combine(today - timedelta(days=days_ago), time(0), tzinfo=zone)

        first_day = midnight(DAYS + 1)
        for currency, changes in RATES.items():
            if currency == base_currency() or rate_at(currency=currency, at=first_day) is not None:
                continue
            for days_ago, rate in changes:
                if not ExchangeRate.objects.filter(currency=currency, valid_from=midnight(days_ago)).exists():
                    exchange_rate_create(currency=currency, rate=Decimal(rate), valid_from=midnight(days_ago))
        if not PriceList.objects.filter(code=EU_PRICE_LIST).exists():
            eur = rate_at(currency=EU_CURRENCY, at=first_day)
            prices = []
            for variant in variants:
                # a shop price: the catalogue price in EUR, up to the next whole euro, less a cent
                price = (variant.effective_price / eur).to_integral_value(rounding=ROUND_CEILING) - CENT
                prices.append({"variant": variant, "price": price, "min_quantity": 1})
                product = variant.product
                if product.sku in TIER_SKUS or getattr(product.product_group, "code", None) in TIER_GROUPS:
                    tier = (price * Decimal("0.9")).quantize(CENT)
                    prices.append({"variant": variant, "price": tier, "min_quantity": TIER_MIN_QUANTITY})
            price_list_create(
                code=EU_PRICE_LIST, name="EU web shop (EUR)", currency=EU_CURRENCY,
                channel=next(c for c in refs["channels"] if c.code == EU_CHANNEL), prices=prices,
            )
        if not Promotion.objects.filter(code__iexact=WELCOME_CODE).exists():
            promotion_create(
                name="Welcome: 10% off the order", code=WELCOME_CODE, automatic=False, kind=PromotionKind.PERCENT,
                value=Decimal("10"), applies_to=PromotionScope.ORDER, starts_at=first_day, usage_limit=500,
            )
        refs["us_tax"] = TaxRate.objects.filter(code=US_TAX_CODE).first() or tax_rate_create(
            code=US_TAX_CODE, name="Chicago sales tax 10.25%", components=US_TAX_COMPONENTS
        )
        refs["kitchen_starts"] = midnight(KITCHEN_STARTED)

    def _kitchen_promotion(self, refs) -> None:
        """The automatic 10% off kitchen products, made once (as the month it runs for begins)."""
        if refs.get("kitchen") or Promotion.objects.filter(name=KITCHEN_PROMOTION).exists():
            refs["kitchen"] = True
            return
        promotion_create(
            name=KITCHEN_PROMOTION, automatic=True, kind=PromotionKind.PERCENT, value=Decimal("10"),
            applies_to=PromotionScope.PRODUCT_GROUPS, product_groups=ProductGroup.objects.filter(code="kitchen"),
            starts_at=refs["kitchen_starts"], ends_at=refs["kitchen_starts"] + timedelta(days=KITCHEN_DAYS),
        )
        refs["kitchen"] = True

    def _catalogue(self, refs) -> list[Variant]:
        """The products of CATALOGUE (made once), each variant stocked in every warehouse."""
        variants = []
        for sku, name, group, price, cost, sizes in CATALOGUE:
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                product = ProductFactory(
                    sku=sku,
                    name=name,
                    price=Decimal(price),
                    cost_price=Decimal(cost),
                    product_group=ProductGroupFactory(code=group, name=group.title()),
                    variants=[
                        stock.VariantData(sku=f"{sku}-{size}", name=size, attributes={"size": size})
                        for size in sizes or []
                    ],
                )
                for variant in product.variants.all():
                    for warehouse in refs["warehouses"]:
                        stock.stock_receive(
                            variant=variant, warehouse=warehouse, quantity=STOCK_PER_WAREHOUSE, reason="demo stock"
                        )
            variants.extend(product.variants.all())
        return variants

    def _customers(self, rng) -> list[Customer]:
        customers = list(Customer.objects.order_by("pk")[:CUSTOMERS])
        for _ in range(CUSTOMERS - len(customers)):
            customer = CustomerFactory()
            AddressFactory(customer=customer, kind=AddressKind.BILLING)
            AddressFactory(customer=customer, kind=AddressKind.SHIPPING, country=rng.choice(["IT", "US", "DE"]))
            customers.append(customer)
        return customers

    def _sold_at(self, rng, target: str) -> datetime:
        """When a sale was made: a day of the last DAYS (weekdays busier, business growing), in opening hours."""
        zone = timezone.get_default_timezone()
        today = timezone.localdate(self.now, timezone=zone)
        if target in (SaleStatus.DRAFT, SaleStatus.PENDING):
            offset = rng.randrange(RECENT_DAYS)
        else:
            weights = [
                DAY_WEIGHT[(today - timedelta(days=o)).weekday()] * (1.4 - 0.6 * o / DAYS) for o in range(DAYS)
            ]
            offset = rng.choices(range(DAYS), weights=weights)[0]
        day = today - timedelta(days=offset)
        moment = datetime.combine(day, time(rng.randint(9, 19), rng.randrange(60), rng.randrange(60)), tzinfo=zone)
        return min(moment, self.now - timedelta(minutes=rng.randint(1, 90)))

    def _sale(self, rng, refs, variants, customers, sellers, target: str, sold_at: datetime) -> tuple[str, bool]:
        """Make one sale and walk it to a status drawn from STATUS_MIX, the way a shop would.

        Counter sales are rung up as completed (or confirmed) on the spot and paid at once; other channels
        start pending and go through confirm, payment, ship, complete, cancel, reject or refund. Some paid
        sales then see a partial return. Returns the status reached and whether items came back.

        The EU web shop sells in EUR, its lines priced by its price list; about one in nine of the other remote
        sales is in GBP, at explicit prices converted from the catalogue at the day's rate. Some base-currency
        sales from the US warehouse take the Chicago tax, a few customers bring the WELCOME10 code.
        """
        channel = rng.choices(refs["channels"], weights=refs["channel_weights"])[0]
        pos = channel.kind == ChannelKind.POS
        if target == SaleStatus.DRAFT:
            create_as = SaleStatus.DRAFT
        elif pos and target in (SaleStatus.CONFIRMED, SaleStatus.COMPLETED, SaleStatus.REFUNDED):
            create_as = SaleStatus.COMPLETED if target == SaleStatus.COMPLETED else SaleStatus.CONFIRMED
        else:
            create_as = SaleStatus.PENDING
        seller = rng.choice(sellers)
        currency = base_currency()
        if channel.code == EU_CHANNEL:
            currency = EU_CURRENCY
        elif not pos and rng.random() < GBP_SHARE:
            currency = "GBP"
        # The price list prices the EU web shop's lines; a GBP line carries its price, converted at the day's rate.
        rate = rate_at(currency=currency, at=sold_at) if currency == "GBP" else None
        items = [
            services.ItemData(
                variant=variant,
                quantity=rng.randint(1, 3),
                unit_price=None if rate is None else (variant.effective_price / rate).quantize(CENT),
            )
            for variant in rng.sample(variants, rng.randint(1, 3))
        ]
        customer = rng.choice(customers) if not pos or rng.random() < 0.3 else None
        warehouse = rng.choice(refs["warehouses"])
        tax = rng.choice(refs["taxes"])
        if currency == base_currency() and warehouse.country == "US" and rng.random() < US_TAX_SHARE:
            tax = refs["us_tax"]
        code = WELCOME_CODE if customer is not None and rng.random() < WELCOME_SHARE else ""
        command = services.NewSale(
            items=items,
            status=create_as,
            customer=customer,
            channel=channel,
            warehouse=warehouse,
            currency=currency,
            tax=tax,
            discount=Decimal("0") if code else Decimal(rng.choice(["0", "0", "5", "10"])),
            discount_type="percent",
            discount_code=code,
            shipping_cost=Decimal("0.00") if pos else Decimal("7.50"),
            sold_at=sold_at,
            tags=["demo"] + (["walk-in"] if pos else []),
        )
        sale = services.sale_create(seller=seller, data=command)
        self.currencies[sale.currency] += 1
        self.promoted += sale.applied_promotions.exists()
        if create_as in (SaleStatus.DRAFT, SaleStatus.COMPLETED) or target == SaleStatus.PENDING:
            if create_as == SaleStatus.COMPLETED:
                self._pay(rng, sale, seller)
                return target, self._maybe_return(rng, sale)
            return target, False
        if target == SaleStatus.REJECTED:
            services.sale_reject(sale=sale, user=seller, reason="payment not received")
            return target, False
        if target == SaleStatus.CANCELLED and rng.random() < 0.5:  # cancelled before confirming: release
            services.sale_cancel(sale=sale, user=seller, reason=rng.choice(CancelReason.values))
            return target, False
        if sale.status == SaleStatus.PENDING:
            services.sale_confirm(sale=sale, user=seller)
        if target == SaleStatus.CANCELLED:  # cancelled after confirming, before paying: restock
            services.sale_cancel(sale=sale, user=seller, reason=rng.choice(CancelReason.values))
            return target, False
        self._pay(rng, sale, seller)
        if target in (SaleStatus.IN_DELIVERY, SaleStatus.COMPLETED) or (target == SaleStatus.REFUNDED and not pos):
            services.sale_ship(
                sale=sale, user=seller, carrier=rng.choice(refs["carriers"]), tracking_code=f"TRK{sale.pk:08d}"
            )
            if target == SaleStatus.COMPLETED:
                services.sale_complete(sale=sale, user=seller)
        if target == SaleStatus.REFUNDED:
            # Run as the operator (no user): the refund permission is for people.
            services.sale_refund(sale=sale, user=None, restock=rng.random() < 0.5, reason="demo refund")
            return target, False
        return target, self._maybe_return(rng, sale)

    def _showcase(self, rng, refs, variants, customers, sellers) -> int:
        """Six fixed sales for the fulfilment screens; returns how many were made (stock may refuse one)."""
        dhl, ups = refs["carriers"]
        now = self.now
        steps = [
            # Two parcels: the first delivered, the second on its way.
            lambda: self._parcels(rng, refs, variants, customers, sellers, [
                (dhl, now + timedelta(days=1), ["in_transit", "out_for_delivery", "delivered"]),
                (ups, now + timedelta(days=3), ["in_transit"]),
            ]),
            # Two parcels, both delivered: the sale completed by itself.
            lambda: self._parcels(rng, refs, variants, customers, sellers, [
                (ups, now - timedelta(days=2), ["in_transit", "delivered"]),
                (dhl, now - timedelta(days=1), ["in_transit", "out_for_delivery", "delivered"]),
            ]),
            # Pick-ups: one waiting at the counter, one collected (and paid there).
            lambda: self._pickup(rng, refs, variants, customers, sellers, collected=False),
            lambda: self._pickup(rng, refs, variants, customers, sellers, collected=True),
            # A parcel two days late, stuck at a hub.
            lambda: self._parcels(rng, refs, variants, customers, sellers, [
                (dhl, now - timedelta(days=2), ["in_transit"]),
            ], whole=True, location="Bologna hub", note="held at the hub: address incomplete"),
            # A sale held for a fraud check before anything goes out.
            lambda: self._locked(rng, refs, variants, customers, sellers),
        ]
        made = 0
        for step in steps:
            try:
                step()
                made += 1
            except DomainError:
                pass  # out of stock after a large --sales run: the rest still show
        return made

    def _showcase_sale(self, rng, refs, variants, customers, sellers, *, mode=DeliveryMode.DISPATCH,
                       payment_mode=None, note=""):
        seller = rng.choice(sellers)
        pickup = mode == DeliveryMode.PICKUP
        command = services.NewSale(
            items=[services.ItemData(variant=variant, quantity=2) for variant in rng.sample(variants, 2)],
            status=SaleStatus.CONFIRMED,
            customer=rng.choice(customers),
            channel=refs["channels"][1],
            warehouse=refs["warehouses"][0],
            tax=refs["taxes"][1],
            shipping_cost=Decimal("0.00") if pickup else Decimal("7.50"),
            delivery_mode=mode,
            payment_mode=payment_mode,
            delivery_note=note,
            sold_at=self.now - timedelta(days=rng.randint(3, 6), hours=rng.randint(0, 8)),
            tags=["demo", "showcase"],
        )
        return services.sale_create(seller=seller, data=command), seller

    def _parcels(self, rng, refs, variants, customers, sellers, parcels, *, whole=False, location="", note=""):
        """A prepaid dispatch sale sent in len(parcels) parcels (the first line, then the rest; or all at once)."""
        sale, seller = self._showcase_sale(rng, refs, variants, customers, sellers, payment_mode=PaymentMode.PREPAID,
                                           note="Ring twice; leave with the neighbour if out.")
        self._pay(rng, sale, seller)
        first_line = sale.items.order_by("pk").first()
        for index, (carrier, expected_at, tracking) in enumerate(parcels):
            lines = None if whole or index else [services.ItemQuantity(first_line, first_line.quantity)]
            fulfillment = services.sale_fulfil(
                sale=sale, user=seller, lines=lines, carrier=carrier, tracking_code=f"TRK{sale.pk:06d}{index + 1}",
                expected_at=expected_at,
            )
            for status in tracking:
                services.fulfillment_track(fulfillment=fulfillment, user=None, status=status, location=location,
                                           note=note if status == tracking[-1] else "")
        return sale

    def _pickup(self, rng, refs, variants, customers, sellers, *, collected: bool):
        sale, seller = self._showcase_sale(rng, refs, variants, customers, sellers, mode=DeliveryMode.PICKUP,
                                           payment_mode=PaymentMode.IN_STORE, note="Collect at the shop counter.")
        fulfillment = services.sale_fulfil(sale=sale, user=seller, expected_at=self.now + timedelta(days=2))
        if collected:
            self._pay(rng, sale, seller)
            services.fulfillment_track(fulfillment=fulfillment, user=seller, status="picked_up")
        return sale

    def _locked(self, rng, refs, variants, customers, sellers):
        sale, _ = self._showcase_sale(rng, refs, variants, customers, sellers, payment_mode=PaymentMode.ON_DELIVERY)
        return services.sale_lock_for_review(sale=sale, user=None, reason="fraud check: billing and shipping differ")

    @staticmethod
    def _maybe_return(rng, sale: Sale) -> bool:
        """Now and then a customer brings one unit back: restocked, and refunded (run as the operator)."""
        if rng.random() >= RETURN_SHARE:
            return False
        item = rng.choice(list(sale.items.order_by("pk")))
        services.sale_return(
            sale=sale,
            user=None,
            lines=[services.ReturnLine(item=item, quantity=1)],
            restock=True,
            refund=rng.random() < 0.8,
            reason=rng.choice(["damaged in transit", "wrong size", "changed mind"]),
        )
        return True

    @staticmethod
    def _pay(rng, sale: Sale, seller) -> None:
        services.sale_record_payment(
            sale=sale, amount=sale.grand_total, user=seller, method=rng.choice([PaymentMethod.CASH, PaymentMethod.CARD])
        )
