"""Parse rendered HTML and report what would make it unsafe or broken."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_TAGS = frozenset({"meta", "br", "hr", "img", "input", "link"})


@dataclass
class Page:
    """What the parser saw."""

    tags: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    nesting_errors: list[str] = field(default_factory=list)
    tables: list[list[int]] = field(default_factory=list)  # per table, cells per row

    @property
    def tag_names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    @property
    def attribute_names(self) -> set[str]:
        return {name for _, attrs in self.tags for name, _ in attrs}

    def attribute_values(self, name: str) -> list[str]:
        return [value or "" for _, attrs in self.tags for key, value in attrs if key == name]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, attrs))
        if tag == "table":
            self.page.tables.append([])
        elif tag == "tr":
            self.page.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.page.tables[-1][-1] += 1
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.page.nesting_errors.append(f"</{tag}> while open: {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.page.text.append(data)


def parse(page_html: str) -> Page:
    """Parse a page; unbalanced tags are recorded in ``nesting_errors`` (a breakout closes ours early)."""
    page = Page()
    parser = _Parser(page)
    parser.feed(page_html)
    parser.close()
    if parser.stack:
        page.nesting_errors.append(f"unclosed: {parser.stack}")
    return page


def assert_safe(page: Page, allowed_tags: set[str]) -> None:
    """Only our own tags, no event handlers, no scripts, no external resources, balanced nesting."""
    assert page.tag_names <= allowed_tags, page.tag_names - allowed_tags
    assert not [n for n in page.attribute_names if n.startswith("on")]
    assert "script" not in page.tag_names
    assert not page.attribute_values("src")
    assert not [h for h in page.attribute_values("href") if ":" in h.split("#")[0]], "links must be relative"
    assert not page.nesting_errors
