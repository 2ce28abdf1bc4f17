"""The report page as the tests read it: tags, ids and table rows."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """Tags, attributes and the ids and table rows the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: dict[str, int] = {}
        self._table = ""
        self._body = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("id") or ""
        self._body = tag == "tbody" or (self._body and tag != "table")
        if tag == "tr" and self._body:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}
