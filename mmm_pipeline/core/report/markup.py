"""Small HTML builders: sections, tables, inlined figures, notes.

Every piece of text from the results files goes through :func:`esc`, so a channel called
``<b>TV</b>`` or a reason with an ampersand cannot break the page.
"""

import base64
import html
from collections.abc import Iterable, Sequence

DASH = "–"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def section(section_id: str, title: str, body: str, lead: str | None = None) -> str:
    """A ``<section id=...>`` with its heading; ``lead`` is a one-line plain-words reading aid."""
    lead_html = f'<p class="lead">{esc(lead)}</p>' if lead else ""
    return f'<section id="{esc(section_id)}">\n<h2>{esc(title)}</h2>\n{lead_html}\n{body}\n</section>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (), caption: str = "") -> str:
    """A table whose cells are already HTML (use :func:`esc` on text); ``numeric`` right-aligns columns."""
    numeric = set(numeric)
    head = "".join(f'<th{_num_class(i, numeric)}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{_num_class(i, numeric)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _num_class(i: int, numeric: set[int]) -> str:
    return ' class="num"' if i in numeric else ""


def figure(image: bytes, alt: str, caption: str = "") -> str:
    """An image inlined as a data URI (PNG, JPEG or SVG sniffed from the bytes)."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{data_uri(image)}" alt="{esc(alt)}" loading="eager">{cap}</figure>'


def data_uri(image: bytes) -> str:
    return f"data:{image_mime(image)};base64,{base64.b64encode(image).decode('ascii')}"


def image_mime(image: bytes) -> str:
    """The MIME type of image bytes; raises for anything the report cannot inline as an image."""
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if image.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = image[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in image[:2048].lower()):
        return "image/svg+xml"
    raise ValueError(f"not a PNG, JPEG or SVG image (starts with {image[:8]!r})")


def unavailable(text: str) -> str:
    return f'<p class="unavailable">{esc(text)}</p>'


def note(text: str, kind: str = "info") -> str:
    return f'<p class="note note-{esc(kind)}">{esc(text)}</p>'


def badge(text: str, kind: str) -> str:
    return f'<span class="badge badge-{esc(kind)}">{esc(text)}</span>'


def definition_list(items: Iterable[tuple[str, str]]) -> str:
    """``<dl>`` of (term, HTML description) pairs."""
    body = "".join(f"<dt>{esc(term)}</dt><dd>{desc}</dd>" for term, desc in items)
    return f"<dl>{body}</dl>"
