"""The built web app runs under the Content-Security-Policy that CloudFront adds (headless Chromium)."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

REPO_DIR = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_DIR / "deploy" / "aws" / "template.yaml"
DIST = REPO_DIR / "frontend" / "dist"
VIOLATION = "violates the following Content Security Policy"


def template_csp() -> str:
    template = load_cfn_yaml(str(TEMPLATE))
    config = template["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    return config["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]


class CspHandler(http.server.SimpleHTTPRequestHandler):
    """Serves dist/ like CloudFront: the CSP header, and index.html for paths that are not files."""

    csp = ""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def send_head(self):
        if "." not in self.path.split("?")[0].rsplit("/", 1)[-1]:
            self.path = "/index.html"
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    if not (DIST / "index.html").is_file():
        pytest.skip("the web app is not built (make web)")
    handler = type("Handler", (CspHandler,), {"csp": template_csp()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(DIST)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("path", ["/", "/login", "/c/1"])
def test_web_app_renders_without_csp_violations(site: str, path: str) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    result = subprocess.run(  # noqa: S603
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            site + path,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    violations = [line for line in result.stderr.splitlines() if VIOLATION in line]
    assert not violations, violations
    assert '<div id="root"><' in result.stdout, "the app did not render"
