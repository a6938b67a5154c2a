"""The "storekpi" page in the Airflow 3 UI: the night's numbers, gates, alerts and freshness for operators.

Airflow 3's plugin manager mounts `app` (a FastAPI app) in the api-server under `/storekpi` and the external view
adds a "storekpi" entry to the navigation that shows the page inside the UI. The page is rendered by
`storekpi.status_page` from the warehouse named by `STOREKPI_WAREHOUSE`, read-only; the routes are plain `def`s,
so FastAPI runs them in its thread pool and a slow warehouse never stalls the api-server. Only signed-in Airflow
users see it (the UI's session cookie or an API bearer token).
"""

from __future__ import annotations

import os

from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

URL_PREFIX = "/storekpi"
app = FastAPI(title="storekpi", docs_url=None, redoc_url=None, openapi_url=None,
              dependencies=[Depends(get_user)])


def _target():
    from storekpi.warehouse import Target

    raw = os.environ.get("STOREKPI_WAREHOUSE")
    return Target(raw) if raw else None


def _unavailable(message: str, status_code: int = 503) -> HTMLResponse:
    from storekpi import status_page

    return HTMLResponse(status_page.render_error(message), status_code=status_code)


@app.get("/", response_class=HTMLResponse)
def page():
    from storekpi import status_page
    from storekpi.errors import StorekpiError

    target = _target()
    if target is None:
        return _unavailable("STOREKPI_WAREHOUSE is not set for the api-server: the page does not know which "
                            "warehouse to read.")
    try:
        data = status_page.collect(target)
    except StorekpiError as exc:
        return _unavailable(str(exc))
    except Exception as exc:  # noqa: BLE001 - e.g. the warehouse server is down: say so, as a page
        return _unavailable(f"could not read the warehouse {target.display}: {type(exc).__name__}: {exc}")
    day = data["kpi_date"]
    href = f"report/{day}" if day and status_page.report_file(target, day) else None
    return HTMLResponse(status_page.render_html(data, href))


@app.get("/status.json")
def status_json():
    from storekpi import status_page

    target = _target()
    if target is None:
        return JSONResponse({"error": "STOREKPI_WAREHOUSE is not set"}, status_code=503)
    return status_page.collect(target)


@app.get("/report/{day}")
def report(day: str):
    from storekpi import status_page

    target = _target()
    path = status_page.report_file(target, day) if target else None
    if path is None:
        return _unavailable(f"no report for {day!r} in the reports folder", status_code=404)
    return FileResponse(path, media_type="text/html")


class StorekpiPlugin(AirflowPlugin):
    name = "storekpi"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "storekpi"}]
    # href is relative (no leading slash), so the link also works behind a proxy that serves Airflow under a path
    external_views = [{"name": "storekpi", "href": f"{URL_PREFIX.lstrip('/')}/", "url_route": "storekpi",
                       "destination": "nav"}]
