"""make_offline on hand-written pages: which addresses it rewrites, how, and what it reports.

The real GX site, opened in Chromium without network, is tested in test_validation.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clv_segments.quality.data_docs import ASSETS, find_node_modules, make_offline

JQUERY = "https://code.jquery.com/jquery-3.7.1.min.js"
FONT_AWESOME = "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css"
POPPER = "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"


def _node_modules(root: Path) -> Path:
    """A node_modules with a one-line file for every pinned asset, and Font Awesome's fonts."""
    for asset in ASSETS:
        path = root / asset.package / asset.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {asset.package} */\n", encoding="utf-8")
    fonts = root / "@fortawesome/fontawesome-free/webfonts"
    fonts.mkdir(parents=True, exist_ok=True)
    (fonts / "fa-solid-900.woff2").write_bytes(b"font")
    return root


def _site(root: Path) -> Path:
    (root / "validations" / "customer_tiers").mkdir(parents=True)
    (root / "static" / "images").mkdir(parents=True)
    (root / "static" / "images" / "logo-long.png").write_bytes(b"png")
    (root / "index.html").write_text(
        f'<link rel="stylesheet" href="{FONT_AWESOME}">\n'
        f'<script src="{JQUERY}"></script>\n'
        f'<script src="{POPPER}" integrity="sha384-abc" crossorigin="anonymous"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
        'logo-long.png?d=20261130T130852Z">\n'
        '<a href="https://greatexpectations.io">Great Expectations</a>\n',
        encoding="utf-8",
    )
    (root / "validations" / "customer_tiers" / "run.html").write_text(
        f'<script src="{JQUERY}"></script>\n'
        '<script src="https://cdn.example.com/new-widget.js"></script>\n',
        encoding="utf-8",
    )
    return root


def test_pages_load_local_copies_at_their_own_depth(tmp_path):
    site = _site(tmp_path / "site")
    result = make_offline(site, _node_modules(tmp_path / "node_modules"))

    index = (site / "index.html").read_text(encoding="utf-8")
    assert '<script src="static/vendor/jquery/dist/jquery.min.js"></script>' in index
    assert (
        '<link rel="stylesheet" href="static/vendor/@fortawesome/fontawesome-free/css/all.min.css">'
        in index
    )
    # a local copy is not a CORS request: integrity and crossorigin go
    assert '<script src="static/vendor/popper.js/dist/umd/popper.min.js"></script>' in index
    assert '<img src="static/images/logo-long.png">' in index
    assert '<a href="https://greatexpectations.io">' in index  # a link, not a load

    run = (site / "validations/customer_tiers/run.html").read_text(encoding="utf-8")
    assert '<script src="../../static/vendor/jquery/dist/jquery.min.js"></script>' in run

    assert (site / "static/vendor/jquery/dist/jquery.min.js").read_text() == "/* jquery */\n"
    fonts = site / "static/vendor/@fortawesome/fontawesome-free/webfonts"
    assert (fonts / "fa-solid-900.woff2").is_file()
    assert result.pages == 2
    assert len(result.copied) == 3
    assert result.unknown_urls == ("https://cdn.example.com/new-widget.js",)


def test_a_missing_asset_names_its_npm_package(tmp_path):
    site = _site(tmp_path / "site")
    node_modules = _node_modules(tmp_path / "node_modules")
    (node_modules / "jquery/dist/jquery.min.js").unlink()
    message = r"jquery-3\.7\.1\.min\.js comes from the npm package jquery"
    with pytest.raises(FileNotFoundError, match=message):
        make_offline(site, node_modules)


def test_node_modules_is_found_beside_package_json(tmp_path, monkeypatch):
    monkeypatch.delenv("CLV_NODE_MODULES", raising=False)
    (tmp_path / "package.json").write_text("{}", encoding="utf-8")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "models").mkdir()
    assert find_node_modules(tmp_path / "models") == tmp_path / "node_modules"
    monkeypatch.setenv("CLV_NODE_MODULES", "/opt/assets/node_modules")
    assert find_node_modules(tmp_path) == Path("/opt/assets/node_modules")


def test_every_pinned_asset_is_installed():
    """package.json pins every package ASSETS reads, and make install put the files there."""
    node_modules = find_node_modules(Path(__file__).parent)
    assert node_modules is not None, "no node_modules beside package.json: run make install"
    missing = [
        f"{asset.package}/{asset.path}"
        for asset in ASSETS
        if not (node_modules / asset.package / asset.path).is_file()
    ]
    assert missing == []
