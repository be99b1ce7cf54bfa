import uuid

from django import forms


class RunRequestForm(forms.Form):
    """What every run needs besides the experiment's own parameters."""

    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=7,
                              help_text="Same seed and parameters, same run: share it.")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, prediction=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        if prediction is not None:
            # Predict, then run: committing to a number first makes the result teach.
            self.fields["prediction"] = forms.IntegerField(
                min_value=0, max_value=prediction.max_value, label=f"Your prediction: {prediction.question}",
                help_text="Guess before you run it; the verdict shows your guess beside the result.",
            )

    def clean_idempotency_key(self) -> str:
        key = self.cleaned_data["idempotency_key"]
        if key and not all(c.isalnum() or c == "-" for c in key):
            raise forms.ValidationError("Malformed idempotency key.")
        return key


class FramesCursorForm(forms.Form):
    after = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
