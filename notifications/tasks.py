"""The task that sends one customer e-mail, on the `emails` queue (worked by `manage.py db_worker`)."""

from django_tasks import task


@task(queue_name="emails")
def send_customer_email(email_id: int) -> str:
    from notifications.services import customer_email_send  # the services enqueue this task

    return customer_email_send(email_id=email_id)
