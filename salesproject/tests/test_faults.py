"""Fault injection against the real thing: gunicorn on loopback, PostgreSQL, many HTTP clients (issue 6).

Each test starts gunicorn against pytest-django's test database, drives it
with client threads, injects one fault, and then checks from the database
that no sale the client saw succeed is missing, no sale is half-written and
the stock ledger still adds up. Figures (requests sent, answers by status,
sales lost) are printed and kept in test-artifacts/faults/.

Faults: a worker SIGKILLed mid-request; PostgreSQL unreachable for a few
seconds (through a TCP proxy, see `live.TcpProxy` for why not a real restart);
the app's sessions killed with `pg_terminate_backend`; PostgreSQL accepting
connections but never answering; 50 clients fighting over 10 variants; a
client that times out and retries one create concurrently with one key.
"""

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q, Sum
from rest_framework.authtoken.models import Token

from inventory.models import StockLevel, StockMovement, Variant
from inventory.tests.factories import default_warehouse, stocked_variant
from sales.models import (
    COMMITTED_STATUSES,
    RESERVING_STATUSES,
    Sale,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SaleStatus,
)
from sales.tests.factories import StaffFactory
from salesproject.models import IdempotencyKey
from salesproject.tests.live import (
    Answer,
    ApiClient,
    Clients,
    LiveServer,
    Tally,
    TcpProxy,
    database_url,
    save_figures,
    terminate_other_sessions,
    wait_for_no_other_sessions,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SALES = "/api/v1/sales/"
FAIL_FAST = 5.0  # seconds: the slowest 503 a request may get while the database is away
NO_HANG = 15.0  # seconds: the slowest answer of any request in a fault test (a hang would reach 25-30 s)
CONNECT_TIMEOUT = 2  # seconds, given to the app as DATABASE_CONNECT_TIMEOUT (psycopg's minimum)


@dataclass
class Shop:
    token: str
    variants: list[Variant]


@pytest.fixture
def make_shop(transactional_db):
    """`make_shop(stock)`: ten variants with `stock` units each in the default warehouse, and a staff token."""

    def make(stock: int) -> Shop:
        default_warehouse()
        token = Token.objects.create(user=StaffFactory()).key
        return Shop(token=token, variants=[stocked_variant(stock) for _ in range(10)])

    return make


@pytest.fixture
def live(transactional_db, tmp_path):
    """`live(workers=…, threads=…, via=proxy, env=…)` starts gunicorn on the test database; stopped at teardown."""
    servers: list[LiveServer] = []

    def start(*, via: TcpProxy | None = None, **options) -> LiveServer:
        url = database_url(host="127.0.0.1", port=via.port) if via else database_url()
        server = LiveServer(db_url=url, log_path=tmp_path / f"gunicorn-{len(servers)}.log", **options)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
    wait_for_no_other_sessions()


@pytest.fixture
def pg_proxy():
    db = connection.settings_dict
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))).start()
    yield proxy
    proxy.stop()


# --- what must hold afterwards ------------------------------------------------------------


def random_lines(rng: random.Random, variants: list[Variant], *, most: int = 3) -> list[dict]:
    return [{"variant": v.pk, "quantity": rng.randint(1, 3)} for v in rng.sample(variants, rng.randint(1, most))]


def quantities(lines) -> dict[int, int]:
    """variant id → quantity, from request lines or response items."""
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line["variant"]] += line["quantity"]
    return dict(totals)


def assert_sales_whole(sales: Iterable[Sale], lines: dict[str, list[dict]] | None = None) -> int:
    """Each sale has its items, its creation event and exactly the ledger rows its status implies; returns how many.

    With `lines` (reference → requested lines) the items must be those requested.
    A few queries for all the sales, however many.
    """
    sales = list(sales)
    ids = [sale.pk for sale in sales]
    items: dict[int, dict[tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))
    for item in SaleItem.objects.filter(sale__in=ids).only("sale", "variant", "warehouse", "quantity"):
        items[item.sale_id][(item.variant_id, item.warehouse_id)] += item.quantity
    created = set(SaleEvent.objects.filter(sale__in=ids, type=SaleEventType.CREATED).values_list("sale", flat=True))
    ledger: dict[int, dict[tuple[int, int], tuple[int, int]]] = defaultdict(dict)
    for row in (
        StockMovement.objects.filter(sale__in=ids)
        .order_by()
        .values("sale", "variant", "warehouse")
        .annotate(on_hand=Sum("on_hand_change"), reserved=Sum("reserved_change"))
    ):
        if row["on_hand"] or row["reserved"]:
            ledger[row["sale"]][(row["variant"], row["warehouse"])] = (row["on_hand"], row["reserved"])
    for sale in sales:
        held = items.get(sale.pk)
        assert held, f"sale {sale.reference} has no items"
        if lines is not None and sale.reference in lines:
            assert {v: q for (v, _), q in held.items()} == quantities(lines[sale.reference]), sale.reference
        assert sale.pk in created, f"sale {sale.reference} has no created event"
        if sale.status in RESERVING_STATUSES:
            expected = {key: (0, q) for key, q in held.items()}
        elif sale.status in COMMITTED_STATUSES:
            expected = {key: (-q, 0) for key, q in held.items()}
        else:  # draft, cancelled, rejected: whatever moved has moved back
            expected = {}
        actual = ledger.get(sale.pk, {})
        assert actual == expected, f"sale {sale.reference} ({sale.status}): ledger {actual}, expected {expected}"
    return len(sales)


def assert_every_sale_whole() -> int:
    return assert_sales_whole(Sale.objects.all())


def assert_stock_invariant() -> None:
    """Stock levels equal their ledger and reservations what pending sales hold (`check_inventory`); none negative."""
    call_command("check_inventory", stdout=StringIO(), stderr=StringIO())  # CommandError on any drift
    assert not StockLevel.objects.filter(Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))).exists()


def assert_created_sales_exist(outcomes: list[tuple[str, list[dict], Answer]]) -> dict[str, int]:
    """Every 201 is in the database as answered; every unanswered create is there whole or not at all."""
    sent = {reference: lines for reference, lines, _ in outcomes}
    saved = {sale.reference: sale for sale in Sale.objects.filter(reference__in=sent)}
    lost = []
    for reference, lines, answer in outcomes:
        if answer.status == 201:
            sale = saved.get(reference)
            if sale is None or sale.pk != answer.body["id"]:
                lost.append(reference)
            assert quantities(answer.body["items"]) == quantities(lines), reference
    assert not lost, f"sales answered 201 but not in the database: {lost}"
    assert_sales_whole(saved.values(), sent)  # answered or not: whole
    strangers = set(Sale.objects.exclude(reference__in=sent).values_list("reference", flat=True))
    assert not strangers, f"sales nobody asked for: {strangers}"
    answered = {reference for reference, _, answer in outcomes if answer.status == 201}
    return {"sales_lost": len(lost), "unanswered_but_saved": len(set(saved) - answered)}


def assert_error_bodies(answers: list[Answer]) -> None:
    """Every error answer has the API's error body (a traceback or an HTML page would fail here)."""
    for answer in answers:
        if answer.status is not None and answer.status >= 400:
            assert isinstance(answer.body, dict), answer.body
            assert answer.body.get("type") in ("client_error", "validation_error", "server_error"), answer.body
            assert answer.code, answer.body


# --- a worker killed mid-request -----------------------------------------------------------


def test_sigkill_of_a_worker_mid_request_loses_no_sale_and_leaves_no_half_sale(make_shop, live):
    shop = make_shop(stock=100_000)
    server = live(workers=3)
    api = ApiClient(server.base_url, shop.token)
    tally, outcomes = Tally(), []

    def create_sales(index: int, stop: threading.Event) -> None:
        rng = random.Random(index)
        for n in range(1, 100_000):
            if stop.is_set():
                return
            reference, lines = f"kill-{index}-{n}", random_lines(rng, shop.variants)
            answer = tally.add("create", api.post(SALES, {"reference": reference, "items": lines}))
            outcomes.append((reference, lines, answer))

    clients = Clients(6, create_sales).start()
    rng, killed = random.Random(0), []
    time.sleep(1.5)
    deadline = time.monotonic() + 20
    # At least two kills, and more until a kill has caught a request in flight.
    while len(killed) < 2 or (tally.total["aborted"] == 0 and time.monotonic() < deadline):
        killed.append(server.kill_worker(rng))
        time.sleep(0.3)
        server.wait_for_workers()
        time.sleep(1.0)
    clients.finish()

    answers = tally.total
    assert set(answers) <= {"201", "aborted"}, (answers, server.log_tail())
    assert answers["aborted"] >= 1, "no kill caught a request in flight"
    figures = assert_created_sales_exist(outcomes)
    sales = assert_every_sale_whole()
    assert_stock_invariant()
    save_figures("worker_kill", {
        **tally.as_dict(), **figures, "workers_killed": len(killed), "sales_in_database": sales,
    })  # fmt: skip


# --- the database goes away ----------------------------------------------------------------


def test_database_outage_answers_503_fast_and_the_app_recovers_without_a_restart(make_shop, live, pg_proxy):
    shop = make_shop(stock=100_000)
    server = live(workers=3, via=pg_proxy, env={"DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)})
    workers = server.worker_pids()
    api = ApiClient(server.base_url, shop.token)
    tally, outcomes, confirms = Tally(), [], []

    def create_and_confirm(index: int, stop: threading.Event) -> None:
        rng = random.Random(100 + index)
        for n in range(1, 100_000):
            if stop.is_set():
                return
            reference, lines = f"outage-{index}-{n}", random_lines(rng, shop.variants)
            body = {"reference": reference, "items": lines}
            create = tally.add("create", api.post(SALES, body, key=reference))
            outcomes.append((reference, lines, create))
            if create.status != 201:
                time.sleep(0.3)  # a client backs off a little after an error
                continue
            confirms.append((create.body["id"], tally.add("confirm", api.post(f"{SALES}{create.body['id']}/confirm/"))))

    clients = Clients(6, create_and_confirm).start()
    time.sleep(1.5)
    pg_proxy.refuse()
    outage_started = time.monotonic()
    time.sleep(3.0)
    pg_proxy.restore()
    outage_ended = time.monotonic()
    time.sleep(3.0)
    clients.finish()

    answers = [answer for _, answer in tally.answers]
    assert not [a.label for a in answers if a.status is None or (a.status >= 500 and a.status != 503)], (
        tally.as_dict(),
        server.log_tail(),
    )
    assert_error_bodies(answers)
    unavailable = [a for a in answers if a.status == 503]
    assert unavailable, "the outage was not felt"
    assert all(a.code == "service_unavailable" for a in unavailable)
    slowest = max(a.elapsed for a in answers)
    assert slowest < NO_HANG, f"a request took {slowest:.1f} s"
    slowest_503 = max(a.elapsed for a in unavailable)
    assert slowest_503 < FAIL_FAST, f"a 503 took {slowest_503:.1f} s: {tally.as_dict()}"
    after = [a for a in answers if a.started > outage_ended + 1.0]
    assert after and all(a.status in (200, 201) for a in after), (Counter(a.label for a in after), server.log_tail())
    assert server.worker_pids() == workers, "a worker was restarted"
    for sale_id, answer in confirms:
        if answer.status == 200:
            assert Sale.objects.get(pk=sale_id).status == SaleStatus.CONFIRMED

    figures = assert_created_sales_exist(outcomes)
    # A client retrying each failed create with its key: its sale, once, or "still in progress"
    # for a key the outage left claimed; never a second sale.
    retried = Tally()
    failed = [(reference, lines) for reference, lines, answer in outcomes if answer.status != 201]

    def retry(failed_create: tuple[str, list[dict]]) -> None:
        reference, lines = failed_create
        body = {"reference": reference, "items": lines}
        again = retried.add("retry", api.post(SALES, body, key=reference, timeout=60))
        assert again.label in ("201", "409 idempotency_in_progress"), (reference, again.label, again.body)

    with ThreadPoolExecutor(8) as pool:  # concurrently: a key left claimed makes its retry wait 10 s
        list(pool.map(retry, failed))
    assert retried.sent == len(failed)
    assert not Sale.objects.values("reference").annotate(n=Count("pk")).filter(n__gt=1).exists()
    sales = assert_every_sale_whole()
    assert_stock_invariant()
    save_figures("database_outage", {
        **tally.as_dict(), **figures, "outage_seconds": round(outage_ended - outage_started, 1),
        "slowest_answer_seconds": round(slowest, 2),
        "slowest_503_seconds": round(slowest_503, 2), "retries_after_outage": retried.as_dict(),
        "keys_left_in_progress": IdempotencyKey.objects.filter(state=IdempotencyKey.State.IN_PROGRESS).count(),
        "sales_in_database": sales,
    })  # fmt: skip


def test_terminated_database_sessions_are_replaced_and_never_answer_500(make_shop, live):
    shop = make_shop(stock=100_000)
    server = live(workers=2)
    api = ApiClient(server.base_url, shop.token)
    tally, outcomes = Tally(), []
    for _ in range(10):  # every worker now holds a persistent connection
        assert tally.add("warm-up", api.get(f"{SALES}?page_size=1")).status == 200

    idle_terminated = terminate_other_sessions()
    assert idle_terminated >= 1
    # Idle sessions killed: the health check finds them dead and reconnects; nobody sees an error.
    for _ in range(10):
        answer = tally.add("after idle kill", api.get(f"{SALES}?page_size=1"))
        assert answer.status == 200, (answer.label, answer.body)

    def create_and_confirm(index: int, stop: threading.Event) -> None:
        rng = random.Random(200 + index)
        for n in range(1, 100_000):
            if stop.is_set():
                return
            reference, lines = f"terminate-{index}-{n}", random_lines(rng, shop.variants)
            create = tally.add("create", api.post(SALES, {"reference": reference, "items": lines}, key=reference))
            outcomes.append((reference, lines, create))
            if create.status == 201:
                tally.add("confirm", api.post(f"{SALES}{create.body['id']}/confirm/"))

    clients = Clients(4, create_and_confirm).start()
    busy_terminated = 0
    for _ in range(6):
        time.sleep(0.5)
        busy_terminated += terminate_other_sessions()
    last_kill = time.monotonic()
    time.sleep(2.0)
    clients.finish()

    answers = [answer for _, answer in tally.answers]
    assert not [a.label for a in answers if a.status is None or (a.status >= 500 and a.status != 503)], (
        tally.as_dict(),
        server.log_tail(),
    )
    assert_error_bodies(answers)
    assert max(a.elapsed for a in answers) < NO_HANG
    assert all(a.elapsed < FAIL_FAST for a in answers if a.status == 503)
    after = [a for a in answers if a.started > last_kill + 0.5]
    assert after and all(a.status in (200, 201) for a in after), Counter(a.label for a in after)
    figures = assert_created_sales_exist(outcomes)
    sales = assert_every_sale_whole()
    assert_stock_invariant()
    save_figures("terminate_backend", {
        **tally.as_dict(), **figures, "sessions_terminated_idle": idle_terminated,
        "sessions_terminated_under_load": busy_terminated, "sales_in_database": sales,
    })  # fmt: skip


def test_an_unanswering_database_gets_503_within_the_connect_timeout_not_a_hang(make_shop, live, pg_proxy):
    shop = make_shop(stock=1_000)
    server = live(workers=2, via=pg_proxy, env={"DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)})
    api = ApiClient(server.base_url, shop.token, timeout=25)  # below gunicorn's 30 s worker timeout
    tally = Tally()
    assert tally.add("before", api.get(SALES)).status == 200

    pg_proxy.blackhole()
    answers: list[Answer] = []
    create = {"items": [{"variant": shop.variants[0].pk, "quantity": 1}]}

    def send(method: str, body: dict | None) -> None:
        answers.append(tally.add("blackhole", api.request(method, SALES, json_body=body)))

    threads = [threading.Thread(target=send, args=call) for call in [("GET", None), ("POST", create)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    pg_proxy.restore()

    assert len(answers) == 2
    assert [a.label for a in answers] == ["503 service_unavailable"] * 2, (tally.as_dict(), server.log_tail())
    assert_error_bodies(answers)
    slowest = max(a.elapsed for a in answers)
    # One worker per request, one connection attempt each: the connect timeout plus slack for a busy machine.
    assert slowest < CONNECT_TIMEOUT + 3, f"a request took {slowest:.1f} s"
    assert tally.add("after", api.get(SALES)).status == 200
    assert not Sale.objects.exists()
    assert_stock_invariant()
    save_figures("database_unanswering", {**tally.as_dict(), "slowest_answer_seconds": round(slowest, 2)})


# --- lock contention -------------------------------------------------------------------------

CONTENTION_CLIENTS = 50
CONTENTION_SECONDS = 30
EXPECTED = {
    "create": {"201", "409 insufficient_stock", "409 conflict"},
    "confirm": {"200", "409 invalid_transition", "409 conflict"},
    "cancel": {"200", "409 invalid_transition", "409 conflict"},
}


def test_fifty_clients_over_ten_variants_get_no_server_error_and_the_ledger_holds(make_shop, live):
    shop = make_shop(stock=60)  # runs short: creates race for the last units
    server = live(workers=4, threads=4)
    api = ApiClient(server.base_url, shop.token)
    tally, sale_ids = Tally(), []

    def mix(index: int, stop: threading.Event) -> None:
        rng = random.Random(1000 + index)
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.45 or len(sale_ids) < 10:
                answer = tally.add("create", api.post(SALES, {"items": random_lines(rng, shop.variants)}))
                if answer.status == 201:
                    sale_ids.append(answer.body["id"])
                continue
            sale_id = rng.choice(sale_ids[-40:])  # recent sales: clients collide on them
            if roll < 0.75:
                tally.add("confirm", api.post(f"{SALES}{sale_id}/confirm/"))
            else:
                tally.add("cancel", api.post(f"{SALES}{sale_id}/cancel/", {"reason": "customer"}))

    clients = Clients(CONTENTION_CLIENTS, mix).start()
    time.sleep(CONTENTION_SECONDS)
    clients.finish()

    unexpected = {
        op: {label: n for label, n in counter.items() if label not in EXPECTED[op]}
        for op, counter in tally.by_operation.items()
    }
    assert not any(unexpected.values()), (unexpected, server.log_tail())
    assert_error_bodies([answer for _, answer in tally.answers])
    assert tally.by_operation["create"]["201"] and tally.by_operation["confirm"]["200"]
    sales = assert_every_sale_whole()
    assert_stock_invariant()
    assert set(Sale.objects.values_list("pk", flat=True)) == set(sale_ids)
    save_figures("lock_contention", {
        **tally.as_dict(), "clients": CONTENTION_CLIENTS, "seconds": CONTENTION_SECONDS,
        "server_errors": len(tally.server_errors()), "sales_in_database": sales,
        "transactions_run_again": server.log_count("running the transaction again"),
        "statuses": dict(Counter(Sale.objects.values_list("status", flat=True))),
    })  # fmt: skip


# --- a client that times out and retries ---------------------------------------------------


ROUNDS = 4


def test_a_create_retried_concurrently_after_a_client_timeout_makes_exactly_one_sale(make_shop, live):
    shop = make_shop(stock=10_000)
    server = live(workers=4)
    api = ApiClient(server.base_url, shop.token)
    tally = Tally()
    # 300 lines: slow enough that the 50 ms client below gives up while the server still works.
    lines = [{"variant": v.pk, "quantity": 1} for v in shop.variants for _ in range(30)]

    for round_ in range(ROUNDS):
        key, reference = f"retry-{uuid.uuid4()}", f"retry-{round_}"
        body = {"reference": reference, "items": lines}
        tally.add("first try", api.post(SALES, body, key=key, timeout=(5, 0.05)))
        retries: list[Answer] = []
        barrier = threading.Barrier(4)

        def retry(body=body, key=key, retries=retries, barrier=barrier) -> None:
            barrier.wait(10)
            retries.append(tally.add("retry", api.post(SALES, body, key=key)))

        threads = [threading.Thread(target=retry) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert len(retries) == 4
        for answer in retries:
            assert answer.label in ("201", "409 idempotency_in_progress"), (answer.label, answer.body)
        sale = Sale.objects.get(reference=reference)  # exactly one
        assert {a.body["id"] for a in retries if a.status == 201} <= {sale.pk}
        final = tally.add("final", api.post(SALES, body, key=key))
        assert final.status == 201 and final.body["id"] == sale.pk
        assert final.headers.get("Idempotent-Replayed") == "true"
        assert_sales_whole([sale], {reference: lines})

    assert tally.by_operation["first try"]["timeout"] >= 1, "the first try never timed out: nothing was retried"
    assert Sale.objects.count() == ROUNDS
    assert_stock_invariant()
    save_figures("idempotent_retry", {**tally.as_dict(), "sales_in_database": Sale.objects.count()})
