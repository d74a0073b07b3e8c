"""Make a Great Expectations Data Docs site open offline.

GX 1.24's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from
public CDNs; without network the index page renders blank, because its table is drawn by
bootstrap-table. The same files, at the versions the templates name, are pinned in the
project's ``package.json`` / ``package-lock.json`` and installed into ``node_modules/`` by
``make install`` (``npm ci``). After GX writes the site, ``make_offline`` copies the files the
pages use into ``<site>/static/vendor/<npm package>/...`` and rewrites each page's CDN address
to a relative path, so the site can be zipped, mailed or opened from a file share.

A CDN address the table below does not know is left as it is and reported: a GX upgrade that
adds one shows up in the returned ``unknown_urls`` (tests/python/test_validation.py checks
there is none) instead of silently needing network again.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ASSETS", "OfflineSite", "find_node_modules", "make_offline"]


@dataclass(frozen=True)
class Asset:
    """One CDN file and where the same file lies in its npm package."""

    url: str
    package: str
    path: str
    with_folders: tuple[str, ...] = ()
    """Package folders the file reads relatively (Font Awesome's css reads ../webfonts/)."""


ASSETS: tuple[Asset, ...] = (
    Asset(
        "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css",
        "bootstrap",
        "dist/css/bootstrap.min.css",
    ),
    Asset(
        "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js",
        "bootstrap",
        "dist/js/bootstrap.min.js",
    ),
    Asset(
        "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",
        "@forevolve/bootstrap-dark",
        "dist/css/bootstrap-prefers-dark.css",
    ),
    Asset(
        "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css",
        "bootstrap-datepicker",
        "dist/css/bootstrap-datepicker.min.css",
    ),
    Asset(
        "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js",
        "bootstrap-datepicker",
        "dist/js/bootstrap-datepicker.min.js",
    ),
    Asset(
        "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css",
        "bootstrap-table",
        "dist/bootstrap-table.min.css",
    ),
    Asset(
        "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js",
        "bootstrap-table",
        "dist/bootstrap-table.min.js",
    ),
    # the templates name the filter-control extension at 1.19.0 and 1.19.1; 1.19.1 serves both
    Asset(
        "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
        "bootstrap-table",
        "dist/extensions/filter-control/bootstrap-table-filter-control.css",
    ),
    Asset(
        "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
        "bootstrap-table",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    ),
    Asset(
        "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
        "bootstrap-table",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    ),
    Asset(
        "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css",
        "@fortawesome/fontawesome-free",
        "css/all.min.css",
        with_folders=("webfonts",),
    ),
    Asset("https://code.jquery.com/jquery-3.7.1.min.js", "jquery", "dist/jquery.min.js"),
    Asset(
        "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js",
        "popper.js",
        "dist/umd/popper.min.js",
    ),
    Asset("https://cdn.jsdelivr.net/npm/vega@5", "vega", "build/vega.min.js"),
    Asset("https://cdn.jsdelivr.net/npm/vega-lite@5", "vega-lite", "build/vega-lite.min.js"),
    Asset("https://cdn.jsdelivr.net/npm/vega-embed@6", "vega-embed", "build/vega-embed.min.js"),
)

VENDOR_DIR = Path("static") / "vendor"
"""Where the copied files go, inside the site."""

GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
"""GX's own images (its logo); the site ships copies of most in static/images. The one it does
not ship, the dark-mode logo its stylesheet names, stays a network address: without network a
dark-mode reader sees no logo, nothing else changes."""

_LOADED_URL = re.compile(
    r"""(?P<attr>\b(?:src|href))=(?P<quote>["'])(?P<url>https?://[^"']+)(?P=quote)"""
)
"""A src or href attribute with an absolute address (links to web pages are among them)."""

_LOADED_SUFFIXES = (".js", ".css")

_CORS_ATTRIBUTES = re.compile(r"""\s+(?:integrity|crossorigin)(?:=(["'])[^"']*\1)?""")
"""``integrity`` and ``crossorigin`` make a script a CORS request, which a browser refuses for
a page opened from a file (origin null); a local copy drops them (the copy is the npm file)."""

_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>")


@dataclass(frozen=True)
class OfflineSite:
    """What ``make_offline`` did to a site."""

    pages: int
    """HTML pages rewritten."""
    copied: tuple[Path, ...]
    """Files copied into the site, relative to it."""
    unknown_urls: tuple[str, ...]
    """Scripts or stylesheets the pages still load from the network (none with GX 1.24)."""


def find_node_modules(start: Path | None = None) -> Path | None:
    """The ``node_modules`` folder holding the pinned assets.

    ``CLV_NODE_MODULES`` when set; else the first ``node_modules`` beside a ``package.json`` in
    the working directory, the package's project (an editable install) or their parents.
    """
    configured = os.environ.get("CLV_NODE_MODULES")
    if configured:
        return Path(configured)
    starts = [(start or Path.cwd()).resolve(), Path(__file__).resolve().parent]
    for origin in starts:
        for folder in (origin, *origin.parents):
            if (folder / "package.json").is_file() and (folder / "node_modules").is_dir():
                return folder / "node_modules"
    return None


def _is_loaded(url: str, attr: str) -> bool:
    """Whether the page loads this address (a script or stylesheet), not merely links to it."""
    return attr == "src" or url.split("?")[0].endswith(_LOADED_SUFFIXES)


def make_offline(site: Path, node_modules: Path) -> OfflineSite:
    """Copy the CDN files the pages of ``site`` load from ``node_modules``; point the pages there.

    Raises FileNotFoundError naming the npm package and file when ``node_modules`` lacks one
    (run ``make install``, which runs ``npm ci``).
    """
    by_url = {asset.url: asset for asset in ASSETS}
    copied: list[Path] = []
    unknown: set[str] = set()
    pages = sorted(site.rglob("*.html"))

    def vendor_copy(asset: Asset) -> Path:
        target = VENDOR_DIR / asset.package / asset.path
        if target not in copied:
            source = node_modules / asset.package / asset.path
            if not source.is_file():
                raise FileNotFoundError(
                    f"{source} is missing: the Data Docs asset {asset.url} comes from the npm "
                    f"package {asset.package} pinned in package.json; run `make install` (npm ci)"
                )
            (site / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, site / target)
            for folder in asset.with_folders:
                shutil.copytree(
                    node_modules / asset.package / folder,
                    site / VENDOR_DIR / asset.package / folder,
                    dirs_exist_ok=True,
                )
            copied.append(target)
        return target

    for page in pages:
        html = page.read_text(encoding="utf-8")
        to_root = Path(os.path.relpath(site, page.parent))

        def local(match: re.Match[str], page_to_root: Path = to_root) -> str:
            url, attr = match["url"], match["attr"]
            if url.startswith(GX_WEB_ASSETS):
                image = Path("static") / "images" / url.removeprefix(GX_WEB_ASSETS).split("?")[0]
                if (site / image).is_file():
                    relative = (page_to_root / image).as_posix()
                    return f"{attr}={match['quote']}{relative}{match['quote']}"
            asset = by_url.get(url)
            if asset is None:
                if _is_loaded(url, attr):
                    unknown.add(url)
                return match[0]
            relative = (page_to_root / vendor_copy(asset)).as_posix()
            return f"{attr}={match['quote']}{relative}{match['quote']}"

        def local_tag(tag: re.Match[str]) -> str:
            rewritten_tag = _LOADED_URL.sub(local, tag[0])
            if rewritten_tag == tag[0]:
                return tag[0]
            return _CORS_ATTRIBUTES.sub("", rewritten_tag)

        rewritten = _TAG.sub(local_tag, html)
        if rewritten != html:
            page.write_text(rewritten, encoding="utf-8")

    return OfflineSite(pages=len(pages), copied=tuple(copied), unknown_urls=tuple(sorted(unknown)))
