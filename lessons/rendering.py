"""Markdown to HTML for lessons, diagrams included, all rendered on the server."""

import markdown

from .diagrams import SequenceDiagramExtension


def render_markdown(text: str) -> str:
    """Render lesson Markdown. Lesson files are trusted content written by us;
    learner-written text never goes through here."""
    html = markdown.markdown(
        text,
        extensions=[
            SequenceDiagramExtension(),
            "fenced_code",
            "codehilite",
            "tables",
            "admonition",
            "attr_list",
            "toc",
            "sane_lists",
        ],
        extension_configs={
            "codehilite": {"guess_lang": False, "css_class": "codehilite"},
            "toc": {"permalink": "#", "toc_depth": "2-3"},
        },
        output_format="html",
    )
    # Code and tables scroll sideways on a phone; a keyboard user must be able to
    # reach (focus) a region to scroll it.
    html = html.replace('<div class="codehilite">', '<div class="codehilite" tabindex="0" role="group" aria-label="Code">')
    return html.replace("<table>", '<div class="table-scroll" tabindex="0" role="group" aria-label="Table"><table>').replace(
        "</table>", "</table></div>")
