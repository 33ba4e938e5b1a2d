"""The back office in a real browser: headless Chromium driven by selenium.

Logs in to the admin, opens a pending sale, presses Confirm, sees the new status
and checks the stock moved. At 1366×768 the sale list, the pending and the confirmed
sale and the dashboard must not scroll sideways; each is saved as a screenshot under
test-artifacts/browser/<page>.png. Needs Debian's `chromium` and `chromium-driver`
(.ci/run installs them); skipped with the reason where they are missing.
"""

import json
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from inventory.models import StockLevel
from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale
from sales.tests.factories import StaffFactory, UserFactory

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements-dev.txt)")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"
PASSWORD = "browser-pass-1"
# The docs are opened under a hostname that is neither localhost nor 127.0.0.1, as in production (Swagger UI's
# online-validator badge, for one, skips its outside request for a local spec). Chromium maps it to the loopback.
DOCS_HOST = "sales-docs.test"


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless Chromium not found: install Debian's chromium and chromium-driver (.ci/run does)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1366,768",
        f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1",
    ):
        options.add_argument(argument)
    # Chromium's DevTools network events, read back with get_log("performance"): every request a page makes.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    driver.set_window_size(1366, 768)
    yield driver
    driver.quit()


def fits_the_window(browser, name: str) -> None:
    """Save a screenshot of the page as test-artifacts/browser/<name>.png and check it does not scroll sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    lines = browser.find_elements(By.ID, "items-group")
    if lines:  # a sale page: its lines, payments and activity log are below the fold
        browser.execute_script("arguments[0].scrollIntoView()", lines[0])
        assert browser.save_screenshot(str(ARTIFACTS / f"{name}-lines.png"))
        browser.execute_script("window.scrollTo(0, 0)")
    scroll_width, inner_width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if scroll_width > inner_width:  # name the elements that stick out, the deepest first, to say what to fix
        culprits = browser.execute_script(
            "return [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".slice(-8).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' '"
            " + Math.round(e.getBoundingClientRect().right))"
        )
        pytest.fail(f"{name}: the page scrolls sideways ({scroll_width} > {inner_width} px): {culprits}")


def log_in(browser, live_server, user) -> None:
    browser.get(live_server.url + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys(user.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_to_be(live_server.url + reverse("admin:index")))


def test_staff_confirms_a_sale_with_the_button_and_sees_the_dashboard(browser, live_server):
    staff = StaffFactory(is_superuser=True)
    staff.set_password(PASSWORD)
    staff.save()
    variant = stocked_variant(10)
    sale = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[services.ItemData(variant=variant, quantity=3)],
            status="pending",
            tags=["demo", "walk-in"],
        ),
    )

    log_in(browser, live_server, staff)
    browser.get(live_server.url + reverse("admin:sales_sale_changelist"))
    fits_the_window(browser, "sale-list")
    browser.get(live_server.url + reverse("admin:sales_sale_change", args=[sale.pk]))
    fits_the_window(browser, "sale-pending")
    confirm = browser.find_element(By.XPATH, "//*[(self::input or self::button) and @type='submit']"
                                             "[normalize-space(.)='Confirm' or @value='Confirm']")
    confirm.click()

    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".messagelist")))
    assert "confirmed" in browser.find_element(By.TAG_NAME, "body").text.lower()
    sale.refresh_from_db()
    assert sale.status == "confirmed"
    level = StockLevel.objects.get(variant=variant)
    assert (level.on_hand, level.reserved) == (7, 0)
    browser.get(live_server.url + reverse("admin:sales_sale_change", args=[sale.pk]))
    fits_the_window(browser, "sale-confirmed")

    browser.get(live_server.url + reverse("admin-dashboard"))
    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "svg")))
    assert "Revenue" in browser.find_element(By.TAG_NAME, "body").text
    fits_the_window(browser, "dashboard")
    assert Sale.objects.get(pk=sale.pk).status == "confirmed"


def network_events(browser) -> tuple[dict[str, str], dict[str, str]]:
    """What the browser asked for since the last call, from DevTools' network events.

    Returns (request id → URL) of every request the page started, and (request id → reason) of those
    the browser itself refused before they left it (the page's Content-Security-Policy: "csp").
    """
    started, blocked = {}, {}
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            started[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked[params["requestId"]] = params["blockedReason"]
    return started, blocked


def network_until_quiet(browser, quiet: float = 1.5, timeout: float = 15) -> tuple[dict[str, str], dict[str, str]]:
    """`network_events` until no request has started for `quiet` seconds (fonts and images are asked for late)."""
    started, blocked = {}, {}
    last, deadline = time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - last < quiet and time.monotonic() < deadline:
        time.sleep(0.25)
        new, refused = network_events(browser)
        started |= new
        blocked |= refused
        if new:
            last = time.monotonic()
    return started, blocked


@pytest.mark.parametrize(
    ("url_name", "rendered", "name"),
    [
        ("swagger-ui", ".opblock-summary-description", "api-docs-swagger"),
        ("redoc", "[data-section-id^='operation/'] h2", "api-docs-redoc"),
    ],
    ids=["swagger-ui", "redoc"],
)
def test_the_api_docs_render_without_any_request_outside_the_server(
    browser, live_server, settings, url_name, rendered, name
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, DOCS_HOST]
    port = urlsplit(live_server.url).port
    origin = f"http://{DOCS_HOST}:{port}"
    network_events(browser)  # drop whatever the browser did before this page

    browser.get(origin + reverse(url_name))

    def shown(driver) -> bool:
        """Swagger UI builds only the rows on screen once a list has 150 of them: scroll on until it shows."""
        if any(
            element.is_displayed() and "Get an API token" in element.text
            for element in driver.find_elements(By.CSS_SELECTOR, rendered)
        ):
            return True
        driver.execute_script("window.scrollBy(0, window.innerHeight)")
        return False

    # A row Swagger UI re-renders between finding it and reading it is stale: look again.
    WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException]).until(
        shown, f"{url_name}: the operation 'Get an API token' never showed"
    )
    browser.execute_script("window.scrollTo(0, 0)")
    browser.execute_async_script("document.fonts.ready.then(arguments[arguments.length - 1])")
    started, blocked = network_until_quiet(browser)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    # data: and blob: URLs are read in the browser; a request the page's own policy refused never left it.
    sent = {
        url
        for request_id, url in started.items()
        if urlsplit(url).scheme not in ("data", "blob") and blocked.get(request_id) != "csp"
    }
    assert {origin + reverse(url_name), origin + reverse("schema")} <= sent, sent
    outside = sorted(url for url in sent if urlsplit(url).netloc != f"{DOCS_HOST}:{port}")
    refused = sorted(url for request_id, url in started.items() if request_id in blocked)
    assert outside == [], f"{url_name} asked outside the server for: {outside} (refused by its policy: {refused})"


def test_a_sale_with_two_fulfilments_and_its_pages_fit_the_window(browser, live_server):
    from datetime import timedelta

    from django.utils import timezone

    from sales.tests.factories import CarrierFactory

    staff = StaffFactory(is_superuser=True)
    staff.set_password(PASSWORD)
    staff.save()
    dhl = CarrierFactory(code="dhl", name="DHL", tracking_url_template="https://www.dhl.com/track?id={tracking_code}")
    sale = services.sale_create(
        seller=UserFactory(),
        data=services.NewSale(
            items=[
                services.ItemData(variant=stocked_variant(10), quantity=3),
                services.ItemData(variant=stocked_variant(10), quantity=2),
            ],
            status="confirmed",
            payment_mode="on_delivery",
            delivery_note="Leave with the porter",
        ),
    )
    first, second = sale.items.order_by("pk")
    parcel = services.sale_fulfil(
        sale=sale, user=staff, lines=[services.ItemQuantity(first, 2)], carrier=dhl, tracking_code="JD014600003",
        expected_at=timezone.now() - timedelta(days=1), note="first parcel",
    )
    services.fulfillment_track(fulfillment=parcel, user=staff, status="in_transit", location="Milan hub")
    services.sale_fulfil(
        sale=sale, user=staff, lines=[services.ItemQuantity(first, 1), services.ItemQuantity(second, 2)],
        carrier=dhl, tracking_code="JD014600004", expected_at=timezone.now() + timedelta(days=2),
    )
    services.sale_lock_for_review(sale=sale, user=staff, reason="address check")

    log_in(browser, live_server, staff)
    browser.get(live_server.url + reverse("admin:sales_sale_change", args=[sale.pk]))
    assert "Update tracking" in browser.find_element(By.ID, "fulfillments-group").text
    fits_the_window(browser, "sale-two-fulfilments")
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "fulfillments-group"))
    assert browser.save_screenshot(str(ARTIFACTS / "sale-two-fulfilments-parcels.png"))
    browser.get(live_server.url + reverse("admin:sales_sale_changelist") + "?delayed=yes")
    assert sale.reference in browser.find_element(By.ID, "result_list").text
    fits_the_window(browser, "sale-list-delayed")
    services.sale_unlock(sale=sale, user=staff)
    browser.get(live_server.url + reverse("admin:sales_sale_fulfil", args=[sale.pk]))
    fits_the_window(browser, "sale-fulfil-form")
    browser.get(live_server.url + reverse("admin:sales_sale_track", args=[sale.pk, parcel.pk]))
    fits_the_window(browser, "sale-track-form")
