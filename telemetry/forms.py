from django import forms


class CredentialIssueForm(forms.Form):
    label = forms.CharField(max_length=80, required=False, help_text="Where this key is installed, e.g. CT01 agent.")


class CredentialRevokeForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)


class FlagClearForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000,
                             help_text="Why the event is genuine; recorded in the audit trail.")
