from core.errors import ApplicationError


def add_application_error(form, exc: ApplicationError) -> None:
    """Show a service's ApplicationError on a form: details keyed by a form field go next to
    that field; otherwise the message goes at the top (details like {"current": ...} of an
    illegal transition are for API clients, not for people)."""
    placed = False
    for field, errors in exc.details.items():
        if field in form.fields:
            for err in errors if isinstance(errors, list) else [errors]:
                form.add_error(field, err)
            placed = True
    if not placed:
        form.add_error(None, exc.message)
