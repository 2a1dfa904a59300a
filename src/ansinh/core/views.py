from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

import ansinh


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        db_ok = True
    except Exception:
        db_ok = False
    return JsonResponse(
        {
            "status": "ok" if db_ok else "error",
            "database": connection.vendor,
            "version": ansinh.__version__,
        },
        status=200 if db_ok else 503,
    )
