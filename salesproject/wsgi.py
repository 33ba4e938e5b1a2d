import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesproject.settings")

application = get_wsgi_application()

from salesproject.memory import collect_after_each_request  # noqa: E402 (after Django is set up)

collect_after_each_request()
