"""`manage.py score_answer`: scoring without the web or the database."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "interview"
ANSWER = ("We save the order and then publish, so these are two separate commits. "
          "We don't need an outbox because Kafka is reliable.")


def run(*args) -> str:
    out = StringIO()
    call_command("score_answer", *args, "--scripts-dir", str(FIXTURE_DIR), stdout=out)
    return out.getvalue()


@pytest.fixture
def answer_file(tmp_path):
    path = tmp_path / "answer.txt"
    path.write_text(ANSWER)
    return path


def test_json_gives_each_rubric_items_result_and_the_total(answer_file):
    result = json.loads(run("checkout-outbox-drill", "1", "--answer-file", str(answer_file), "--json"))
    assert result["script"] == "checkout-outbox-drill" and result["prompt"] == 1
    assert result["total"] == 38
    items = {item["id"]: item for item in result["items"]}
    assert list(items) == ["two-commit-points", "crash-window", "outbox"]
    assert items["two-commit-points"]["matched"] is True
    assert items["two-commit-points"]["sentence"] == "We save the order and then publish, so these are two separate commits."
    assert ANSWER[slice(*items["two-commit-points"]["span"])] == items["two-commit-points"]["sentence"]
    assert items["outbox"]["matched"] is False and items["outbox"]["discounted"][0]["reason"] == "negated: n't"
    assert result["follow_up"]["id"] == "outbox"


def test_the_same_answer_prints_the_same_bytes(answer_file):
    args = ("checkout-outbox-drill", "1", "--answer-file", str(answer_file), "--json")
    assert run(*args) == run(*args)


def test_without_json_it_prints_a_readable_table(answer_file):
    out = run("checkout-outbox-drill", "1", "--answer-file", str(answer_file))
    assert "met     two-commit-points  w3" in out
    assert "missed  outbox             w3" in out
    assert out.rstrip().endswith("follow-up: How would you make the publish happen if and only if the order commits?")
    assert "total: 38/100" in out


@pytest.mark.parametrize("args, message", [
    (("no-such-script", "1"), "no script 'no-such-script'"),
    (("checkout-outbox-drill", "4"), "checkout-outbox-drill has prompts 1 to 3, not 4"),
    (("checkout-outbox-drill", "0"), "not 0"),
])
def test_bad_arguments_are_readable_errors(answer_file, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args, "--answer-file", str(answer_file))


def test_a_missing_answer_file_is_a_readable_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read the answer file"):
        run("checkout-outbox-drill", "1", "--answer-file", str(tmp_path / "nope.txt"))
