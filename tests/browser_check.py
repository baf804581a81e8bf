"""Open the built book in headless Chromium, with the network off, and check what it shows.

    python tests/browser_check.py [HTML_DIR] [--pages GLOB ...] [--screenshot PAGE=FILE.png]

``make book-check`` builds the book and runs this. For each page (by default every
chapter, book/0*.html, and every walkthrough notebook, notebooks/*.html) it prints one
line and checks, in the browser itself:

* every formula is typeset by MathJax (as many typeset formulas as the page has
  ``math`` elements; no MathJax error; no raw ``\\(``, ``\\[`` or ``$$`` left in the
  text a reader sees);
* every image is shown (loaded, with a non-zero ``naturalWidth``), except the remote
  "Open in Colab" badge, which cannot load offline and only matters online;
* the page asked for nothing over the network, apart from that badge.

The network is off twice over: Chromium's proxy points at a closed port, and the
DevTools protocol emulates an offline connection. Chromium is driven over
``--remote-debugging-pipe`` (the DevTools protocol on file descriptors 3 and 4), so
this needs the standard library only. Exit status 0 when every page passes.
"""

import argparse
import base64
import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_HTML = ROOT / "_build" / "book" / "_build" / "html"
DEFAULT_PAGES = ["book/0*.html", "notebooks/*.html"]
REMOTE_ALLOWED = ("https://colab.research.google.com/assets/colab-badge.svg",)
INSTALL_HINT = "needs Chromium: install it with `apt-get install chromium` (or pass --chromium /path/to/chrome)."

# Runs in the page once it has loaded: waits for MathJax 2 to finish, then reports.
CHECK_JS = r"""
(async () => {
  const sources = document.querySelectorAll('.math').length;
  let mathjax = 'absent';
  if (window.MathJax && MathJax.Hub) {
    await new Promise(done => MathJax.Hub.Register.StartupHook('End', done));
    await new Promise(done => MathJax.Hub.Queue(done));
    mathjax = 'done';
  }
  const typeset = document.querySelectorAll('script[type^="math/tex"]').length;
  const rendered = document.querySelectorAll('.MathJax, .MathJax_SVG, .MathJax_CHTML').length;
  const errors = [...document.querySelectorAll('.MathJax_Error, .merror, [data-mjx-error]')]
      .map(e => e.textContent.trim().slice(0, 80));
  if (document.body.innerText.includes('Math Processing Error')) errors.push('Math Processing Error');

  // Raw TeX delimiters in the text a reader sees (code blocks excluded).
  const raw = [];
  const root = document.querySelector('main') || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {acceptNode: n =>
      n.parentElement.closest('pre, code, script, style, .MathJax_Preview')
          ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  for (let n; (n = walker.nextNode());) {
    const m = n.textContent.match(/\\\(|\\\[|\$\$/);
    if (m) raw.push(n.textContent.trim().slice(0, 80));
  }

  // Images: load every one (lazy ones too) and see which fail.
  const images = [...document.images];
  const broken = [];
  await Promise.all(images.map(async img => {
    img.loading = 'eager';
    try { await img.decode(); } catch (e) {}
    if (!(img.complete && img.naturalWidth > 0)) broken.push(img.getAttribute('src'));
  }));
  const display = document.querySelector('.MathJax_Display, .MathJax');
  if (display) display.scrollIntoView({block: 'center'});
  return {sources, mathjax, typeset, rendered, errors, raw, images: images.length, broken,
          title: document.title};
})()
"""


class Chromium:
    """A headless Chromium driven over the DevTools protocol on a pipe."""

    def __init__(self, binary: str, window=(1280, 900)):
        self.profile = tempfile.mkdtemp(prefix="book-check-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # The child's ends, out of the way of 3 and 4 before they are moved there.
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def pipes_on_3_and_4():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--mute-audio",
                "--proxy-server=127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>",
                f"--window-size={window[0]},{window[1]}",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=pipes_on_3_and_4,
        )
        os.close(child_r)
        os.close(child_w)
        self._buffer, self._next_id, self.events, self.session = b"", 0, [], None

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (did it start?)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params=None, timeout: float = 30, session=True) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def open_tab(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, session=False
        )["sessionId"]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

    def visit(self, url: str, timeout: float = 60) -> tuple:
        """Load ``url``, run the checks; return (report, remote URLs the page asked for)."""
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", timeout)
        result = self.send(
            "Runtime.evaluate", {"expression": CHECK_JS, "awaitPromise": True, "returnByValue": True}, timeout=timeout
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("exception", {}).get("description", result))
        remote = sorted(
            {
                e["params"]["request"]["url"]
                for e in self.events
                if e.get("method") == "Network.requestWillBeSent"
                and e["params"]["request"]["url"].startswith(("http:", "https:"))
            }
        )
        return result["result"]["value"], remote

    def screenshot(self, path: pathlib.Path):
        time.sleep(0.5)  # let the scroll to the first formula settle
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)


def problems_of(report: dict, remote: list) -> list:
    problems = []
    if report["sources"]:
        if report["mathjax"] != "done":
            problems.append("MathJax did not load")
        if report["typeset"] < report["sources"]:
            problems.append(f"only {report['typeset']} of {report['sources']} formulas typeset")
    if report["errors"]:
        problems.append(f"MathJax errors: {report['errors'][:3]}")
    if report["raw"]:
        problems.append(f"raw TeX in the text: {report['raw'][:3]}")
    broken = [src for src in report["broken"] if src not in REMOTE_ALLOWED]
    if broken:
        problems.append(f"broken images: {broken[:5]}")
    asked = [url for url in remote if url not in REMOTE_ALLOWED]
    if asked:
        problems.append(f"asked the network for: {asked[:3]}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "html", nargs="?", type=pathlib.Path, default=DEFAULT_HTML, help="the built HTML book (default: %(default)s)"
    )
    parser.add_argument("--pages", nargs="+", default=DEFAULT_PAGES, help="globs under HTML (default: %(default)s)")
    parser.add_argument("--screenshot", metavar="PAGE=FILE", help="also save a screenshot of PAGE to FILE (png)")
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome"),
    )
    args = parser.parse_args(argv)

    if not args.chromium or not shutil.which(args.chromium):
        print(f"book-check {INSTALL_HINT}", file=sys.stderr)
        return 2
    html = args.html.resolve()
    if not (html / "index.html").is_file():
        print(f"book-check: no built book in {html}: run `make book` first.", file=sys.stderr)
        return 2
    pages = sorted({p for pattern in args.pages for p in html.glob(pattern)})
    if not pages:
        print(f"book-check: no page matches {args.pages} in {html}", file=sys.stderr)
        return 2
    shot_page, shot_file = args.screenshot.split("=", 1) if args.screenshot else (None, None)

    browser = Chromium(args.chromium)
    failed = 0
    try:
        browser.open_tab()
        width = max(len(p.relative_to(html).as_posix()) for p in pages)
        for page in pages:
            name = page.relative_to(html).as_posix()
            try:
                report, remote = browser.visit(page.as_uri())
                problems = problems_of(report, remote)
            except Exception as exc:  # one page's failure should not hide the others
                report, problems = None, [f"{type(exc).__name__}: {exc}"]
            failed += bool(problems)
            mark = "FAIL" if problems else "ok  "
            if report:
                shown = report["images"] - len(report["broken"])
                summary = (
                    f"{report['typeset']}/{report['sources']} formulas typeset, {shown}/{report['images']} images shown"
                )
                if len(report["broken"]) and not [s for s in report["broken"] if s not in REMOTE_ALLOWED]:
                    summary += " (the rest: Colab badges, remote)"
            else:
                summary = ""
            print(
                f"{mark} {name:<{width}}  {summary}" + ("" if not problems else "  -- " + "; ".join(problems)),
                flush=True,
            )
            if shot_page == name and report:
                browser.screenshot(pathlib.Path(shot_file))
                print(f"     screenshot of {name}: {shot_file}")
    finally:
        browser.close()
    print(
        f"book-check: {len(pages) - failed} of {len(pages)} pages render offline"
        + ("" if not failed else f"; {failed} do not")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
