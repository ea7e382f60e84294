"""The public pages' share of the one layout (console/templates/base.html): their templates,
the home page, and the HTML 404 that every page area answers (the JSON API keeps its
JSON error body, auction/app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from auction.entrypoints.console.views import templates

PUBLIC_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Paths whose unknown addresses a person meets in a browser: an HTML page in the layout.
PAGE_AREAS = ("/console", "/hall", "/public", "/bid", "/lang")
# Paths whose addresses a person may open that take a form's POST only: the 405 is a page too.
FORM_AREAS = ("/console", "/portal")  # areas of forms: a GET on a form's address gets the 405 page


def public_templates() -> Jinja2Templates:
    return templates(PUBLIC_TEMPLATES)


class Layout:
    """Renders a public page (no sign-in: `who` is None, so the public navigation shows)."""

    def __init__(self) -> None:
        self.templates = public_templates()

    def render(self, request: Request, name: str, status_code: int = 200,
               headers: dict[str, str] | None = None, **context: Any) -> Response:
        return self.templates.TemplateResponse(request, name, {"who": None, "can": {}, **context},
                                               status_code=status_code, headers=headers)

    def not_found(self, request: Request) -> Response:
        return self.render(request, "not_found.html", status_code=404, headers={"cache-control": "no-store"})

    def not_allowed(self, request: Request, allow: str) -> Response:
        """A form's address (console, portal) opened in a browser: a GET where only a POST is
        taken. The page leads back to the area's start."""
        portal = is_page_area(request.url.path, ("/portal",))
        return self.render(request, "not_allowed.html", status_code=405,
                           headers={"cache-control": "no-store", "allow": allow},
                           area=("/portal", "portal.bidders_portal_2") if portal else ("/console", "nav.console"))

    async def home(self, request: Request) -> Response:
        return self.render(request, "home.html", body_class="public")


def is_page_area(path: str, areas: tuple[str, ...] = PAGE_AREAS) -> bool:
    return path == "/" or any(path == a or path.startswith(a + "/") for a in areas)
