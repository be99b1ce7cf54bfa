"""Lessons: loaded idempotently from Markdown files, rendered with diagrams and no CDN."""

import re
from pathlib import Path

import pytest

from lessons.content_loader import CONTENT_DIR, LessonFileError, load_lessons, parse_lesson_file
from lessons.models import Lesson

GOOD_FRONT_MATTER = """---
slug: sample
title: A sample lesson
order: 1
minutes: 10
summary: Short.
objectives:
  - Explain a thing.
---
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.django_db
def test_loading_twice_updates_in_place_and_never_duplicates():
    created, _ = load_lessons()
    ids = dict(Lesson.objects.values_list("slug", "id"))
    assert created == len(list(CONTENT_DIR.glob("*.md"))) > 0
    created_again, updated = load_lessons()
    assert (created_again, updated) == (0, len(ids))
    assert dict(Lesson.objects.values_list("slug", "id")) == ids


@pytest.mark.django_db
def test_a_changed_file_updates_its_lesson(tmp_path):
    write(tmp_path, "01-sample.md", GOOD_FRONT_MATTER + "Old body.\n")
    load_lessons(tmp_path)
    write(tmp_path, "01-sample.md", GOOD_FRONT_MATTER.replace("A sample lesson", "Renamed") + "New body.\n")
    load_lessons(tmp_path)
    lesson = Lesson.objects.get(slug="sample")
    assert lesson.title == "Renamed"
    assert "New body." in lesson.body_html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("no front matter", "must start with a '---' line"),
        ("---\nslug: x\n", "never closed"),
        (GOOD_FRONT_MATTER.replace("minutes: 10\n", ""), "field 'minutes' is missing"),
        (GOOD_FRONT_MATTER.replace("order: 1", "order: first"), "field 'order' must be a int"),
        (GOOD_FRONT_MATTER.replace("title: A sample lesson", "title: [unclosed"), "not valid YAML"),
        (GOOD_FRONT_MATTER.replace("minutes: 10", "minutes: 10\ncolour: red"), "unknown front matter field(s): colour"),
    ],
)
def test_bad_front_matter_names_the_file_and_the_field(tmp_path, text, expected):
    path = write(tmp_path, "07-broken.md", text)
    with pytest.raises(LessonFileError) as error:
        parse_lesson_file(path)
    assert str(error.value).startswith("07-broken.md: ")
    assert expected in str(error.value)


@pytest.mark.django_db
def test_a_broken_diagram_names_the_file_and_its_line_and_loads_nothing(tmp_path):
    write(tmp_path, "01-sample.md", GOOD_FRONT_MATTER + "Intro.\n\n```sequence\nA -> B: fine\nA => B: broken\n```\n")
    with pytest.raises(LessonFileError) as error:
        load_lessons(tmp_path)
    # Front matter is 9 lines; the broken arrow is on line 14 of the file.
    assert str(error.value).startswith("01-sample.md: line 14:")
    assert not Lesson.objects.exists()


@pytest.mark.django_db
def test_the_catalogue_lists_the_dual_write_lesson(client, lessons_loaded):
    response = client.get("/")
    assert response.status_code == 200
    assert b"The dual-write problem" in response.content


@pytest.mark.django_db
def test_the_catalogue_says_how_to_load_lessons_when_there_are_none(client):
    assert b"No lessons are loaded yet" in client.get("/").content


@pytest.mark.django_db
def test_the_lesson_page_renders_markdown_diagram_code_and_experiment_link(client, lessons_loaded):
    html = client.get("/lessons/dual-write/").content.decode()
    assert '<figure class="diagram" tabindex="0"' in html and '<svg' in html  # focusable: it scrolls on a phone
    assert 'class="codehilite"' in html
    assert "<h2" in html and "Common misconceptions" in html
    assert 'href="/experiments/dual-write/"' in html


@pytest.mark.django_db
def test_no_page_loads_a_script_or_stylesheet_from_another_host(client, lessons_loaded):
    for url in ["/", "/lessons/dual-write/", "/experiments/dual-write/"]:
        html = client.get(url).content.decode()
        assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert assets, url
        assert all(asset.startswith("/static/") for asset in assets), (url, assets)


@pytest.mark.django_db
def test_an_unknown_lesson_is_a_readable_404(client):
    response = client.get("/lessons/nope/")
    assert response.status_code == 404
    assert b"Not found" in response.content
    assert b"Back to the lessons" in response.content


@pytest.mark.django_db
def test_the_load_lessons_command_reports_a_bad_file_clearly(tmp_path):
    from django.core.management import CommandError, call_command

    write(tmp_path, "03-bad.md", GOOD_FRONT_MATTER.replace("slug: sample\n", ""))
    with pytest.raises(CommandError, match="03-bad.md: front matter field 'slug' is missing"):
        call_command("load_lessons", content_dir=tmp_path, quiz_dir=tmp_path)
