"""Markdown to HTML for lessons, diagrams included, all rendered on the server."""

import markdown

from .diagrams import SequenceDiagramExtension


def render_markdown(text: str) -> str:
    """Render lesson Markdown. Lesson files are trusted content written by us;
    learner-written text never goes through here."""
    return markdown.markdown(
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
