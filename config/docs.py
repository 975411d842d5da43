"""Serve the built documentation site (MkDocs, `var/docs-site/`) at /docs/, with directory index pages."""
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.static import serve


def docs(request: HttpRequest, path: str = "") -> HttpResponse:
    root = Path(str(settings.DOCS_SITE_DIR))
    if not (root / "index.html").is_file():
        return render(request, "docs_missing.html", {"root": root}, status=404)
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()):
        raise Http404(_("Not found."))
    if target.is_dir():
        path = (path.rstrip("/") + "/index.html").lstrip("/")
    response = serve(request, path, document_root=str(root))
    response["Cache-Control"] = "public, max-age=300"
    return response
