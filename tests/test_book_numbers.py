"""No chapter types a number that a run measured: it is glued, or it is a listed constant.

A chapter's prose may show a number in three ways:

* **glued** from the walkthrough notebook that computed it —
  ``{glue:text}`../notebooks/02_quantization.ipynb::ch02_median_sqnr:.0f``` — or from the
  results file a full-mode benchmark run wrote — ``{result}`quantization:tflite.ptq.accuracy:.2%```
  (``book/_ext/results.py``); the book then always shows what the run measured;
* **a constant** listed in ``book/constants/*.yml`` with its source: a datasheet or paper (a
  key of ``book/references.bib``), a setting of the course's code (a file of the repository
  that contains the number), or ``definition`` (arithmetic, a format's definition — 8 bits
  give 256 levels) with a reason;
* a small count (0 to 10) or a year, which need neither.

Anything else fails this test with the chapter, line and sentence, so a number copied by
hand from a run cannot drift from it. Code, formulas, roles and link targets are not prose
and are skipped.
"""

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("0*.md"))
CONSTANTS = BOOK / "constants"  # *.yml, each {chapter file name: [{value, source, why}, ...]}
BIB_KEYS = set(re.findall(r"@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text()))

UNITS = (
    r"%|×|x\b|\s?(?:ms|µs|us|ns|s|min|h|dB|kB|KB|KiB|MB|MiB|GB|GiB|B|bytes?|bits?|MHz|GHz|kHz|Hz|"
    r"mW|µW|W|mA|µA|mAh|mJ|µJ|nJ|J|V|kbps|Mbps|bps|km|m|MACs?|parameters?|epochs?)\b"
)
NUMBER = re.compile(r"(?<![\w.\-/^_])(\d[\d,]*(?:\.\d+)?)(" + UNITS + r")?(?![\w\-]|\.\d)")

FENCE = re.compile(r"^(`{3,}|~{3,}|:{3,})\s*(\{[\w:-]+\})?\s*(\S*)")
NOT_PROSE_DIRECTIVES = {
    "{code-cell}",
    "{code-block}",
    "{code}",
    "{math}",
    "{raw}",
    "{literalinclude}",
    "{bibliography}",
}
ROLE = re.compile(r"\{[\w:.+-]+\}`[^`]*`")


def prose_lines(path: pathlib.Path):
    """``(line number, text)`` of a chapter's prose: no code, formulas, roles, link targets or options."""
    skipping, open_fences, in_math, in_comment = None, [], False, False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if skipping:  # inside code or a formula block: wait for its closing fence
            if stripped == skipping:
                skipping = None
            continue
        if in_comment:
            in_comment = "-->" not in line
            continue
        if stripped.startswith("<!--"):
            in_comment = "-->" not in line
            continue
        if in_math:
            in_math = not stripped.endswith("$$")
            continue
        if stripped.startswith("$$"):
            in_math = not (len(stripped) > 2 and stripped.endswith("$$"))
            continue
        fence = FENCE.match(stripped)
        if fence:
            marks, directive, _ = fence.groups()
            if open_fences and stripped == open_fences[-1]:  # closes a directive (figure, note …)
                open_fences.pop()
            elif directive and directive not in NOT_PROSE_DIRECTIVES:
                open_fences.append(marks)  # its body is prose; its first line (name, path) is not
            else:
                skipping = marks  # code, or a formula directive
            continue
        if re.match(r"^:[\w-]+:", stripped) and not stripped.startswith(":alt:"):  # a directive's option
            continue
        if re.match(r"^\(.*\)=\s*$", stripped):  # a label
            continue
        text = ROLE.sub(" ", line)
        text = re.sub(r"`[^`]*`", " ", text)  # inline code
        text = re.sub(r"\$[^$]+\$", " ", text)  # inline math
        text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
        text = re.sub(r"<[^>]+>", " ", text)  # HTML tags
        text = re.sub(r"^\s*(#+\s*)?(\d+\.)+\s", " ", text)  # "1. " list items, "## 2. " headings
        text = re.sub(r"^\s*#+\s*Chapter\s+\d+", " ", text)
        yield number, text


def numbers_in(text: str):
    for match in NUMBER.finditer(text):
        yield match.group(0).strip(), match.group(1), match.group(2)


def needs_a_source(token: str, digits: str, unit: str | None) -> bool:
    plain = digits.replace(",", "")
    if unit is None and re.fullmatch(r"\d+", plain):
        value = int(plain)
        if value <= 10 or (1950 <= value <= 2030 and "," not in digits):
            return False
    return True


def load_constants() -> dict:
    """``{chapter file name: [entries]}`` from every ``book/constants/*.yml``."""
    merged = {}
    for path in sorted(CONSTANTS.glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        unknown = set(data) - {p.name for p in CHAPTERS}
        assert not unknown, f"book/constants/{path.name} names chapters that do not exist: {sorted(unknown)}"
        for chapter, entries in data.items():
            merged.setdefault(chapter, []).extend(entries or [])
    return merged


def unsourced_numbers(path: pathlib.Path, allowed: set) -> list:
    found = []
    for line_number, text in prose_lines(path):
        for token, digits, unit in numbers_in(text):
            if needs_a_source(token, digits, unit) and token not in allowed and digits not in allowed:
                found.append(f"{path.name}:{line_number}: {token!r} in “{text.strip()[:160]}”")
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_quotes_no_unglued_measured_number(chapter):
    allowed = {str(entry["value"]) for entry in load_constants().get(chapter.name, [])}
    found = unsourced_numbers(chapter, allowed)
    assert not found, (
        f"{len(found)} number(s) typed by hand in {chapter.name}: glue each from the run that measured it "
        "({glue:text}`../notebooks/NB.ipynb::key:FORMAT` or {result}`benchmark:key:FORMAT`), or list it in "
        "book/constants/*.yml with its source:\n" + "\n".join(found)
    )


def test_every_listed_constant_has_a_source_and_is_used():
    problems = []
    for chapter, entries in load_constants().items():
        prose = "\n".join(text for _, text in prose_lines(BOOK / chapter))
        tokens = {t for t, d, u in numbers_in(prose)} | {d for t, d, u in numbers_in(prose)}
        for entry in entries:
            value, source, why = str(entry.get("value", "")), str(entry.get("source", "")), entry.get("why", "")
            if value not in tokens:
                problems.append(f"{chapter}: {value!r} is listed but no longer in the chapter's prose")
            if not why:
                problems.append(f"{chapter}: {value!r} says no why")
            if source in BIB_KEYS or source == "definition":
                continue
            file = ROOT / source
            if not file.is_file():
                problems.append(
                    f"{chapter}: {value!r} cites {source!r}, neither a key of book/references.bib, "
                    "'definition', nor a file of the repository"
                )
            elif re.sub(r"[^\d.]", "", value.split()[0]).rstrip(".") not in re.sub(
                r"(?<=\d)[,_](?=\d)", "", file.read_text()
            ):
                problems.append(f"{chapter}: {value!r} is said to be a setting in {source}, which does not contain it")
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_typed_number(tmp_path):
    # the rule itself: a measured-looking number in prose is caught; code, roles and math are not prose
    sample = tmp_path / "probe.md"
    sample.write_text(
        "The median SQNR is 63 dB and accuracy 96.94%.\n\n```python\nx = 12345\n```\n"
        "Glued: {glue:text}`../notebooks/02_quantization.ipynb::k:.1f` and $2^{31}$ and `1234`.\n"
    )
    found = unsourced_numbers(sample, set())
    assert [f.split(": ", 1)[1].split(" in ")[0] for f in found] == ["'63 dB'", "'96.94%'"]
