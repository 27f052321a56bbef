"""The HTML report rendered in a real browser (issue 14): headless Chromium takes a screenshot of the
`gradcheck check --html` page and dumps its DOM; the key text must be there and the screenshot must
show more than a blank page. Skipped, with the reason, where no Chromium is installed (`.ci/run`
installs it from the system's package manager when it can)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import test_cli as cli

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM = next((found for name in BROWSERS if (found := shutil.which(name))), None)
TIMEOUT = 120  # seconds: a cold Chromium start on a loaded 2-core machine takes ~5 s

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found on PATH (" + ", ".join(BROWSERS) + "); "
                                                "`apt-get install chromium` or `.ci/run` as root installs it"),
]

CASES = '''
[[case]]
name = "sigmoid neuron, claimed <right>"
expr = "sigmoid(z)"
let = { z = "w0*x0 + w1*x1 + w2" }
at = { w0 = 2, w1 = -3, w2 = -3, x0 = -1, x1 = -2 }
grad = { w0 = "x0*sigmoid(z)*(1-sigmoid(z))" }

[[case]]
name = "sigmoid neuron, activation where its local gradient belongs"
expr = "sigmoid(z)"
let = { z = "w0*x0 + w1*x1 + w2" }
at = { w0 = 2, w1 = -3, w2 = -3, x0 = -1, x1 = -2 }
grad = { w0 = "x0*sigmoid(z)" }
'''


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)


def png_pixels(data: bytes) -> tuple[int, int, set]:
    """Width, height and the set of distinct RGB(A) pixels of an 8-bit RGB or RGBA PNG (the standard
    library reads it: zlib and the five PNG row filters)."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    size = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    previous = bytearray(stride)
    colors = set()
    for row in range(height):
        kind = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up = previous[i]
            corner = previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        if row % 4 == 0:  # a sample of the rows is enough to count colors
            colors.update(bytes(line[i:i + 3]) for i in range(0, stride, size * 2))
        previous = line
    return width, height, colors


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("browser")
    (home / "cases.toml").write_text(CASES, encoding="utf-8")
    page = home / "report.html"
    proc = cli.run_piped([cli.console_script(), "check", "cases.toml", "--html", str(page)], cli.subprocess_env(), home)
    assert proc.returncode == 1, proc.stderr  # the second case is wrong
    return page


def test_the_report_renders_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1200,900", report.as_uri(), profile=tmp_path / "profile")
    assert shot.exists(), done.stderr[-2000:]
    width, height, colors = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 900)
    # a rendered page of text, tables and colored statuses has many colors; a blank page has one
    assert len(colors) > 20, len(colors)
    assert any(g > r + 40 and g > b + 40 for r, g, b in colors)  # the green of a pass
    assert any(r > g + 60 and r > b + 60 for r, g, b in colors)  # the red of the failure


def test_the_report_dom_holds_the_key_text(report, tmp_path):
    done = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = " ".join(done.stdout.split())
    text = " ".join(re.sub(r"<[^>]+>", " ", done.stdout).split())  # the text, wrapped lines joined
    assert "2 cases: 1 passed, 1 failed" in dom
    assert "sigmoid neuron, claimed &lt;right&gt;" in dom
    assert "∂f/∂w0: claimed disagrees" in text  # the verdict
    assert "sigmoid(z)" in text and "where its local gradient belongs" in text  # the diagnosis
    # failures first: the wrong case's section comes before the right one's
    assert dom.index("<h2>sigmoid neuron, activation") < dom.index("<h2>sigmoid neuron, claimed")
