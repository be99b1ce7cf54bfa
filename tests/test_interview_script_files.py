"""Interview scripts: parsing, validation errors that name what to fix, and idempotent loading."""

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from interview.loader import load_interview_scripts
from interview.models import InterviewPrompt, InterviewScript, PracticeSession
from interview.script_files import SCRIPTS_DIR, ScriptFileError, lesson_slugs_on_disk, parse_script_dir, parse_script_file
from lessons.models import Learner

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "interview"
FIXTURE = FIXTURE_DIR / "checkout-outbox-drill.yaml"


def fixture_data() -> dict:
    return yaml.safe_load(FIXTURE.read_text())


def write(directory: Path, data: dict, name: str | None = None) -> Path:
    path = directory / f"{name or data['slug']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_for(tmp_path, data: dict, name: str | None = None) -> str:
    with pytest.raises(ScriptFileError) as excinfo:
        parse_script_file(write(tmp_path, data, name), lesson_slugs=lesson_slugs_on_disk())
    return str(excinfo.value)


def test_the_fixture_parses_into_prompts_in_order_with_their_rubrics():
    script = parse_script_file(FIXTURE, lesson_slugs=lesson_slugs_on_disk())
    assert script.slug == "checkout-outbox-drill" and script.level == "senior"
    assert [p.number for p in script.prompts] == [1, 2, 3]
    assert [item.id for item in script.prompts[0].rubric] == ["two-commit-points", "crash-window", "outbox"]
    assert script.prompts[0].rubric[0].exclude == ["no dual[- ]write problem"]
    assert script.prompts[1].rubric[0].exclude == []  # optional


def test_a_bad_regex_is_reported_with_file_prompt_item_and_field(tmp_path):
    data = fixture_data()
    data["prompts"][1]["rubric"][1]["match"].append("idempoten(t")
    message = error_for(tmp_path, data)
    assert message.startswith("checkout-outbox-drill.yaml: prompt 2: rubric item 'idempotent-consumer': field 'match', pattern 4")
    assert "not a valid regular expression" in message


def test_a_bad_exclude_regex_is_reported_too(tmp_path):
    data = fixture_data()
    data["prompts"][0]["rubric"][0]["exclude"] = ["[unclosed"]
    assert "prompt 1: rubric item 'two-commit-points': field 'exclude', pattern 1" in error_for(tmp_path, data)


def test_a_pattern_that_matches_everything_is_refused(tmp_path):
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["match"] = ["(outbox)?"]
    assert "matches the empty string" in error_for(tmp_path, data)


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(slug="other-slug"), "field 'slug' is 'other-slug' but the file is named"),
    (lambda d: d.update(level="junior"), "field 'level' must be one of senior, staff"),
    (lambda d: d.update(topics=["no-such-lesson"]), "field 'topics': 'no-such-lesson' is not a lesson slug"),
    (lambda d: d.update(experiments=["chaos-monkey"]), "field 'experiments': 'chaos-monkey' is not one of"),
    (lambda d: d.update(prompts=d["prompts"][:2]), "field 'prompts' must list 3–6 prompts"),
    (lambda d: d.update(notes="x"), "unknown field(s): notes"),
    (lambda d: d["prompts"][2].update(minutes=30), "prompt 3: field 'minutes' must be a whole number from 2 to 10"),
    (lambda d: d["prompts"][0].pop("model_answer"), "prompt 1: field 'model_answer' is missing or empty"),
    (lambda d: d["prompts"][0].update(pitfalls=[]), "prompt 1: field 'pitfalls' must be a non-empty list"),
    (lambda d: d["prompts"][0].update(rubric=d["prompts"][0]["rubric"][:2]), "prompt 1: field 'rubric' must list 3–6 items"),
    (lambda d: d["prompts"][0]["rubric"][1].update(weight=5),
     "prompt 1: rubric item 'crash-window': field 'weight' must be a whole number from 1 to 3"),
    (lambda d: d["prompts"][0]["rubric"][1].pop("follow_up"), "prompt 1: rubric item 'crash-window': field 'follow_up' is missing"),
    (lambda d: d["prompts"][0]["rubric"][1].update({"follow-up": "typo"}), "rubric item 'crash-window': unknown field(s): follow-up"),
    (lambda d: d["prompts"][0]["rubric"][1].update(match=[]), "rubric item 'crash-window': field 'match' must be a non-empty list"),
    (lambda d: d["prompts"][2]["rubric"][0].update(id="outbox"),
     "prompt 3: rubric item 'outbox': field 'id': 'outbox' is also used in prompt 1"),
])
def test_mistakes_in_a_script_name_the_file_and_the_field(tmp_path, change, expected):
    data = fixture_data()
    change(data)
    message = error_for(tmp_path, data, name="checkout-outbox-drill")
    assert message.startswith("checkout-outbox-drill.yaml: ") and expected in message


def test_invalid_yaml_is_reported_with_the_file_name(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("slug: [unclosed\n")
    with pytest.raises(ScriptFileError, match=r"^broken\.yaml: not valid YAML"):
        parse_script_file(path)


def test_the_real_scripts_are_valid_and_at_least_ten():
    scripts = parse_script_dir(SCRIPTS_DIR, lesson_slugs=lesson_slugs_on_disk())
    assert len(scripts) >= 10, f"only {len(scripts)} scripts in interview/scripts/: {[s.slug for s in scripts]}"


# --- loading -----------------------------------------------------------------------------------

@pytest.fixture
def scripts_dir(tmp_path):
    directory = tmp_path / "scripts"
    directory.mkdir()
    shutil.copy(FIXTURE, directory)
    return directory


@pytest.mark.django_db
def test_loading_twice_creates_nothing_new(scripts_dir):
    assert load_interview_scripts(scripts_dir) == (
        "interview scripts: 1 created, 0 updated, 0 retired; prompts: 3 loaded, 0 retired")
    ids = list(InterviewPrompt.objects.values_list("id", flat=True))
    assert load_interview_scripts(scripts_dir) == (
        "interview scripts: 0 created, 1 updated, 0 retired; prompts: 3 loaded, 0 retired")
    assert InterviewScript.objects.count() == 1
    assert list(InterviewPrompt.objects.values_list("id", flat=True)) == ids


@pytest.mark.django_db
def test_loading_stores_rubrics_with_their_topics_and_renders_model_answers(scripts_dir):
    load_interview_scripts(scripts_dir)
    prompt = InterviewPrompt.objects.get(script__slug="checkout-outbox-drill", number=1)
    assert [item["id"] for item in prompt.rubric] == ["two-commit-points", "crash-window", "outbox"]
    assert {item["id"]: item["topic"] for item in prompt.rubric} == {
        "two-commit-points": "dual-write", "crash-window": "dual-write", "outbox": "transactional-outbox"}
    assert "<strong>two systems</strong>" in prompt.model_answer_html


@pytest.mark.django_db
def test_an_edit_updates_in_place_and_a_removed_prompt_or_script_is_retired_not_deleted(scripts_dir):
    load_interview_scripts(scripts_dir)
    script = InterviewScript.objects.get()
    session = PracticeSession.objects.create(learner=Learner.objects.create(), script=script,
                                             prompt_numbers=[1, 2, 3], started_at="2026-01-01T00:00Z")
    data = fixture_data()
    data["title"] = "Renamed"
    data["prompts"][0]["text"] = "A new first question?"
    data["prompts"].append(dict(copy.deepcopy(data["prompts"][2]), text="A fourth question?"))
    for item in data["prompts"][3]["rubric"]:
        item["id"] += "-again"
    write(scripts_dir, data)
    load_interview_scripts(scripts_dir)
    script.refresh_from_db()
    assert script.title == "Renamed" and script.prompts.count() == 4
    assert script.prompts.get(number=1).text == "A new first question?"

    data["prompts"] = data["prompts"][:3]
    write(scripts_dir, data)
    assert load_interview_scripts(scripts_dir).endswith("prompts: 3 loaded, 1 retired")
    assert list(script.active_prompts().values_list("number", flat=True)) == [1, 2, 3]
    assert script.prompts.get(number=4).active is False

    (scripts_dir / "checkout-outbox-drill.yaml").unlink()
    assert load_interview_scripts(scripts_dir).startswith("interview scripts: 0 created, 0 updated, 1 retired")
    script.refresh_from_db()
    assert script.active is False
    assert PracticeSession.objects.filter(id=session.id).exists()


@pytest.mark.django_db
def test_one_bad_file_loads_nothing(scripts_dir):
    data = fixture_data()
    data["slug"] = "second"
    data["prompts"][0]["rubric"][0]["match"] = ["(("]
    write(scripts_dir, data)
    with pytest.raises(ScriptFileError, match=r"^second\.yaml: prompt 1: rubric item 'two-commit-points'"):
        load_interview_scripts(scripts_dir)
    assert not InterviewScript.objects.exists()


@pytest.mark.django_db
def test_the_command_loads_and_reports(scripts_dir, capsys):
    call_command("load_interview_scripts", "--scripts-dir", str(scripts_dir))
    assert "1 created" in capsys.readouterr().out
    assert InterviewScript.objects.filter(slug="checkout-outbox-drill", active=True).exists()


@pytest.mark.django_db
def test_the_command_turns_a_bad_file_into_a_readable_error(scripts_dir):
    (scripts_dir / "checkout-outbox-drill.yaml").write_text("slug: checkout-outbox-drill\n")
    with pytest.raises(CommandError, match=r"checkout-outbox-drill\.yaml: field 'title' is missing or empty"):
        call_command("load_interview_scripts", "--scripts-dir", str(scripts_dir))


@pytest.mark.django_db
def test_the_real_scripts_load(capsys):
    call_command("load_interview_scripts")
    assert InterviewScript.objects.filter(active=True).count() >= 10


def test_ideas_name_concepts_of_the_shared_vocabulary_and_a_typo_is_reported(tmp_path):
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["ideas"] = [["outbox|same-transaction", "relay"], ["same-transactoin", "relay"]]
    message = error_for(tmp_path, data)
    assert message == ("checkout-outbox-drill.yaml: prompt 1: rubric item 'outbox': field 'ideas', idea 2: "
                       "'same-transactoin' is not a concept in vocabulary.yaml")


@pytest.mark.parametrize("phrase", ["balance >=", "id > ", "= 0"])
def test_an_idea_phrase_that_lost_one_side_of_its_comparison_is_reported(tmp_path, phrase):
    # Words are matched as stems and symbols dropped: "balance >=" would credit any sentence naming a balance.
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["ideas"] = [[f"{phrase}|outbox", "relay"]]
    assert error_for(tmp_path, data).endswith("ends in a comparison that is not matched: write it in words")


def test_an_item_may_have_ideas_instead_of_patterns(tmp_path):
    data = fixture_data()
    del data["prompts"][0]["rubric"][2]["match"]
    data["prompts"][0]["rubric"][2]["ideas"] = [["outbox", "same-transaction"]]
    item = parse_script_file(write(tmp_path, data), lesson_slugs=lesson_slugs_on_disk()).prompts[0].rubric[2]
    assert item.match == [] and item.ideas == [["outbox", "same-transaction"]]
    data["prompts"][0]["rubric"][2]["ideas"] = []
    assert "field 'match' must be a non-empty list" in error_for(tmp_path, data)


def test_an_idea_of_too_many_concepts_is_refused(tmp_path):
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["ideas"] = [["outbox", "relay", "crash", "lost", "retry", "lease"]]
    assert "field 'ideas', idea 1: must list 1–5 concepts" in error_for(tmp_path, data)


def test_the_shared_vocabulary_parses_and_every_script_uses_it():
    from interview.concepts import parse_vocabulary

    vocabulary = parse_vocabulary()
    assert len(vocabulary.concepts) >= 50
    scripts = parse_script_dir(lesson_slugs=lesson_slugs_on_disk())
    assert all(any(item.ideas for prompt in s.prompts for item in prompt.rubric) for s in scripts)


def test_the_high_availability_script_ends_with_the_source_articles_own_question():
    from interview.scoring import ALMOST, MISSED, NEAR_CREDIT, score_answer

    script = parse_script_file(SCRIPTS_DIR / "high-availability-order-platform.yaml", lesson_slugs=lesson_slugs_on_disk())
    last = script.prompts[-1]
    assert last.text == "How would you ensure high availability and fault tolerance for this specific architecture?"
    assert {item.id for item in last.rubric} >= {"five-nines-arithmetic", "async-replication-window",
                                                 "retries-need-idempotency", "breaker-protects-caller"}
    # The article's own candidate answer names the right tools and corrects none of its loose parts.
    candidate = ("To achieve 'Five Nines' (99.999%) availability, we must eliminate all Single Points of Failure (SPOF). "
                 "I would deploy the API Gateway and stateless microservices across multiple Availability Zones (AZs) "
                 "behind an active-active load balancer. For the data layer, I would use asynchronous replication to a "
                 "read-replica in a different region for disaster recovery. Furthermore, it's not enough to just deploy "
                 "redundantly; we must protect the system from cascading failures. I would implement strict timeouts, "
                 "retry mechanisms with exponential backoff and jitter, and Circuit Breakers (using a library like "
                 "Resilience4j) on all synchronous network calls between microservices.")
    result = score_answer(candidate, last.rubric_dicts)
    # It reaches for each idea without saying it, so it earns at most the little an idea almost said earns.
    assert not any(item.matched for item in result.items) and {item.status for item in result.items} <= {ALMOST, MISSED}
    assert result.total <= 100 * NEAR_CREDIT


@pytest.mark.parametrize("phrase", ["3^4", "/s", "a/b"])
def test_an_idea_phrase_left_with_only_numbers_or_letters_once_its_symbols_drop_is_reported(tmp_path, phrase):
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["ideas"] = [[f"{phrase}|outbox", "relay"]]
    message = error_for(tmp_path, data)
    assert "has no words to match" in message or "only numbers or single letters" in message, message


@pytest.mark.parametrize("parts", [0, 99, "two", True])
def test_an_item_cannot_ask_for_more_parts_than_it_has_patterns_and_ideas(tmp_path, parts):
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["parts"] = parts
    assert error_for(tmp_path, data).endswith(
        "field 'parts' must be a whole number from 1 to the number of its patterns and ideas")


def test_an_item_may_ask_for_two_of_its_parts(tmp_path):
    data = fixture_data()
    data["prompts"][0]["rubric"][2]["parts"] = 2
    script = parse_script_file(write(tmp_path, data), lesson_slugs=lesson_slugs_on_disk())
    assert script.prompts[0].rubric[2].parts == 2 and script.prompts[0].rubric[0].parts == 1
