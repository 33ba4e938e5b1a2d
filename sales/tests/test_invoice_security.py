"""Invoice uploads: judged by their bytes, bounded before they are read, stored under our name, served as downloads."""

import base64
import io
import re

import pytest
from django.core.files.storage import InMemoryStorage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inventory.tests.factories import stocked_variant
from sales import services
from sales.api.views import INVOICE_UPLOAD_LIMIT
from sales.models import Invoice, SaleEvent
from sales.services import ItemData

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
# Above the upload limit but below DATA_UPLOAD_MAX_MEMORY_SIZE, so Django itself would read it all.
OVERSIZED = INVOICE_UPLOAD_LIMIT + 512 * 1024
CSRF = "k" * 32  # a well-formed CSRF secret, sent both as the cookie and the header


@pytest.fixture
def sale(seller, warehouse):
    return services.sale_create(
        seller=seller,
        data=services.NewSale(
            items=[ItemData(variant=stocked_variant(5), quantity=1)],
        ),
    )


def url(sale) -> str:
    return f"/api/v1/sales/{sale.pk}/invoice/"


def stored_files() -> set[str]:
    """Every file name in the default storage (an InMemoryStorage under the test settings)."""
    storage = storages["default"]  # what default_storage and the FileField use
    assert isinstance(storage, InMemoryStorage)

    def walk(path: str) -> set[str]:
        try:
            directories, files = storage.listdir(path)
        except FileNotFoundError:
            return set()
        found = {f"{path}/{name}".lstrip("/") for name in files}
        for directory in directories:
            found |= walk(f"{path}/{directory}".lstrip("/"))
        return found

    return walk("")


def only_error(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


class CountingBody(io.RawIOBase):
    """A request body of `size` bytes, made up as it is read, that counts what was read."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.size = size
        self.head = head
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        start = self.read_bytes
        self.read_bytes += n
        return (self.head[start : start + n]).ljust(n, b"0")

    def readline(self, limit: int = -1) -> bytes:
        return self.read(limit if limit and limit > 0 else 64 * 1024)


def post_streamed(client: APIClient, path: str, body: CountingBody, content_type: str, **extra):
    """POST a body straight from a stream, with its Content-Length, as a WSGI server would hand it over."""
    return client.generic(
        "POST", path, b"", content_type, CONTENT_LENGTH=str(body.size), **{"wsgi.input": body}, **extra
    )


# --- content is sniffed, never trusted -------------------------------------------------------------------------------


def test_an_html_file_renamed_pdf_is_refused_and_nothing_is_stored(api_client, seller, sale):
    before = stored_files()
    upload = SimpleUploadedFile("invoice.pdf", HTML, content_type="application/pdf")

    response = api_client(seller).post(url(sale), {"file": upload}, format="multipart")

    assert only_error(response, 400) == {
        "code": "invalid_file_type",
        "detail": "Only PDF, PNG or JPEG files are accepted.",
        "attr": "file",
    }
    assert stored_files() == before
    assert not Invoice.objects.exists()
    assert not SaleEvent.objects.filter(sale=sale, type="invoice_attached").exists()


def test_html_sent_as_base64_json_with_a_pdf_name_is_refused(api_client, seller, sale):
    before = stored_files()
    body = {"invoice": base64.b64encode(HTML).decode(), "filename": "invoice.pdf"}

    response = api_client(seller).post(url(sale), body, format="json")

    assert only_error(response, 400)["code"] == "invalid_file_type"
    assert only_error(response, 400)["attr"] == "invoice"
    assert stored_files() == before
    assert not Invoice.objects.exists()


def test_the_stored_type_is_the_sniffed_one_not_the_claimed_one(api_client, seller, sale):
    upload = SimpleUploadedFile("scan.png", PDF, content_type="image/png")

    response = api_client(seller).post(url(sale), {"file": upload}, format="multipart")

    assert response.status_code == 201, response.json()
    invoice = Invoice.objects.get()
    assert invoice.content_type == "application/pdf"
    assert invoice.file.name.endswith(".pdf")


# --- stored under a generated name, served as a download ---------------------------------------------------------


@pytest.mark.parametrize("filename", ["../../settings.py.pdf", "<script>alert(1)</script>.pdf", "invoice.pdf"])
def test_the_file_is_stored_under_a_generated_name(filename, api_client, seller, sale):
    before = stored_files()

    response = api_client(seller).post(
        url(sale), {"file": SimpleUploadedFile(filename, PDF, content_type="application/pdf")}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    invoice = Invoice.objects.get()
    assert re.fullmatch(r"invoices/[0-9a-f]{32}\.pdf", invoice.file.name), invoice.file.name
    assert stored_files() - before == {invoice.file.name}


def test_the_download_is_an_attachment_the_browser_must_not_sniff(api_client, seller, sale):
    client = api_client(seller)
    client.post(url(sale), {"file": SimpleUploadedFile("<b>x</b>.png", PNG)}, format="multipart")
    number = Invoice.objects.get().number

    response = client.get(url(sale))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{number}.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG


# --- the size limit is applied before the body is read -------------------------------------------------------------


def bearer(user) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.get_or_create(user=user)[0].key}")
    return client


def session_with_csrf(user) -> APIClient:
    """A browser session that passes the CSRF check, which reads a multipart body to find the form token."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


CLIENTS = {
    "bearer": (bearer, {}),
    "bearer-with-idempotency-key": (bearer, {"HTTP_IDEMPOTENCY_KEY": "upload-1"}),
    "session-with-csrf": (session_with_csrf, {"HTTP_X_CSRFTOKEN": CSRF}),
}


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=XyZ", "application/json"])
@pytest.mark.parametrize("how", list(CLIENTS))
def test_an_oversized_body_is_refused_before_any_of_it_is_read(how, content_type, seller, sale):
    make_client, headers = CLIENTS[how]
    body = CountingBody(OVERSIZED)

    response = post_streamed(make_client(seller), url(sale), body, content_type, **headers)

    error = only_error(response, 413)
    assert (error["code"], error["attr"]) == ("request_too_large", None)
    assert body.read_bytes == 0
    assert not Invoice.objects.exists()


def test_an_oversized_body_is_refused_even_before_authentication(sale):
    body = CountingBody(OVERSIZED)

    response = post_streamed(APIClient(), url(sale), body, "multipart/form-data; boundary=XyZ")

    assert only_error(response, 413)["code"] == "request_too_large"
    assert body.read_bytes == 0


@pytest.mark.parametrize("how", list(CLIENTS))
def test_a_body_within_the_limit_is_read_and_attached(how, seller, sale):
    """The control for the test above: the same streamed request, small enough, is read whole and accepted."""
    make_client, headers = CLIENTS[how]
    boundary = "XyZ"
    multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            f"Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    body = CountingBody(len(multipart), head=multipart)

    response = post_streamed(
        make_client(seller), url(sale), body, f"multipart/form-data; boundary={boundary}", **headers
    )

    assert response.status_code == 201, response.json()
    assert body.read_bytes == len(multipart)
    assert Invoice.objects.get().size == len(PDF)


def test_a_file_over_10_mb_within_the_body_allowance_is_refused_and_not_stored(api_client, seller, sale):
    """Multipart and base64 overhead let the body be a little larger than 10 MB; the file itself may not."""
    before = stored_files()
    content = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)

    response = api_client(seller).post(url(sale), {"file": SimpleUploadedFile("big.pdf", content)}, format="multipart")

    assert only_error(response, 400)["code"] == "max_size"
    assert stored_files() == before
    assert not Invoice.objects.exists()
