"""The summary's rollup (`SaleDailyTotal`, `SaleMonthlyTotal`): kept exact by triggers, answers exactly like the sales.

Most tests here commit (`transaction=True`): on PostgreSQL the rollup's triggers run at
COMMIT, so only committed writes show what production sees.
"""

import importlib
import json
import random
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.db.models import F
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import stocked_variant
from payments.models import PaymentKind
from sales import selectors, services
from sales.api.serializers import SaleSummarySerializer
from sales.filters import SaleFilter
from sales.models import (
    DELETABLE_STATUSES,
    EDITABLE_STATUSES,
    RETURNABLE_STATUSES,
    REVENUE_STATUSES,
    ExchangeRate,
    Sale,
    SaleDailyTotal,
    SaleItem,
    SaleMonthlyTotal,
    SaleStatus,
)
from sales.rollup_triggers import ROLLUP_TRIGGERS
from sales.services import ItemData, NewPayment, ReturnLine, sale_record_payment
from sales.services.maintenance import (
    DEFERRED_ROLLUP_TRIGGERS,
    audit_sale_daily_totals,
    rollup_triggers_off,
    sale_recalculate_totals,
)
from sales.tests.factories import ChannelFactory, StaffFactory, UserFactory
from salesproject.errors import DomainError
from salesproject.models import IdempotencyKey
from salesproject.money import quantize

SALES = "/api/v1/sales/"
SUMMARY = f"{SALES}summary/"
DAILY_TABLE = '"sales_saledailytotal"'
MONTHLY_TABLE = '"sales_salemonthlytotal"'
SALES_TABLE = '"sales_sale"'

committed = pytest.mark.django_db(transaction=True)


# --- helpers ---------------------------------------------------------------------------------------------------------


BASE = "USD"  # SALES_BASE_CURRENCY in the tests
RATES = {"EUR": Decimal("1.08370000"), "JPY": Decimal("0.00673100")}


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    """One sale's amount in the base currency, as money.md says: converted with its rate, rounded half-up."""
    return quantize(amount * rate, BASE)


def actual_rollup(level: str = "day") -> dict[tuple, tuple]:
    """The sales grouped as the rollup groups them, in Python (independent of the triggers' SQL): per
    (day or month, seller, status, currency) the count, the sums in the currency and the per-sale base sums."""
    groups: dict[tuple, list] = {}
    for sale in Sale.objects.order_by("pk"):
        day = sale.created_at.astimezone(UTC).date()
        key = (day if level == "day" else day.replace(day=1), sale.seller_id, sale.status, sale.currency)
        figures = groups.setdefault(key, [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        figures[0] += 1
        figures[1] += sale.grand_total
        figures[2] += sale.paid_total
        figures[3] += to_base(sale.grand_total, sale.exchange_rate)
        figures[4] += to_base(sale.paid_total, sale.exchange_rate)
    return {
        key: (n, quantize(grand, key[3]), quantize(paid, key[3]), quantize(grand_base, BASE), quantize(paid_base, BASE))
        for key, (n, grand, paid, grand_base, paid_base) in groups.items()
    }


def stored_rollup(level: str = "day") -> dict[tuple, tuple]:
    model = SaleDailyTotal if level == "day" else SaleMonthlyTotal
    return {
        (getattr(row, level), row.seller_id, row.status, row.currency): (
            row.count,
            quantize(row.grand_total, row.currency),
            quantize(row.paid_total, row.currency),
            quantize(row.grand_total_base, BASE),
            quantize(row.paid_total_base, BASE),
        )
        for row in model.objects.all()
    }


def expected_summary(sales) -> dict:
    """The summary's JSON computed in Python from the sales: base figures per sale, then summed."""
    by_status = {status: [0, Decimal(0)] for status in SaleStatus.values}
    by_currency: dict[str, list] = {}
    total_paid = Decimal(0)
    for sale in sales:
        net = sale.grand_total - sale.returned_total
        by_status[sale.status][0] += 1
        by_status[sale.status][1] += to_base(net, sale.exchange_rate)
        total_paid += to_base(sale.paid_total, sale.exchange_rate)
        money = by_currency.setdefault(sale.currency, [0, Decimal(0), Decimal(0)])
        money[0] += 1
        money[2] += sale.paid_total
        if sale.status in REVENUE_STATUSES:
            money[1] += net
    return {
        "total_sales": sum(count for count, _ in by_status.values()),
        "total_revenue": str(quantize(sum((by_status[s][1] for s in REVENUE_STATUSES), Decimal(0)), BASE)),
        "total_paid": str(quantize(total_paid, BASE)),
        "by_status": {
            status: {"count": count, "total": str(quantize(total, BASE))}
            for status, (count, total) in by_status.items()
        },
        "by_currency": {
            currency: {
                "count": count,
                "total_revenue": str(quantize(revenue, currency)),
                "total_paid": str(quantize(paid, currency)),
            }
            for currency, (count, revenue, paid) in sorted(by_currency.items())
        },
    }


def as_json(summary: dict) -> dict:
    return json.loads(json.dumps(SaleSummarySerializer(summary).data))


def assert_summary_exact(user, step: str = "") -> None:
    """The summary from the rollup, from the sales, and computed in Python agree to the minor unit."""
    scope = selectors.sale_scope(user=user)
    expected = expected_summary(scope.order_by("pk"))
    assert as_json(selectors.sale_summary(queryset=scope)) == expected, step  # the sales themselves
    from_rollup = selectors.sale_summary(queryset=scope, user=user, filters={})
    assert as_json(from_rollup) == expected, step
    for currency in expected["by_currency"]:
        only = selectors.sale_summary(
            queryset=scope.filter(currency=currency), user=user, filters={"currency": currency}
        )
        assert as_json(only)["by_currency"] == {currency: expected["by_currency"][currency]}, step


def assert_rollup_exact(step: str = "") -> None:
    """Both levels equal the sales grouped by the ORM, and the audit finds nothing."""
    assert stored_rollup("day") == actual_rollup("day"), step
    assert stored_rollup("month") == actual_rollup("month"), step
    assert audit_sale_daily_totals().drift == [], step
    assert sum(SaleDailyTotal.objects.values_list("count", flat=True)) == Sale.objects.count(), step


def sql_of(context) -> str:
    return "\n".join(query["sql"] for query in context.captured_queries)


def fallback_answer(user, params: dict) -> dict:
    """What the summary answers from the sales themselves (no rollup), as JSON."""
    filterset = SaleFilter(QueryDict(urlencode(params, doseq=True)), queryset=selectors.sale_scope(user=user))
    assert filterset.is_valid(), filterset.errors
    return as_json(selectors.sale_summary(queryset=filterset.qs))


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(UTC)


def move(sale: Sale, moment: str) -> None:
    Sale.objects.filter(pk=sale.pk).update(created_at=at(moment))


# --- the triggers keep the rollup exact along every write path ---------------------------------------------------


class Walk:
    """A seeded random walk through the services (and the raw paths that bypass them)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sellers = [UserFactory(), UserFactory(), UserFactory()]
        self.boss = StaffFactory(is_superuser=True)
        self.variants = [stocked_variant(10_000, price=Decimal(price)) for price in ("9.99", "25.00", "0.10", "3.33")]
        self.customer = CustomerFactory()
        for currency, rate in RATES.items():  # the rates a sale snapshots when it is given none
            ExchangeRate.objects.create(currency=currency, rate=rate, valid_from=at("2000-01-01T00:00:00+00:00"))

    def amount(self, currency: str, cents: int) -> Decimal:
        """`cents` minor units of a currency whatever its decimals (yen have none)."""
        return Decimal(cents) if currency == "JPY" else Decimal(cents) / 100

    def pick(self, statuses) -> Sale | None:
        candidates = list(Sale.objects.filter(status__in=statuses).order_by("pk"))
        return self.rng.choice(candidates) if candidates else None

    def items(self, currency: str = BASE) -> list[ItemData]:
        """Lines at catalogue prices in the base currency, at prices of their own in another."""
        lines = self.rng.sample(self.variants, self.rng.randint(1, 3))
        prices = {"EUR": ["9.99", "0.05", "12.35"], "JPY": ["1500", "980", "35"]}.get(currency)
        return [
            ItemData(
                variant=variant,
                quantity=self.rng.randint(1, 4),
                unit_price=Decimal(self.rng.choice(prices)) if prices else None,
            )
            for variant in lines
        ]

    def create(self) -> str:
        status = self.rng.choice([SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED, SaleStatus.COMPLETED])
        currency = self.rng.choice([BASE, BASE, "EUR", "JPY"])
        # Some sales name their own rate (8 decimals), the others take the table's.
        rate = Decimal(self.rng.randint(1, 10**9)) / 10**8 if currency != BASE and self.rng.random() < 0.3 else None
        payments = (
            [NewPayment(amount=self.amount(currency, self.rng.randint(1, 3000)))] if self.rng.random() < 0.4 else []
        )
        sale = services.sale_create(
            seller=self.rng.choice(self.sellers),
            data=services.NewSale(
                items=self.items(currency),
                status=status,
                currency=currency,
                exchange_rate=rate,
                customer=self.customer,
                discount=self.amount(currency, self.rng.choice([0, 150])),
                shipping_cost=self.amount(currency, self.rng.choice([0, 490])),
                payments=payments,
            ),
            user=self.boss,
        )
        if self.rng.random() < 0.3:  # an imported sale of an earlier month (a raw write, as imports do)
            Sale.objects.filter(pk=sale.pk).update(
                created_at=sale.created_at - timedelta(days=self.rng.randint(32, 90))
            )
            return f"create {status} {currency} backdated"
        return f"create {status} {currency}"

    def transition(self) -> str | None:
        moves = {
            "submit": (SaleStatus.DRAFT,),
            "confirm": (SaleStatus.PENDING,),
            "ship": (SaleStatus.CONFIRMED,),
            "complete": (SaleStatus.CONFIRMED, SaleStatus.IN_DELIVERY),
            "cancel": (SaleStatus.DRAFT, SaleStatus.PENDING, SaleStatus.CONFIRMED),
            "reject": (SaleStatus.PENDING,),
            "refund": tuple(RETURNABLE_STATUSES),
        }
        present = set(Sale.objects.values_list("status", flat=True))
        names = sorted(name for name, sources in moves.items() if present & set(sources))
        if not names:
            return None
        name = self.rng.choice(names)
        sale = self.pick(moves[name])
        extra = {"reason": "customer"} if name == "cancel" else {}
        getattr(services, f"sale_{name}")(sale=sale, user=self.boss, **extra)
        return f"{name} {sale.pk}"

    def partial_return(self) -> str | None:
        sale = self.pick(RETURNABLE_STATUSES)
        item = sale and SaleItem.objects.filter(sale=sale, quantity_returned__lt=F("quantity")).order_by("pk").first()
        if item is None:
            return None
        refund = self.rng.random() < 0.5 and sale.paid_total > 0
        services.sale_return(sale=sale, user=self.boss, lines=[ReturnLine(item=item, quantity=1)], refund=refund)
        return f"return 1 of {sale.pk}"

    def pay(self) -> str | None:
        sale = self.pick([status for status in SaleStatus.values if status not in (SaleStatus.REFUNDED,)])
        if sale is None:
            return None
        if sale.paid_total > 0 and self.rng.random() < 0.4:
            amount = quantize(sale.paid_total / 2, sale.currency)
            sale_record_payment(sale=sale, amount=amount, kind=PaymentKind.REFUND, user=self.boss)
            return f"refund payment {amount} on {sale.pk}"
        amount = self.amount(sale.currency, self.rng.randint(1, 5000))
        sale_record_payment(sale=sale, amount=amount, user=self.boss)
        return f"payment {amount} on {sale.pk}"

    def edit(self) -> str | None:
        sale = self.pick(EDITABLE_STATUSES)
        if sale is None:
            return None
        roll = self.rng.random()
        if roll < 0.4:
            data = {
                "discount": self.amount(sale.currency, self.rng.randint(0, 300)),
                "shipping_cost": self.amount(sale.currency, 250),
            }
        elif roll < 0.8:
            data = {"items": self.items(sale.currency)}
        elif sale.payments.exists():
            return None
        else:  # another currency: new prices, and the rate snapshotted again
            currency = self.rng.choice(sorted({BASE, *RATES} - {sale.currency}))
            data = {"currency": currency, "items": self.items(currency), "discount": Decimal(0)}
        services.sale_update(sale=sale, user=self.boss, data=data)
        return f"edit {sorted(data)} of {sale.pk}"

    def delete(self) -> str | None:
        sale = self.pick(DELETABLE_STATUSES)
        if sale is None:
            return None
        services.sale_delete(sale=sale, user=self.boss)
        return f"delete {sale.pk}"

    def raw(self) -> str | None:
        """Writes that bypass the services: what the triggers are for."""
        sale = self.pick(SaleStatus.values)
        if sale is None:
            return None
        kind = self.rng.choice(["day", "month", "seller", "drift", "untracked", "rate", "currency"])
        if kind == "day":
            Sale.objects.filter(pk=sale.pk).update(created_at=sale.created_at - timedelta(days=self.rng.randint(1, 3)))
        elif kind == "month":  # into an earlier month
            Sale.objects.filter(pk=sale.pk).update(
                created_at=sale.created_at - timedelta(days=self.rng.randint(32, 70))
            )
        elif kind == "seller":
            Sale.objects.filter(pk=sale.pk).update(seller=self.rng.choice(self.sellers))
        elif kind == "drift":  # totals drift, then recalculate_totals --fix repairs them (through the service)
            Sale.objects.filter(pk=sale.pk).update(grand_total=sale.grand_total + Decimal("7.77"))
            assert_rollup_exact("drifted totals")
            sale_recalculate_totals(sale=sale)
        elif kind == "rate":  # the rate alone: only the base sums move
            if sale.currency == BASE:
                return None
            Sale.objects.filter(pk=sale.pk).update(exchange_rate=Decimal(self.rng.randint(1, 10**9)) / 10**8)
        elif kind == "currency":  # between two-decimal currencies, the rate with it: the figures change keys
            if sale.currency == "JPY":
                return None
            currency = "EUR" if sale.currency == BASE else BASE
            Sale.objects.filter(pk=sale.pk).update(currency=currency, exchange_rate=RATES.get(currency, Decimal(1)))
        else:
            Sale.objects.filter(pk=sale.pk).update(note="untracked column")
        return f"raw {kind} on {sale.pk}"

    def step(self) -> str | None:
        action = self.rng.choices(
            [self.create, self.transition, self.partial_return, self.pay, self.edit, self.delete, self.raw],
            weights=[5, 6, 2, 3, 2, 1, 2],
        )[0]
        try:
            return action()
        except DomainError:
            return None  # a step the rules refuse (e.g. a refund larger than what was paid) writes nothing


@committed
@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_walk_through_the_services_keeps_both_rollup_levels_exact_at_every_step(warehouse, seed):
    walk = Walk(seed)
    done = []
    for number in range(400):
        step = walk.step()
        if step is not None:
            done.append(step)
            assert_rollup_exact(f"step {number}: {step}")
            if len(done) % 10 == 0:
                assert_summary_exact(walk.boss, f"step {number}: {step}")
                assert_summary_exact(walk.sellers[0], f"step {number}: {step} (a seller)")
        if len(done) == 60:
            break
    out = StringIO()
    call_command("recalculate_totals", "--fix", stdout=out, stderr=StringIO())
    assert "Daily rollup: drift 0, fixed 0." in out.getvalue()
    assert "Monthly rollup: drift 0, fixed 0." in out.getvalue()
    assert_rollup_exact("after recalculate_totals --fix")
    assert_summary_exact(walk.boss, "the end")
    kinds = {step.split()[0] for step in done}
    assert {"create", "payment", "raw"} <= kinds and len(kinds) >= 10, kinds
    currencies = set(Sale.objects.values_list("currency", flat=True))
    assert {BASE, "EUR", "JPY"} <= currencies, currencies  # every currency took part
    assert Sale.objects.exclude(exchange_rate=1).exists()
    assert len({key[0] for key in stored_rollup("month")}) >= 2  # some sales moved to another month
    assert Sale.objects.exists() and SaleDailyTotal.objects.exists() and SaleMonthlyTotal.objects.exists()


@committed
def test_a_row_whose_sales_are_all_gone_is_deleted(warehouse, seller):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )
    assert SaleDailyTotal.objects.get().count == 1 and SaleMonthlyTotal.objects.get().count == 1

    services.sale_delete(sale=sale, user=seller)

    assert not SaleDailyTotal.objects.exists() and not SaleMonthlyTotal.objects.exists()


@committed
def test_an_update_of_other_columns_leaves_the_rollup_alone(warehouse, seller):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )
    before = [
        list(model.objects.values_list("pk", "count", "grand_total")) for model in (SaleDailyTotal, SaleMonthlyTotal)
    ]

    Sale.objects.filter(pk=sale.pk).update(note="n", payment_status="paid", grand_total=sale.grand_total)

    after = [
        list(model.objects.values_list("pk", "count", "grand_total")) for model in (SaleDailyTotal, SaleMonthlyTotal)
    ]
    assert after == before


@committed
def test_moving_a_sale_to_another_day_seller_and_status_moves_its_figures(warehouse, seller):
    other = UserFactory()
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=2)],
        ),
    )
    keep = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )

    Sale.objects.filter(pk=sale.pk).update(
        created_at=at("2024-03-02T23:59:59.999999+00:00"), seller=other, status=SaleStatus.CONFIRMED
    )

    twenty = (1, Decimal("20.00"), Decimal("0.00"), Decimal("20.00"), Decimal("0.00"))
    ten = (1, Decimal("10.00"), Decimal("0.00"), Decimal("10.00"), Decimal("0.00"))
    assert stored_rollup() == {
        (at("2024-03-02T12:00:00+00:00").date(), other.pk, "confirmed", "USD"): twenty,
        (keep.created_at.astimezone(UTC).date(), seller.pk, "pending", "USD"): ten,
    }
    assert stored_rollup("month") == {
        (date(2024, 3, 1), other.pk, "confirmed", "USD"): twenty,
        (keep.created_at.astimezone(UTC).date().replace(day=1), seller.pk, "pending", "USD"): ten,
    }


@committed
def test_moving_a_sale_within_its_month_or_changing_its_totals_keeps_one_monthly_row(warehouse, seller):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=2)],
        ),
    )
    move(sale, "2024-02-01T00:00:00+00:00")
    (row,) = SaleMonthlyTotal.objects.all()

    move(sale, "2024-02-29T23:59:59.999999+00:00")  # another day, the same month
    Sale.objects.filter(pk=sale.pk).update(grand_total=Decimal("19.99"), paid_total=Decimal("5.00"))

    figures = (1, Decimal("19.99"), Decimal("5.00"), Decimal("19.99"), Decimal("5.00"))
    assert stored_rollup("month") == {(date(2024, 2, 1), seller.pk, "pending", "USD"): figures}
    assert SaleMonthlyTotal.objects.get().pk == row.pk  # updated in place, not deleted and inserted again
    assert_rollup_exact()

    move(sale, "2024-03-01T00:00:00+00:00")  # the next month

    assert stored_rollup("month") == {(date(2024, 3, 1), seller.pk, "pending", "USD"): figures}
    assert_rollup_exact()


@pytest.mark.django_db
def test_the_triggers_are_installed():
    assert rollup_triggers_off() == []


# --- the audit and its repair -----------------------------------------------------------------------------------


@committed
def test_recalculate_totals_reports_rollup_drift_and_fix_repairs_it(warehouse, seller):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )
    day = sale.created_at.astimezone(UTC).date()
    SaleDailyTotal.objects.filter(day=day).update(count=5, grand_total=Decimal("1.00"))  # drift: wrong row
    SaleDailyTotal.objects.create(  # stale
        day=day - timedelta(days=1), seller=seller, status="completed", currency="USD", count=2
    )
    SaleMonthlyTotal.objects.update(paid_total=Decimal("3.00"))  # the monthly level drifts on its own
    month = day.replace(day=1)

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"2 daily rollup row.*--fix.* 1 monthly rollup row.*--fix"):
        call_command("recalculate_totals", stdout=out, stderr=err)
    assert f"ROLLUP DRIFT {day} seller {seller.pk} pending USD: count 5 → 1, grand_total 1.00 → 10.00" in out.getvalue()
    assert f"ROLLUP DRIFT month {month:%Y-%m} seller {seller.pk} pending USD: paid_total 3.00 → 0.00" in out.getvalue()
    assert "no such sales" in out.getvalue()
    assert "Daily rollup: drift 2, fixed 0." in out.getvalue()
    assert "Monthly rollup: drift 1, fixed 0." in out.getvalue()

    out = StringIO()
    call_command("recalculate_totals", "--fix", stdout=out, stderr=err)
    assert "Daily rollup: drift 2, fixed 2." in out.getvalue()
    assert "Monthly rollup: drift 1, fixed 1." in out.getvalue()
    assert_rollup_exact()
    call_command("recalculate_totals", stdout=StringIO(), stderr=err)  # nothing left: no error


@committed
def test_the_audit_repairs_a_missing_and_a_stale_monthly_row(warehouse, seller):
    sale = services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )
    move(sale, "2024-01-31T23:59:59.999999+00:00")
    SaleMonthlyTotal.objects.all().delete()  # missing
    SaleMonthlyTotal.objects.create(  # stale
        month=date(2023, 12, 1), seller=seller, status="pending", currency="USD", count=1
    )

    audit = audit_sale_daily_totals(fix=True)

    assert [(drift.level, drift.day, drift.stored, drift.actual) for drift in audit.drift] == [
        ("month", date(2023, 12, 1), (1, *[Decimal("0.00")] * 4), None),
        ("month", date(2024, 1, 1), None, (1, Decimal("10.00"), Decimal("0.00"), Decimal("10.00"), Decimal("0.00"))),
    ]
    assert audit.ok and audit.fixed == 2
    assert_rollup_exact()


@committed
def test_migration_0012_install_counts_what_happened_without_triggers_and_keeps_both_levels_again(warehouse, seller):
    """Its uninstall leaves no trigger (and empty tables); its install refills both levels from the sales."""
    migration = importlib.import_module("sales.migrations.0012_rollup_currency")
    ExchangeRate.objects.create(currency="EUR", rate=RATES["EUR"], valid_from=at("2000-01-01T00:00:00+00:00"))
    services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=1)]))
    with connection.schema_editor() as editor:
        migration.uninstall(None, editor)
    try:
        row_triggers = DEFERRED_ROLLUP_TRIGGERS if connection.vendor == "postgresql" else ROLLUP_TRIGGERS["sqlite"]
        assert rollup_triggers_off() == list(row_triggers)
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                currency="EUR", items=[ItemData(variant=stocked_variant(5), quantity=2, unit_price=Decimal("3.33"))]
            ),
        )
        assert not SaleDailyTotal.objects.exists() and not SaleMonthlyTotal.objects.exists()
    finally:
        with connection.schema_editor() as editor:
            migration.install(None, editor)

    assert rollup_triggers_off() == []
    assert sorted(SaleMonthlyTotal.objects.values_list("currency", "count")) == [("EUR", 1), ("USD", 1)]  # backfill
    services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=1)]))
    assert sorted(SaleMonthlyTotal.objects.values_list("currency", "count")) == [("EUR", 1), ("USD", 2)]
    assert SaleMonthlyTotal.objects.get(currency="EUR").grand_total_base == to_base(Decimal("6.66"), RATES["EUR"])
    assert_rollup_exact()


@committed
def test_recalculate_totals_fails_while_a_trigger_is_off(warehouse, seller):
    names = "sale_daily_total_ins" if connection.vendor == "sqlite" else "sale_daily_total_ins_del"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            (sql,) = cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [names]).fetchone()
            cursor.execute(f"DROP TRIGGER {names}")
        else:
            cursor.execute(f"ALTER TABLE sales_sale DISABLE TRIGGER {names}")
    try:
        assert rollup_triggers_off() == [names]
        with pytest.raises(CommandError, match=f"missing or disabled \\({names}\\)"):
            call_command("recalculate_totals", "--fix", stdout=StringIO(), stderr=StringIO())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(sql if connection.vendor == "sqlite" else f"ALTER TABLE sales_sale ENABLE TRIGGER {names}")
    assert rollup_triggers_off() == []


# --- the API answers the same from the rollup as from the sales --------------------------------------------------


@pytest.fixture
def shop(warehouse):
    """Sales of two sellers over a few days, some right on the edges of 2024-03-02 (UTC), and over
    December 2023 to May 2024, some right on the edges of months (UTC)."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    web = ChannelFactory(code="web")
    variant = stocked_variant(1000, price=Decimal("12.34"))
    plan = [
        (alice, SaleStatus.COMPLETED, "2024-03-01T23:59:59.999999+00:00", 1),
        (alice, SaleStatus.PENDING, "2024-03-02T00:00:00+00:00", 2),
        (alice, SaleStatus.CONFIRMED, "2024-03-02T12:00:00+00:00", 3),
        (bob, SaleStatus.COMPLETED, "2024-03-02T23:59:59.999999+00:00", 1),
        (bob, SaleStatus.DRAFT, "2024-03-03T00:00:00+00:00", 4),
        (bob, SaleStatus.PENDING, "2024-03-04T08:00:00+00:00", 1),
        (alice, SaleStatus.CONFIRMED, "2024-03-05T08:00:00+00:00", 2),
        (bob, SaleStatus.COMPLETED, "2023-12-31T23:59:59.999999+00:00", 2),
        (alice, SaleStatus.PENDING, "2024-01-01T00:00:00+00:00", 1),
        (bob, SaleStatus.CONFIRMED, "2024-01-15T10:00:00+00:00", 3),
        (alice, SaleStatus.COMPLETED, "2024-01-31T23:59:59.999999+00:00", 1),
        (bob, SaleStatus.PENDING, "2024-02-01T00:00:00+00:00", 2),
        (alice, SaleStatus.CONFIRMED, "2024-02-29T12:00:00+00:00", 1),
        (bob, SaleStatus.COMPLETED, "2024-03-31T23:59:59.999999+00:00", 1),
        (alice, SaleStatus.DRAFT, "2024-04-01T00:00:00+00:00", 2),
        (bob, SaleStatus.CONFIRMED, "2024-05-20T09:00:00+00:00", 1),
    ]
    for number, (seller, status, moment, quantity) in enumerate(plan):
        sale = services.sale_create(
            seller=seller,
            data=services.NewSale(
                status=status,
                channel=web if number % 2 else None,
                items=[ItemData(variant=variant, quantity=quantity)],
                payments=[NewPayment(amount=Decimal("5.55"))] if status != SaleStatus.DRAFT else [],
                reference=f"SHOP-{number}",
            ),
        )
        move(sale, moment)
    # Sales in other currencies (none on 2024-03-02, none pending): one at its own rate, one with a return.
    for currency, rate in RATES.items():
        ExchangeRate.objects.create(currency=currency, rate=rate, valid_from=at("2000-01-01T00:00:00+00:00"))
    boss = StaffFactory(is_superuser=True)
    fx_plan = [
        (alice, SaleStatus.CONFIRMED, "2024-03-03T10:00:00+00:00", 2, "EUR", "7.77", None),
        (bob, SaleStatus.COMPLETED, "2024-02-10T10:00:00+00:00", 3, "EUR", "0.33", Decimal("1.5")),
        (alice, SaleStatus.COMPLETED, "2024-01-31T22:00:00+00:00", 1, "JPY", "1234", None),
        (bob, SaleStatus.DRAFT, "2024-04-02T00:00:00+00:00", 1, "JPY", "777", None),
        (alice, SaleStatus.CONFIRMED, "2023-12-31T23:00:00+00:00", 1, "JPY", "99", None),
    ]
    for number, (seller, status, moment, quantity, currency, price, rate) in enumerate(fx_plan):
        sale = services.sale_create(
            seller=seller,
            data=services.NewSale(
                status=status,
                currency=currency,
                exchange_rate=rate,
                items=[ItemData(variant=variant, quantity=quantity, unit_price=Decimal(price))],
                payments=[NewPayment(amount=Decimal(price))] if status != SaleStatus.DRAFT else [],
                reference=f"SHOP-FX-{number}",
            ),
        )
        if quantity == 3:  # one unit comes back: 0.99 × 1.5 = 1.485 → 1.49 USD, less 0.66 × 1.5 = 0.99
            item = SaleItem.objects.get(sale=sale)
            services.sale_return(sale=sale, user=boss, lines=[ReturnLine(item=item, quantity=1)])
        move(sale, moment)
    return {"alice": alice, "bob": bob, "staff": StaffFactory()}


# Answered from: MONTHLY, DAILY or BOTH rollup tables (one query), False the sales, None no table at all.
MONTHLY, DAILY, BOTH = "monthly", "daily", "both"
CASES = [
    ({}, MONTHLY),
    ({"status": "pending"}, MONTHLY),
    ({"status": ["pending", "completed"]}, MONTHLY),
    ({"seller": "alice"}, MONTHLY),
    ({"seller": 999_999}, MONTHLY),
    ({"seller": 2**63}, None),  # beyond any id: the filter's own rule, an empty answer without a query
    ({"created_after": "2024-03-02"}, BOTH),
    ({"created_before": "2024-03-02"}, BOTH),
    ({"created_after": "2024-03-02", "created_before": "2024-03-02"}, DAILY),
    ({"created_after": "2024-03-02T00:00:00Z"}, BOTH),
    ({"created_after": "2024-03-01T22:00:00-02:00"}, BOTH),  # midnight UTC
    ({"created_before": "2024-03-02T23:59:59.999999Z"}, BOTH),  # the end of the day
    ({"created_before": "2024-03-02T00:00:00Z"}, False),  # includes the sale at 00:00:00 of the 2nd
    ({"created_after": "2024-03-02T12:00:00Z"}, False),
    ({"created_after": "2024-03-02T00:00:00.000001Z"}, False),
    ({"status": "completed", "seller": "bob", "created_after": "2024-03-02", "created_before": "2024-03-04"}, DAILY),
    ({"ordering": "-grand_total", "status": "confirmed"}, MONTHLY),
    ({"search": "SHOP-1"}, False),
    ({"search": ""}, MONTHLY),
    ({"channel": "web"}, False),
    ({"total_min": "20"}, False),
    ({"payment_status": "partially_paid"}, False),
    ({"customer": 1}, False),
    # Month edges: whole months from the monthly rows, the partial months at the edges from the daily ones.
    ({"created_after": "2024-01-01", "created_before": "2024-02-29"}, MONTHLY),  # from a 1st to a month's last day
    ({"created_after": "2024-03-01", "created_before": "2024-03-31"}, MONTHLY),  # exactly one month
    ({"created_after": "2024-01-01", "created_before": "2024-03-02"}, BOTH),  # starts on the 1st, ends inside a month
    ({"created_after": "2024-01-15", "created_before": "2024-03-31"}, BOTH),  # starts inside a month, ends with one
    ({"created_after": "2023-12-15", "created_before": "2024-02-10"}, BOTH),  # partial at both ends, across a year
    ({"created_after": "2024-03-02", "created_before": "2024-03-31"}, DAILY),  # inside one month, to its end
    ({"created_after": "2023-12-31", "created_before": "2024-01-01"}, DAILY),  # across a year, no whole month
    ({"created_after": "2023-12-01", "created_before": "2024-01-31"}, MONTHLY),  # whole months across a year
    ({"created_after": "2023-01-01", "created_before": "2025-12-31"}, MONTHLY),  # several years
    ({"created_after": "2024-02-01"}, MONTHLY),  # open above, from a 1st
    ({"created_after": "2024-02-15"}, BOTH),  # open above, from inside a month
    ({"created_before": "2024-03-31"}, MONTHLY),  # open below, to a month's last day
    ({"created_before": "2024-01-14"}, BOTH),  # open below, to inside a month
    ({"created_after": "2024-03-01T00:00:00Z"}, MONTHLY),
    ({"created_before": "2024-02-29T23:59:59.999999Z"}, MONTHLY),  # the end of a (leap) month
    ({"created_before": "2024-03-01T00:00:00Z"}, False),  # includes the sale at 00:00:00 of the 1st
    (
        {"status": ["completed", "pending"], "seller": "bob", "created_after": "2024-01-01",
         "created_before": "2024-04-15"},
        BOTH,
    ),
    ({"created_after": "2024-01-10", "created_before": "2024-03-31"}, BOTH),
    ({"created_after": "2024-04-01", "created_before": "2024-01-31"}, DAILY),  # an empty range
    ({"created_after": "9999-12-15"}, DAILY),  # no month after the last one: the days only
    # A currency: its own rows of the rollup (in its money and in base).
    ({"currency": "EUR"}, MONTHLY),
    ({"currency": "jpy", "seller": "alice"}, MONTHLY),
    ({"currency": "EUR", "created_after": "2024-02-05", "created_before": "2024-03-31"}, BOTH),
    ({"currency": "JPY", "status": ["completed", "confirmed"], "created_after": "2023-12-31"}, BOTH),
    ({"currency": "JPY", "created_after": "2024-01-31", "created_before": "2024-01-31"}, DAILY),
    ({"currency": "USD", "created_after": "2024-03-02T12:00:00Z"}, False),
    ({"currency": "CHF"}, MONTHLY),  # a currency without sales
    # The sale date (sold_at; start_date / end_date are its aliases since round 2): the rollup's days are creation
    # days, so these read the sales. So do the records filters.
    ({"start_date": "2024-03-02", "end_date": "2024-03-02"}, False),
    ({"sold_after": "2024-03-01", "sold_before": "2024-03-31"}, False),
    ({"status": "pending", "sold_after": "2024-03-01"}, False),
    ({"created_after": "2024-01-10", "start_date": "2024-02-01", "end_date": "2024-03-31"}, False),
    ({"tag": "x"}, False),
    ({"metadata": "k:v"}, False),
    ({"customer_reference": "PO-1"}, False),
    ({"ordering": "-sold_at"}, MONTHLY),
]


def is_returns_query(sql: str) -> bool:
    """The summary's query of the sales with returns (their partial index), which takes returns out of its totals."""
    return f'{SALES_TABLE}."returned_total" > ' in sql and "SUM(" in sql


def read_from(sql: str) -> str | bool | None:
    """What a request read: MONTHLY / DAILY / BOTH rollup tables, False the sales (and no rollup), None nothing.

    The summary's query of the sales with returns does not count as reading the sales: it reads only
    the few with returns, through their partial index, whichever path answers the rest.
    """
    sql = "\n".join(line for line in sql.split("\n") if not is_returns_query(line))
    tables = (MONTHLY_TABLE in sql, DAILY_TABLE in sql)
    if SALES_TABLE in sql:
        return False if tables == (False, False) else "sales and rollup"
    return {(True, False): MONTHLY, (False, True): DAILY, (True, True): BOTH}.get(tables)


def resolve(params: dict, shop: dict) -> dict:
    return {name: shop[value].pk if name == "seller" and value in shop else value for name, value in params.items()}


@committed
@pytest.mark.parametrize("reader", ["staff", "alice"])
def test_the_summary_answers_the_same_from_the_rollup_and_from_the_sales(api_client, shop, reader):
    user = shop[reader]
    client = api_client(user)
    rollup_answers = {MONTHLY: 0, DAILY: 0, BOTH: 0}
    for raw, source in CASES:
        params = resolve(raw, shop)
        with CaptureQueriesContext(connection) as context:
            response = client.get(SUMMARY, params)

        assert response.status_code == 200, (params, response.json())
        assert response.json() == fallback_answer(user, params), params
        assert read_from(sql_of(context)) == source, params
        if source:
            rollup_answers[source] += response.json()["total_sales"] > 0
    assert min(rollup_answers.values()) >= 3, rollup_answers  # the comparisons were not all of empty answers


def test_the_month_split_covers_each_day_of_the_range_exactly_once():
    """Every [lower, upper) (open sides included) around a year's end: each day in it is counted once, by
    its month's monthly row or its own daily row, and no day outside it is counted."""
    span = [date(2023, 10, 25) + timedelta(days=n) for n in range(170)]
    bounds = [None, *(day for day in span[5:-5] if day.day in (1, 2, 14, 28, 29, 30, 31))]

    def within(value, first, end):
        return (first is None or value >= first) and (end is None or value < end)

    for lower in bounds:
        for upper in bounds:
            months, days = selectors._month_split(lower, upper)
            assert len(days) <= 2
            for day in span:
                by_month = months is not None and within(day.replace(day=1), *months)
                by_day = sum(within(day, *edge) for edge in days)
                assert by_month + by_day == within(day, lower, upper), (lower, upper, day, months, days)
            if months is not None:  # no monthly row reaches outside the range
                assert lower is None or months[0] >= lower, (lower, upper)
                assert upper is None or months[1] <= upper, (lower, upper)


def test_the_month_split_of_some_ranges():
    split = selectors._month_split
    assert split(None, None) == ((None, None), [])
    assert split(date(2024, 1, 1), date(2024, 3, 1)) == ((date(2024, 1, 1), date(2024, 3, 1)), [])
    assert split(date(2023, 12, 15), date(2024, 2, 10)) == (
        (date(2024, 1, 1), date(2024, 2, 1)),
        [(date(2023, 12, 15), date(2024, 1, 1)), (date(2024, 2, 1), date(2024, 2, 10))],
    )
    assert split(date(2024, 3, 2), date(2024, 4, 1)) == (None, [(date(2024, 3, 2), date(2024, 4, 1))])
    assert split(None, date(2024, 1, 14)) == ((None, date(2024, 1, 1)), [(date(2024, 1, 1), date(2024, 1, 14))])
    assert split(date(9999, 12, 15), None) == (None, [(date(9999, 12, 15), None)])
    assert split(date(9999, 12, 1), None) == ((date(9999, 12, 1), None), [])


@committed
def test_the_rollup_figures_are_the_expected_ones(api_client, shop):
    day = {"created_after": "2024-03-02", "created_before": "2024-03-02"}
    body = api_client(shop["staff"]).get(SUMMARY, day).json()

    assert body["total_sales"] == 3
    assert body["by_status"]["pending"] == {"count": 1, "total": "24.68"}
    assert body["by_status"]["confirmed"] == {"count": 1, "total": "37.02"}
    assert body["by_status"]["completed"] == {"count": 1, "total": "12.34"}
    assert body["by_status"]["refunded"] == {"count": 0, "total": "0.00"}
    assert (body["total_revenue"], body["total_paid"]) == ("49.36", "16.65")


@committed
@pytest.mark.parametrize(
    ("params", "source"),
    [
        ({"status": ["pending", "confirmed"], "created_after": "2024-03-02"}, BOTH),  # daily March, monthly after
        ({"status": ["pending", "confirmed"]}, MONTHLY),
        ({"status": ["pending", "confirmed"], "created_after": "2024-03-02", "created_before": "2024-03-05"}, DAILY),
        ({"status": ["pending", "confirmed"], "created_after": "2024-01-15", "created_before": "2024-03-15"}, BOTH),
    ],
)
def test_the_rollup_path_costs_three_queries_and_reads_only_the_sales_with_returns(api_client, shop, params, source):
    client = api_client(shop["alice"])
    client.get(SUMMARY)  # warm up: content types, permissions
    expected = fallback_answer(shop["alice"], params)

    with CaptureQueriesContext(connection) as context:
        response = client.get(SUMMARY, params)

    assert response.json() == expected and expected["total_sales"] > 0
    # token + user, rate counter, the rollup (one UNION ALL for both), the sales with returns (partial index)
    assert len(context.captured_queries) == 4, sql_of(context)
    assert is_returns_query(context.captured_queries[-1]["sql"])
    assert read_from(sql_of(context)) == source


@committed
@pytest.mark.parametrize("reader", ["staff", "alice"])
def test_the_list_count_comes_from_the_rollup_when_it_can_and_is_always_exact(api_client, shop, reader):
    """The page-number list's `count` is the summary's `total_sales`: the rollup's sum when the
    filters allow it (no COUNT over the sales), else a COUNT(*); both equal the matching sales."""
    user = shop[reader]
    client = api_client(user)
    counted_by_rollup = 0
    for raw, source in CASES:
        params = {**resolve(raw, shop), "page_size": 2}
        with CaptureQueriesContext(connection) as context:
            response = client.get(SALES, params)

        assert response.status_code == 200, (params, response.json())
        body = response.json()
        assert body["count"] == fallback_answer(user, params)["total_sales"], params
        assert len(body["results"]) == min(2, body["count"]), params
        counts = [q["sql"] for q in context.captured_queries if "COUNT(" in q["sql"].upper() or "SUM(" in q["sql"]]
        if source:
            assert len(counts) == 1 and read_from(counts[0]) == source, params
        elif source is False:
            assert counts and all(read_from(sql) is False for sql in counts), params
        counted_by_rollup += bool(source) and body["count"] > 0
    assert counted_by_rollup >= 15


@committed
def test_cursor_pages_have_no_count_and_read_no_rollup(api_client, shop):
    with CaptureQueriesContext(connection) as context:
        body = api_client(shop["staff"]).get(SALES, {"cursor": "", "status": "pending"}).json()

    assert "count" not in body and len(body["results"]) == 4
    assert DAILY_TABLE not in sql_of(context) and MONTHLY_TABLE not in sql_of(context)


@pytest.mark.django_db
def test_inside_a_transaction_on_postgresql_the_summary_reads_the_sales(api_client, warehouse, seller):
    """The deferred triggers have not run for this transaction's own writes yet: the rollup would miss them."""
    services.sale_create(seller=seller, data=services.NewSale(items=[ItemData(variant=stocked_variant(5), quantity=1)]))
    with CaptureQueriesContext(connection) as context:
        body = api_client(seller).get(SUMMARY).json()

    assert body["total_sales"] == 1
    assert read_from(sql_of(context)) is (False if connection.vendor == "postgresql" else MONTHLY)


# --- PostgreSQL: concurrent writers, commit-time failures -------------------------------------------------------


def run_threads(count: int, work) -> list[BaseException]:
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(index)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


@pytest.mark.postgres
@committed
def test_concurrent_creates_and_transitions_for_one_seller_keep_the_rollup_exact(warehouse, seller):
    variants = [stocked_variant(1000) for _ in range(4)]
    boss = StaffFactory(is_superuser=True)

    def create(index: int) -> None:
        for number in range(5):
            services.sale_create(
                seller=seller,
                data=services.NewSale(
                    items=[ItemData(variant=variants[(index + number) % 4], quantity=1)],
                ),
            )

    assert run_threads(8, create) == []
    assert SaleDailyTotal.objects.get().count == 40 and SaleMonthlyTotal.objects.get().count == 40
    assert_rollup_exact("after 8 × 5 concurrent creates")

    pending = list(Sale.objects.order_by("pk"))

    def move_on(index: int) -> None:  # every commit moves figures between the same (pending, x) rows
        for sale in pending[index::8]:
            if index % 2:
                services.sale_confirm(sale=sale, user=boss)
            else:
                services.sale_cancel(sale=sale, user=boss, reason="customer")

    assert run_threads(8, move_on) == []
    assert_rollup_exact("after concurrent confirms and cancels")
    for model in (SaleDailyTotal, SaleMonthlyTotal):
        assert sorted(model.objects.values_list("status", "count")) == [("cancelled", 20), ("confirmed", 20)]


@pytest.mark.postgres
@committed
def test_concurrent_moves_between_two_months_in_opposite_directions_keep_the_rollup_exact(warehouse, seller):
    """Each update takes its (minus, plus) pair of monthly rows in key order: threads moving sales from
    January to February while others move sales back (each from and to days of its own, so only the
    monthly rows are shared) never deadlock."""
    variant = stocked_variant(1000)
    sales = [services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=variant, quantity=1)],
        ),
    ) for _ in range(48)]
    for number, sale in enumerate(sales):
        move(sale, "2024-01-30T12:00:00+00:00" if number % 2 else "2024-02-03T12:00:00+00:00")

    def shuttle(index: int) -> None:  # odd threads: January 30 → February 2; even: February 3 → January 29
        target = at("2024-02-02T06:00:00+00:00" if index % 2 else "2024-01-29T18:00:00+00:00")
        for sale in sales[index::8]:
            Sale.objects.filter(pk=sale.pk).update(created_at=target)  # one update, one commit

    assert run_threads(8, shuttle) == []
    assert_rollup_exact("after concurrent moves between months")
    assert sorted(SaleMonthlyTotal.objects.values_list("month", "count")) == [
        (date(2024, 1, 1), 24),
        (date(2024, 2, 1), 24),
    ]
    assert sorted(SaleDailyTotal.objects.values_list("day", "count")) == [
        (date(2024, 1, 29), 24),
        (date(2024, 2, 2), 24),
    ]


@pytest.fixture
def fail_at_commit(db):
    """`fail_at_commit(sqlstate, times)`: the next `times` commits that inserted a sale fail with that SQLSTATE.

    A deferred constraint trigger, like the rollup's: the error is raised by COMMIT itself.
    """
    installed = []

    def install(sqlstate: str, times: int = 1_000_000) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP SEQUENCE IF EXISTS test_commit_failures")
            cursor.execute(f"CREATE SEQUENCE test_commit_failures MAXVALUE {times + 1} CYCLE")
            cursor.execute(
                f"""CREATE OR REPLACE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('test_commit_failures') <= {times} THEN
                        RAISE EXCEPTION 'forced failure at commit' USING ERRCODE = '{sqlstate}';
                    END IF;
                    RETURN NULL;
                END $$"""
            )
            cursor.execute(
                """CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON sales_sale
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit()"""
            )
        installed.append(sqlstate)

    yield install
    if installed:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_fail_at_commit ON sales_sale")
            cursor.execute("DROP FUNCTION IF EXISTS test_fail_at_commit()")
            cursor.execute("DROP SEQUENCE IF EXISTS test_commit_failures")


def keyed_post(client, variant, key: str):
    body = {"items": [{"variant": variant.pk, "quantity": 1}]}
    return client.post(SALES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.postgres
@committed
@pytest.mark.parametrize(
    ("sqlstate", "status", "code"),
    [
        ("40P01", 409, "conflict"),  # deadlock detected
        ("40001", 409, "conflict"),  # serialization failure
        ("08006", 503, "service_unavailable"),  # connection failure
        ("23505", 409, "conflict"),  # a deferred unique / integrity check
        ("P0001", 409, "conflict"),  # any other error raised by a trigger at COMMIT
    ],
)
def test_a_keyed_post_whose_commit_fails_answers_json_and_keeps_nothing(
    api_client, warehouse, seller, fail_at_commit, sqlstate, status, code
):
    variant = stocked_variant(10)
    client = api_client(seller)
    client.raise_request_exception = False  # a 503 is reported as Django reports a 5xx; the answer is what counts
    fail_at_commit(sqlstate, times=1)

    response = keyed_post(client, variant, "commit-fails")

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["code"] == code
    assert not Sale.objects.exists() and not SaleDailyTotal.objects.exists()
    assert not IdempotencyKey.objects.exists()

    retry = keyed_post(client, variant, "commit-fails")  # the key was not kept: the retry runs the work

    assert retry.status_code == 201
    assert Sale.objects.count() == 1 and SaleDailyTotal.objects.get().count == 1
    assert keyed_post(client, variant, "commit-fails").json()["id"] == retry.json()["id"]


@pytest.mark.postgres
@committed
def test_an_unkeyed_create_whose_commit_hits_a_deadlock_runs_again(api_client, warehouse, seller, fail_at_commit):
    """The service's retry wraps its transaction, COMMIT included."""
    variant = stocked_variant(10)
    fail_at_commit("40P01", times=1)

    response = api_client(seller).post(SALES, {"items": [{"variant": variant.pk, "quantity": 1}]}, format="json")

    assert response.status_code == 201
    assert Sale.objects.count() == 1 and SaleDailyTotal.objects.get().count == 1


@pytest.mark.postgres
@committed
def test_the_rollup_triggers_are_deferred_to_commit(warehouse, seller):
    with transaction.atomic():
        services.sale_create(
            seller=seller,
            data=services.NewSale(
                items=[ItemData(variant=stocked_variant(5), quantity=1)],
            ),
        )
        assert not SaleDailyTotal.objects.exists()  # queued, not yet run
    assert SaleDailyTotal.objects.get().count == 1
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgdeferrable AND tginitdeferred",
            [list(DEFERRED_ROLLUP_TRIGGERS)],
        )
        assert cursor.fetchone()[0] == 2
