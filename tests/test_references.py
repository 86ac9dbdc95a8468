"""Every entry of a notebook's "## References" list is cited in the notebook's own prose.

Fast (no notebook runs): each ``notebooks/NN_*.py`` is read with jupytext; for every reference its
first author's surname and its year must appear within ``NEAR`` characters of each other somewhere
in the notebook's markdown outside the References section, so "Srivastava et al. (2014)",
"(Srivastava et al., 2014)" and "Srivastava, Hinton ... 2014" all count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_SOURCES = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
NEAR = 80  # characters allowed between a citation's surname and its year
REFERENCES_HEADING = re.compile(r"^#{1,6}\s+References\s*$", re.MULTILINE)
ANY_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)[a-z]?\b")


@dataclass(frozen=True)
class Reference:
    """One entry of a References list: its first author's surname, its year (None if it has
    none, e.g. course notes) and the entry's first line, for messages."""

    surname: str
    year: str | None
    entry: str


def markdown_cells(source: Path) -> list[str]:
    """The markdown cells' texts of a py:percent notebook."""
    return [c.source for c in jupytext.read(source).cells if c.cell_type == "markdown"]


def split_references(markdown: str) -> tuple[str, str]:
    """``(prose, references)``: the References section (its heading up to the next heading or
    the cell's end) cut out of one markdown cell."""
    found = REFERENCES_HEADING.search(markdown)
    if found is None:
        return markdown, ""
    after = found.end()
    following = ANY_HEADING.search(markdown, after)
    end = following.start() if following else len(markdown)
    return markdown[: found.start()] + markdown[end:], markdown[after:end]


def list_entries(section: str) -> list[str]:
    """The list items of a References section, each with its continuation lines joined."""
    entries: list[str] = []
    for line in section.splitlines():
        if re.match(r"^\s*[-*]\s+", line):
            entries.append(re.sub(r"^\s*[-*]\s+", "", line))
        elif entries and line.strip():
            entries[-1] += " " + line.strip()
    return entries


def parse_reference(entry: str) -> Reference:
    """First author's surname (the text before the first comma or parenthesis) and the year."""
    surname = re.split(r"[,(]", entry, maxsplit=1)[0].strip()
    surname = re.sub(r"\s+et al\.?$", "", surname).strip()
    year = YEAR.search(entry)
    return Reference(surname, year.group(1) if year else None, entry[:90])


def references_and_prose(source: Path) -> tuple[list[Reference], str]:
    """A notebook's references and its markdown prose outside the References section, with
    whitespace collapsed so that a citation broken over two lines still counts."""
    prose_parts, references = [], []
    for markdown in markdown_cells(source):
        prose, section = split_references(markdown)
        prose_parts.append(prose)
        references += [parse_reference(e) for e in list_entries(section)]
    return references, re.sub(r"\s+", " ", "\n".join(prose_parts))


def is_cited(reference: Reference, prose: str) -> bool:
    """The surname occurs (as a word) with the year at most ``NEAR`` characters away; a
    reference without a year needs only its surname."""
    pattern = re.compile(r"(?<!\w)" + re.escape(reference.surname) + r"(?!\w)")
    for hit in pattern.finditer(prose):
        if reference.year is None:
            return True
        window = prose[max(0, hit.start() - NEAR) : hit.end() + NEAR]
        if re.search(r"(?<!\d)" + reference.year + r"(?!\d)", window):
            return True
    return False


def uncited(source: Path) -> list[Reference]:
    """The references of a notebook that its prose never cites."""
    references, prose = references_and_prose(source)
    return [r for r in references if not is_cited(r, prose)]


@pytest.mark.parametrize("source", NOTEBOOK_SOURCES, ids=[p.stem for p in NOTEBOOK_SOURCES])
def test_every_reference_is_cited_in_the_prose(source: Path) -> None:
    references, _ = references_and_prose(source)
    assert references, f"{source.name} has no '## References' list"
    missing = uncited(source)
    assert not missing, f"{source.name}: references never cited in its prose:\n" + "\n".join(
        f"  {r.surname} ({r.year or 'no year'}): {r.entry}" for r in missing
    )


def test_the_parser_reads_the_usual_citation_forms() -> None:
    entry = "Srivastava, N., Hinton, G. (2014). *Dropout.* JMLR 15."
    reference = parse_reference(entry)
    assert (reference.surname, reference.year) == ("Srivastava", "2014")
    assert parse_reference("Wu, He (2018). Group normalization.").surname == "Wu"
    assert parse_reference("van Laarhoven, T. (2017). L2 ...").surname == "van Laarhoven"
    assert parse_reference("Karpathy, A. et al. CS231n notes").year is None
    for prose in (
        "as Srivastava et al. (2014) showed",
        "dropout (Srivastava et al., 2014)",
        "Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov, in 2014",
    ):
        assert is_cited(reference, prose), prose
    assert not is_cited(reference, "Srivastava et al. proposed it in a paper" + " x" * 50 + " 2014")
    assert not is_cited(reference, "Srivastava et al. (2015)")
    assert not is_cited(reference, "Srivastavas (2014)")


def test_the_references_section_is_not_counted_as_prose() -> None:
    cell = "Some text.\n\n## References\n- Smith, A. (2001). A book.\n\n## Next\nMore text."
    prose, section = split_references(cell)
    assert "Smith" not in prose and "More text." in prose
    assert list_entries(section) == ["Smith, A. (2001). A book."]
