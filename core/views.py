"""Views that belong to no domain: the health check and the error pages."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and the compose healthcheck: the app answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def bench_bare(request: HttpRequest) -> HttpResponse:
    """The benchmarks' baseline: the full middleware, session and user, and no work (BENCH_VIEWS only)."""
    return HttpResponse(b"ok", content_type="text/plain")


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)
