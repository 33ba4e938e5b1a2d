"""The back office in a real browser: headless Chromium driven by selenium.

Logs in to the admin, opens a pending sale, presses Confirm, sees the new status
and checks the stock moved; then saves a screenshot of the dashboard under
test-artifacts/browser/. Needs Debian's `chromium` and `chromium-driver`
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
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


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
        ),
    )

    log_in(browser, live_server, staff)
    browser.get(live_server.url + reverse("admin:sales_sale_change", args=[sale.pk]))
    confirm = browser.find_element(By.XPATH, "//*[(self::input or self::button) and @type='submit']"
                                             "[normalize-space(.)='Confirm' or @value='Confirm']")
    confirm.click()

    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".messagelist")))
    assert "confirmed" in browser.find_element(By.TAG_NAME, "body").text.lower()
    sale.refresh_from_db()
    assert sale.status == "confirmed"
    level = StockLevel.objects.get(variant=variant)
    assert (level.on_hand, level.reserved) == (7, 0)

    browser.get(live_server.url + reverse("admin-dashboard"))
    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "svg")))
    assert "Revenue" in browser.find_element(By.TAG_NAME, "body").text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    assert Sale.objects.get(pk=sale.pk).status == "confirmed"
