"""Dashboard panels: an investor's KYC status and the officers' queue counts (registered in ComplianceConfig.ready)."""

from compliance import selectors


def investor_panel(request) -> dict:
    case = selectors.current_case(user=request.user)
    return {"case": case, "eligible": selectors.investor_is_eligible(user=request.user),
            "profile": selectors.investor_profile(user=request.user)}


def officer_panel(request) -> dict:
    return {"counts": selectors.queue_counts()}
