"""ApplicationError, the one way a service says no, and explicit state-machine transitions."""


class ApplicationError(Exception):
    """A business rule said no. Services raise it; the API turns it into
    {"error": {"code", "message", "details"}} with `status`, views into a form/message error."""

    def __init__(self, code: str, message: str, *, details: dict | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status


class IllegalTransition(ApplicationError):
    def __init__(self, *, entity: str, current: str, target: str):
        super().__init__(
            "illegal_transition",
            f"A {entity} that is {current.replace('_', ' ')} cannot become "
            f"{target.replace('_', ' ')}.",
            details={"current": current, "target": target},
            status=409,
        )


def check_transition(*, entity: str, table: dict[str, set[str]], current: str, target: str) -> None:
    """State machines are explicit: `table` maps each state to the states it may move to."""
    if target not in table.get(current, set()):
        raise IllegalTransition(entity=entity, current=current, target=target)
