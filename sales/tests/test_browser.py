"""The back office in a real browser: headless Chromium driven by selenium.

Logs in to the admin, opens a pending sale, presses Confirm, sees the new status
and checks the stock moved. At 1366×768 the sale list, the pending and the confirmed
sale and the dashboard must not scroll sideways; each is saved as a screenshot under
test-artifacts/browser/<page>.png. Needs Debian's `chromium` and `chromium-driver`
(.ci/run installs them); skipped with the reason where they are missing.
"""

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from inventory.models import StockLevel
from inventory.tests.factories import stocked_variant
from sales import services
from sales.models import Sale
from sales.tests.factories import StaffFactory, UserFactory

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements-dev.txt)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"
PASSWORD = "browser-pass-1"


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless Chromium not found: install Debian's chromium and chromium-driver (.ci/run does)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768"):
        options.add_argument(argument)
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
