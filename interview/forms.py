from django import forms

MAX_ANSWER_CHARS = 20_000
MAX_FOLLOW_UP_CHARS = 4_000


class DraftForm(forms.Form):
    """What autosave sends: the text as it stands, possibly empty."""

    text = forms.CharField(required=False, strip=False, max_length=MAX_ANSWER_CHARS, widget=forms.Textarea)


class AnswerForm(forms.Form):
    text = forms.CharField(
        label="Your answer", max_length=MAX_ANSWER_CHARS,
        error_messages={"required": "Write your answer before submitting it."},
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
    )


class FollowUpForm(forms.Form):
    text = forms.CharField(
        label="Your reply", max_length=MAX_FOLLOW_UP_CHARS,
        error_messages={"required": "Write a reply before sending it.",
                        "max_length": "Keep the reply under %(limit_value)s characters: it is a short answer."},
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "true"}),
    )


class SelfAssessmentForm(forms.Form):
    """How the learner rates their own answer, one choice per rubric item."""

    CHOICES = [("covered", "Covered"), ("partly", "Partly"), ("missed", "Missed")]

    def __init__(self, rubric: list[dict], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rubric = rubric
        for item in rubric:
            self.fields[f"item-{item['id']}"] = forms.ChoiceField(
                choices=self.CHOICES, widget=forms.RadioSelect, label=item["description"],
                error_messages={"required": "Pick one."},
            )

    @property
    def assessment(self) -> dict[str, str]:
        return {item["id"]: self.cleaned_data[f"item-{item['id']}"] for item in self.rubric}

    def item_fields(self):
        return [(item, self[f"item-{item['id']}"]) for item in self.rubric]


class StartForm(forms.Form):
    # One per rendered start button: a double click starts one session, not two.
    start_key = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False)
