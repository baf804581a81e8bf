"""The built book: it builds without warnings, and what it shows is there.

Builds the book once (as ``make book`` does, into a temporary folder) and reads every
HTML page it wrote:

* every image a page shows is a non-empty file in the build;
* every chapter shows at least two figures — a diagram drawn from code and a plot from a
  notebook's run — and every image in a chapter has alt text;
* every link to another page (or file) of the book leads to a file that exists, and
  every ``#anchor`` to an element with that id;
* no MyST role or directive is left as source text (``{term}``, ``{doc}``, ``{glue:…}``,
  ```` ```{note} ````…) where a reader would see it;
* formulas are typeset by the MathJax copied into the build, never by one from a CDN.

``make book-check`` (tests/browser_check.py) goes one step further and opens the
chapters in a headless browser with the network off.
"""

import pathlib
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Images a page may load from elsewhere: the "Open in Colab" badge, which only means
# something online anyway. Any other remote image is an error (the book must show
# its figures offline).
REMOTE_IMAGES_ALLOWED = {"https://colab.research.google.com/assets/colab-badge.svg"}

# A role or directive that MyST did not render, as a reader would see it:
# {term}, {doc}, {cite:p}, {glue:text}, {numref} … or ```{note}, :::{admonition}.
UNRENDERED = re.compile(r"\{[A-Za-z][\w.+-]*(?::[\w.+-]+)*\}`?|(?:```|:::)\s*\{")
# Text a reader sees as code or as a formula may legitimately contain braces.
NOT_PROSE_TAGS = {"script", "style", "pre", "code", "kbd", "samp", "textarea"}
NOT_PROSE_CLASSES = {"math", "highlight"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LOCAL_MATHJAX = "_static/mathjax/MathJax.js"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


class Page(HTMLParser):
    """One pass over a page: its images, links, ids, scripts, formulas and prose."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.images, self.links, self.scripts, self.ids = [], [], [], set()
        self.main_images = []  # (src, alt) of each <img> inside <main>
        self.has_math = False
        self._prose, self._skip, self._in_main = [], None, 0  # _skip: [tag, depth] while inside code/math
        self.feed(text)
        self.close()
        self.prose = "".join(self._prose)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "img":
            self.images.append(a.get("src") or "")
            if self._in_main:
                self.main_images.append((a.get("src") or "", a.get("alt") or ""))
        elif tag == "a" and a.get("href") is not None:
            self.links.append(a["href"].strip())
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if "math" in classes:
            self.has_math = True
        if tag == "main":
            self._in_main += 1
        if tag in VOID:
            return
        if self._skip is not None:
            if tag == self._skip[0]:
                self._skip[1] += 1
        elif tag in NOT_PROSE_TAGS or classes & NOT_PROSE_CLASSES:
            self._skip = [tag, 1]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "main":
            self._in_main -= 1
        if self._skip is not None and tag == self._skip[0]:
            self._skip[1] -= 1
            if self._skip[1] == 0:
                self._skip = None
        self._prose.append(" ")

    def handle_data(self, data):
        if self._in_main and self._skip is None:
            self._prose.append(data)


def _jupyter_book() -> str:
    here = pathlib.Path(sys.executable).parent / "jupyter-book"
    return str(here) if here.exists() else (shutil.which("jupyter-book") or "jupyter-book")


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [_jupyter_book(), "build", ".", "--warningiserror", "--keep-going", "--path-output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    if proc.returncode != 0:
        warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
        pytest.fail(
            "the book does not build cleanly (make book):\n" + "\n".join(warnings or log.splitlines()[-40:]),
            pytrace=False,
        )
    html = out / "_build" / "html"
    assert (html / "index.html").is_file(), f"no index.html in {html}"
    return html


@pytest.fixture(scope="session")
def pages(html_dir) -> dict:
    """Every HTML page of the build, parsed: {path relative to the build: Page}."""
    return {
        p.relative_to(html_dir).as_posix(): Page(p.read_text(encoding="utf-8"))
        for p in sorted(html_dir.rglob("*.html"))
    }


def _local_target(html_dir: pathlib.Path, page: str, url: str):
    """The file a relative URL on ``page`` points to, or None for remote/same-page URLs."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    if parts.path.startswith("/"):
        return html_dir / unquote(parts.path).lstrip("/")
    return (html_dir / page).parent / unquote(parts.path)


def _inside_build(html_dir: pathlib.Path, path: pathlib.Path) -> bool:
    try:
        path.resolve().relative_to(html_dir.resolve())
        return True
    except ValueError:
        return False


def test_every_page_of_the_toc_is_built(html_dir):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    missing = [f for f in files if not (html_dir / f"{f}.html").is_file()]
    assert not missing, f"pages in _toc.yml that the build did not write: {missing}"


def test_every_image_is_in_the_build(html_dir, pages):
    problems = []
    for page, parsed in pages.items():
        for src in parsed.images:
            src = src.strip()
            if not src:
                problems.append(f"{page}: <img> without src")
            elif src.startswith("data:"):
                continue
            elif src in REMOTE_IMAGES_ALLOWED:
                continue
            else:
                target = _local_target(html_dir, page, src)
                if target is None:
                    problems.append(f"{page}: image from outside the book: {src}")
                elif not target.is_file():
                    problems.append(f"{page}: image missing: {src}")
                elif target.stat().st_size == 0:
                    problems.append(f"{page}: image is empty: {src}")
    assert not problems, f"{len(problems)} broken image(s):\n" + "\n".join(problems)


def test_every_chapter_shows_two_figures_with_alt_text(pages):
    """Chapters 0-7 each show a diagram drawn from code and a plot from a notebook's run (book/_ext/figures.py)."""
    chapters = sorted(f"book/{p.stem}.html" for p in (ROOT / "book").glob("0[0-7]_*.md"))
    assert len(chapters) == 8, f"expected chapters 00 to 07 in book/, found {chapters}"
    problems = []
    for page in chapters:
        images = pages[page].main_images
        # Without :alt:, docutils writes the image's own path as its alt text: that describes nothing.
        without_alt = [
            src
            for src, alt in images
            if not alt.strip() or alt.strip() == src.strip() or alt.strip().lower().endswith(IMAGE_SUFFIXES)
        ]
        if without_alt:
            problems.append(f"{page}: image(s) without alt text: {without_alt}")
        if len(images) - len(without_alt) < 2:
            problems.append(
                f"{page}: {len(images) - len(without_alt)} figure(s) with alt text; a chapter needs at least 2"
            )
    assert not problems, "\n".join(problems)


def test_every_internal_link_resolves(html_dir, pages):
    problems, checked = [], 0
    for page, parsed in pages.items():
        for href in parsed.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                continue  # remote
            if parts.path:
                target = _local_target(html_dir, page, href)
                if not _inside_build(html_dir, target):
                    problems.append(f"{page}: link leaves the book: {href}")
                    continue
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{page}: link to a missing file: {href}")
                    continue
                target_page = target.resolve().relative_to(html_dir.resolve()).as_posix()
            else:
                target_page = page
            checked += 1
            anchor = unquote(parts.fragment)
            if (
                anchor
                and target_page.endswith(".html")
                and target_page in pages
                and anchor not in pages[target_page].ids
            ):
                problems.append(f"{page}: link to a missing anchor: {href}")
    assert checked > 1000, f"only {checked} internal links found: is the parser reading the pages?"
    assert not problems, f"{len(problems)} broken link(s):\n" + "\n".join(problems)


def test_no_role_or_directive_is_left_as_source(pages):
    assert "Quantization" in pages["book/02_quantization.html"].prose, "is the parser reading the pages' text?"
    problems = []
    for page, parsed in pages.items():
        text = parsed.prose
        for m in UNRENDERED.finditer(text):
            context = " ".join(text[max(0, m.start() - 50) : m.end() + 50].split())
            problems.append(f"{page}: {m.group(0)!r} in “…{context}…”")
    assert not problems, f"{len(problems)} unrendered role(s)/directive(s):\n" + "\n".join(problems)


def test_formulas_use_the_mathjax_in_the_build(html_dir, pages):
    assert (html_dir / LOCAL_MATHJAX).is_file(), f"{LOCAL_MATHJAX} is not in the build (book/_ext/offline_mathjax.py)"
    assert (html_dir / "_static/mathjax/config/TeX-AMS-MML_HTMLorMML-full.js").is_file()
    problems, with_math = [], 0
    for page, parsed in pages.items():
        sources = parsed.scripts
        for src in sources:
            if "mathjax" in src.lower() and urlsplit(src).netloc:
                problems.append(f"{page}: MathJax from a CDN: {src}")
        if parsed.has_math:
            with_math += 1
            local = [
                s
                for s in sources
                if (t := _local_target(html_dir, page, s)) is not None
                and t.resolve() == (html_dir / LOCAL_MATHJAX).resolve()
            ]
            if not local:
                problems.append(f"{page}: has formulas but does not load {LOCAL_MATHJAX}")
    assert with_math >= 5, f"only {with_math} pages with formulas: is the parser reading the pages?"
    assert not problems, "\n".join(problems)
