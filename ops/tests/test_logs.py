"""Structured logs: one JSON line per request and per task, request ids in and out, and no secret in any line."""

import io
import json
import logging

import pytest
import structlog
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from ops.logs import json_formatter, safe_query
from ops.tests import tasks
from sales.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Hunter2-very-secret"
SALES = "/api/v1/sales/"


@pytest.fixture
def log_lines(caplog):
    """Everything logged at INFO and above during the test, as the production JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.text = stream.getvalue
    yield lines
    root.removeHandler(handler)


def requests_logged(lines) -> list[dict]:
    return [line for line in lines() if line["event"] == "request_finished"]


def test_one_json_line_per_request_with_the_request_fields(api_client, seller, log_lines):
    client = api_client(seller)

    response = client.get(SALES + "?status=pending", HTTP_X_REQUEST_ID="req-42.a:b")

    [line] = requests_logged(log_lines)
    assert response.status_code == 200
    assert line["request_id"] == "req-42.a:b" == response["X-Request-ID"]
    assert line["level"] == "info" and line["logger"] == "ops.requests"
    assert line["time"].endswith("Z") and line["time"][:4].isdigit()
    assert (line["method"], line["path"], line["query"], line["status"]) == ("GET", SALES, "status=pending", 200)
    assert line["user_id"] == seller.pk
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["sql_queries"] >= 2  # the token, the page at least
    assert line["error_code"] is None


def test_anonymous_and_failed_requests_are_logged_with_their_error_code(client, log_lines):
    client.get(SALES)
    client.get("/api/v1/no-such-thing/")

    unauthenticated, missing = requests_logged(log_lines)
    assert (unauthenticated["status"], unauthenticated["error_code"], unauthenticated["user_id"]) == (
        401, "not_authenticated", None,
    )  # fmt: skip
    assert missing["status"] == 404


def test_lines_logged_while_a_request_runs_carry_its_request_id(client, log_lines, monkeypatch):
    from ops import health

    def database_down():
        structlog.get_logger("ops.test").warning("something happened", detail="x")
        return {"ok": True}

    monkeypatch.setattr(health, "check_database", database_down)
    client.get("/readyz", HTTP_X_REQUEST_ID="probe-1")

    [line] = [line for line in log_lines() if line["event"] == "something happened"]
    assert line["request_id"] == "probe-1" and line["level"] == "warning"


@pytest.mark.parametrize("given", ["", "has spaces", "x" * 129, "naïve"])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_new_one(client, log_lines, given):
    response = client.get(SALES, HTTP_X_REQUEST_ID=given)

    made = response["X-Request-ID"]
    assert made != given and len(made) == 32
    assert response.json()["request_id"] == made
    assert requests_logged(log_lines)[0]["request_id"] == made


def test_every_kind_of_error_body_carries_the_request_id(api_client, seller, client):
    headers = {"HTTP_X_REQUEST_ID": "trace-7"}
    seller_client = api_client(seller)

    answers = [
        seller_client.post(SALES, {"items": "nope"}, format="json", **headers),  # DRF validation error
        seller_client.get(SALES + "999999/", **headers),  # DRF 404
        client.get("/api/v1/no-such-thing/", **headers),  # Django's 404 under /api/
        client.post(SALES, "x", content_type="application/json", CONTENT_LENGTH=str(50 * 1024 * 1024), **headers),
        client.get(SALES + "?q=%00", **headers),  # refused by the middleware
    ]

    assert [answer.status_code for answer in answers] == [400, 404, 404, 413, 400]
    assert [answer.json()["request_id"] for answer in answers] == ["trace-7"] * 5


def test_passwords_tokens_and_secrets_never_reach_the_log(api_client, client, log_lines):
    user = UserFactory(username="cashier")
    client.post("/api/v1/auth/token/", {"username": "cashier", "password": PASSWORD}, content_type="application/json")
    token = api_client(user)._credentials["HTTP_AUTHORIZATION"].split()[1]
    client.get(f"{SALES}?password={PASSWORD}&api_key={PASSWORD}&access_token={token}&q=x",
               HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    client.get(SALES, HTTP_AUTHORIZATION=f"Bearer {token}x")  # a wrong token
    structlog.get_logger("ops.test").info("login", password=PASSWORD, authorization=f"Bearer {token}", user="cashier")

    text = log_lines.text()
    assert PASSWORD not in text and token not in text
    assert "[redacted]" in text and "q=x" in text
    assert len(requests_logged(log_lines)) == 3


def test_safe_query_blanks_secret_looking_parameters_only():
    assert safe_query("") == ""
    assert safe_query("page=2&Signature=abc&sessionid=s&csrfmiddlewaretoken=t&q=a+b") == (
        "page=2&Signature=[redacted]&sessionid=[redacted]&csrfmiddlewaretoken=[redacted]&q=a+b"
    )


def run_ready_tasks() -> None:
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="ops-test", excluded_queue_names=[])  # fmt: skip
    for row in DBTaskResult.objects.ready():
        row.claim("ops-test")
        worker.run_task(row)


def test_one_json_line_per_task_and_none_of_its_arguments(log_lines):
    done = tasks.add.enqueue(2, 3)
    failed = tasks.fail.enqueue(PASSWORD)

    run_ready_tasks()

    lines = {line["task_id"]: line for line in log_lines() if line["event"] == "task_finished"}
    assert set(lines) == {done.id, failed.id}
    ok = lines[done.id]
    assert (ok["level"], ok["logger"], ok["status"], ok["task"], ok["queue"]) == (
        "info", "ops.tasks", "successful", "ops.tests.tasks.add", "default",
    )  # fmt: skip
    assert ok["attempts"] == 1 and ok["worker_id"] == "ops-test" and ok["error"] is None
    assert ok["duration_ms"] >= 0 and isinstance(ok["sql_queries"], int)
    bad = lines[failed.id]
    assert (bad["level"], bad["status"], bad["error"]) == ("warning", "failed", "builtins.ValueError")
    assert PASSWORD not in log_lines.text()
