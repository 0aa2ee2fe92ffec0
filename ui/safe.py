"""Text from visitors (links, uploaded files, checkpoints) shown inside the app's Markdown elements.

Streamlit renders ``st.error``/``st.info``/``st.caption``/``st.markdown`` bodies as Markdown: a column name or
a URL value such as ``[Log in again](https://evil.example)`` would become a link in the app's own message box,
and ``![x](https://evil.example/t.png)`` an image the browser fetches. ``plain`` makes such text display
literally: it is embedded in every message that carries text a visitor chose.
"""

from __future__ import annotations

import re

# Characters that open Markdown, GFM, math or Streamlit constructs anywhere in a line: emphasis, code, links
# and images, autolinks and raw HTML, headings, strikethrough, math, tables, character references, e-mail
# autolinks; the backslash itself first so an escape in the text stays visible.
_ANYWHERE = re.compile(r"([\\`*_\[\]<>#~$|&@])")
_BARE_LINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=\bwww)(\.)")   # https://… and www.… become links in GFM
_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))")           # list items and setext underlines


def plain(text) -> str:
    """``text`` (anything; ``str()`` of it) as Markdown that displays exactly these characters on one line:
    newlines become spaces, and every character that could start Markdown is backslash-escaped."""
    one_line = " ".join(str(text).splitlines())
    escaped = _BARE_LINK.sub(lambda m: "\\" + m.group(0), _ANYWHERE.sub(r"\\\1", one_line))
    def marker(m: re.Match) -> str:
        return m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}")
    return _LINE_START.sub(marker, escaped, count=1)


_STORAGE_PATH = re.compile(r"(sqlite:///)/?(?:[^\s'\"/]+/)*([^\s'\"/]+)")       # sqlite:////srv/data/x.db
_ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s'\"(=]))/(?:[^\s'\"/()]+/)*([^\s'\"/()]+)")


def server_text(text) -> str:
    """A message from the core (an exception's text) for a visitor, as ``plain`` Markdown: absolute server
    paths are cut to their last part (the file or folder name), database URLs to the database's file name;
    the server's folder layout is no business of a visitor's."""
    short = _ABSOLUTE_PATH.sub(r"\1", _STORAGE_PATH.sub(r"\1\2", str(text)))
    return plain(short)
