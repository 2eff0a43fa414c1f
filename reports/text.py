"""Station text as the reports show it: every control, format or bidi character visible.

A station chooses its vendor string, its idTags, its error texts and every payload; so do the
keys of its configuration. Wherever the reports put such text in front of people (HTML, SVG,
JUnit), `bench.textsafe.visible` writes each invisible character as an escape (`\\x1b`,
`\\u202e`): nothing reorders the text after it, hides in it, or breaks the XML of junit.xml.
"""

from __future__ import annotations

from html import escape

from bench.textsafe import visible


def shown(text: str) -> str:
    """`visible(text)` line by line: a traceback, a rig file or a JUnit body keeps its line
    breaks; every other control character is escaped."""
    if text.isprintable():
        return text
    return "\n".join(visible(line) for line in text.split("\n"))


def markup_text(value: object) -> str:
    """Text for the SVG and HTML the reports build themselves: visible, then escaped."""
    return escape(visible(str(value)))
