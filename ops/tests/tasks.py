"""Tasks for the tests of the task log lines."""

from django_tasks import task


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def fail(password: str) -> None:
    raise ValueError("refused")
