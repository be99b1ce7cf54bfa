from django import forms
from django.utils import timezone

from lessons.models import Question
from playground.experiments import EXPERIMENTS

from .models import JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, Poll

NUMBER_LIMIT = 1e12


class ClassroomForm(forms.Form):
    name = forms.CharField(max_length=120, label="Class name")


class JoinCodeForm(forms.Form):
    code = forms.CharField(max_length=12, label="Join code")

    def clean_code(self):
        # People type codes in lower case and with spaces; the alphabet has no look-alikes.
        code = "".join(self.cleaned_data["code"].split()).upper()
        if len(code) != JOIN_CODE_LENGTH or any(ch not in JOIN_CODE_ALPHABET for ch in code):
            raise forms.ValidationError(f"A join code is {JOIN_CODE_LENGTH} letters and digits, as shown on the screen.")
        return code


class NicknameForm(forms.Form):
    nickname = forms.CharField(max_length=40, min_length=1, label="Your nickname",
                               help_text="What the class sees; no sign-up needed.")

    def clean_nickname(self):
        nickname = " ".join(self.cleaned_data["nickname"].split())
        if not nickname:
            raise forms.ValidationError("Type a nickname.")
        return nickname


class TypedPollForm(forms.Form):
    kind = forms.ChoiceField(choices=Poll.Kind.choices, initial=Poll.Kind.SINGLE)
    prompt = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Question")
    choices = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              label="Choices, one per line (2 to 8)")
    correct = forms.CharField(required=False, max_length=60, label="Right answer (optional)",
                              help_text="Choice numbers, e.g. 2 or 1,3; for a number, the value, optionally ± tolerance, e.g. 40±5.")

    def clean(self):
        cleaned = super().clean()
        kind, raw_correct = cleaned.get("kind"), (cleaned.get("correct") or "").strip()
        if kind is None:
            return cleaned
        if kind == Poll.Kind.NUMBER:
            cleaned["choices"] = []
            cleaned["correct"] = _parse_number_answer(raw_correct) if raw_correct else None
            return cleaned
        lines = [line.strip() for line in (cleaned.get("choices") or "").splitlines() if line.strip()]
        if not 2 <= len(lines) <= 8:
            raise forms.ValidationError({"choices": "Give between 2 and 8 choices, one per line."})
        if any(len(line) > 200 for line in lines):
            raise forms.ValidationError({"choices": "Keep each choice under 200 characters."})
        cleaned["choices"] = lines
        cleaned["correct"] = None
        if raw_correct:
            try:
                picked = sorted({int(part) - 1 for part in raw_correct.replace(" ", "").split(",")})
            except ValueError:
                raise forms.ValidationError({"correct": "Give choice numbers separated by commas, e.g. 1,3."})
            if not picked or picked[0] < 0 or picked[-1] >= len(lines):
                raise forms.ValidationError({"correct": f"Choice numbers go from 1 to {len(lines)}."})
            if kind == Poll.Kind.SINGLE and len(picked) != 1:
                raise forms.ValidationError({"correct": "A single-choice poll has exactly one right choice."})
            cleaned["correct"] = picked
        return cleaned


def _parse_number_answer(raw: str) -> dict:
    value, _, tolerance = raw.replace("+-", "±").replace("+/-", "±").partition("±")
    try:
        answer, tol = float(value), float(tolerance or 0)
    except ValueError:
        raise forms.ValidationError({"correct": "Give a number, optionally with ± and a tolerance, e.g. 40±5."})
    if not (abs(answer) <= NUMBER_LIMIT and 0 <= tol <= NUMBER_LIMIT):
        raise forms.ValidationError({"correct": "That number is out of range."})
    return {"answer": answer, "tolerance": tol}


def bank_questions():
    return Question.objects.filter(active=True, kind__in=[Question.Kind.SINGLE, Question.Kind.MULTIPLE,
                                                          Question.Kind.NUMERIC]).select_related("lesson")


class BankPollForm(forms.Form):
    question = forms.ModelChoiceField(queryset=Question.objects.none(), label="Question from the quiz bank")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["question"].queryset = bank_questions()
        self.fields["question"].label_from_instance = lambda q: f"{q.lesson.title}: {q.prompt[:90]}"


def poll_from_question(question: Question) -> dict:
    """A quiz-bank question as the keyword arguments of poll_create."""
    if question.kind == Question.Kind.NUMERIC:
        data = question.data
        return {"kind": Poll.Kind.NUMBER, "prompt": question.prompt, "question": question,
                "correct": {"answer": data["answer"], "tolerance": data.get("tolerance", 0)}}
    choices = question.data["choices"]
    return {
        "kind": Poll.Kind.SINGLE if question.kind == Question.Kind.SINGLE else Poll.Kind.MULTIPLE,
        "prompt": question.prompt, "question": question, "choices": [c["text"] for c in choices],
        "correct": [i for i, c in enumerate(choices) if c["correct"]],
    }


def prediction_choices():
    return [
        (f"{experiment.slug}:{name}", f"{experiment.title} — {preset.label}")
        for experiment in EXPERIMENTS.values() if experiment.prediction
        for name, preset in experiment.presets.items() if preset.params.get("engine") != "live"
    ]


class PredictionPollForm(forms.Form):
    scenario = forms.ChoiceField(choices=(), label="Experiment and preset")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = prediction_choices()

    def clean(self):
        cleaned = super().clean()
        if "scenario" not in cleaned:
            return cleaned
        slug, _, preset_name = cleaned["scenario"].partition(":")
        experiment = EXPERIMENTS[slug]
        params, errors = experiment.clean_params(experiment.presets[preset_name].params)
        if errors:
            raise forms.ValidationError(f"That preset is not valid: {errors}")
        cleaned.update(experiment=experiment, preset=experiment.presets[preset_name], params=params)
        return cleaned


class AnswerForm(forms.Form):
    """Built for one poll; `value` is what poll_answer stores."""

    def __init__(self, poll: Poll, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.poll = poll
        choices = [(str(i), text) for i, text in enumerate(poll.choices)]
        if poll.kind == Poll.Kind.SINGLE:
            self.fields["choice"] = forms.ChoiceField(choices=choices, widget=forms.RadioSelect, label="")
        elif poll.kind == Poll.Kind.MULTIPLE:
            self.fields["choices"] = forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple,
                                                               label="", error_messages={"required": "Pick at least one."})
        else:
            self.fields["number"] = forms.FloatField(label="Your answer", min_value=-NUMBER_LIMIT, max_value=NUMBER_LIMIT)

    @property
    def value(self):
        if self.poll.kind == Poll.Kind.SINGLE:
            return [int(self.cleaned_data["choice"])]
        if self.poll.kind == Poll.Kind.MULTIPLE:
            return sorted(int(c) for c in self.cleaned_data["choices"])
        number = self.cleaned_data["number"]
        return int(number) if number.is_integer() else number


class ReplayStepForm(forms.Form):
    step = forms.IntegerField(min_value=0, max_value=1_000_000, required=False)


class PresentForm(forms.Form):
    run = forms.UUIDField(required=False)


MAX_ASSIGNMENTS = 100
MAX_DUE_DAYS = 366


class AssignmentForm(forms.Form):
    what = forms.ChoiceField(choices=(), label="What to assign")
    due = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Done by the end of this day.")
    note = forms.CharField(max_length=200, required=False, label="Note for students (optional)")

    def __init__(self, *args, classroom=None, **kwargs):
        from .assignments import assignable_choices

        super().__init__(*args, **kwargs)
        self.classroom = classroom
        self.fields["what"].choices = assignable_choices()

    def clean_due(self):
        due, today = self.cleaned_data["due"], timezone.localdate()
        if due < today:
            raise forms.ValidationError("The due date has already passed; pick today or a later day.")
        if (due - today).days > MAX_DUE_DAYS:
            raise forms.ValidationError("Pick a due date within a year.")
        return due

    def clean(self):
        from .assignments import target_title

        cleaned = super().clean()
        if "what" not in cleaned:
            return cleaned
        kind, _, target = cleaned["what"].partition(":")
        title = target_title(kind, target)
        if title is None:  # gone between rendering the form and posting it
            raise forms.ValidationError({"what": "That is no longer available to assign."})
        if self.classroom is not None:
            assigned = self.classroom.assignments
            if assigned.filter(kind=kind, target=target).exists():
                raise forms.ValidationError({"what": "This is already assigned to the class."})
            if assigned.count() >= MAX_ASSIGNMENTS:
                raise forms.ValidationError(f"A class can have at most {MAX_ASSIGNMENTS} assignments; remove an old one first.")
        cleaned.update(kind=kind, target=target, title=title)
        return cleaned
