import datetime as dt

import pytest
from django.core.management import call_command

from chain.models import ChainTransaction
from compliance import selectors, services
from compliance.models import KycCase, SanctionsEntry, ScreeningHit
from compliance.tests.factories import make_case
from core.errors import ApplicationError
from core.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]
S = KycCase.Status


def test_load_sdn_command_reads_the_official_csv_files(sdn_csv_path, capsys):
    call_command("load_sdn", str(sdn_csv_path))
    assert "Loaded 5 SDN entries (csv" in capsys.readouterr().out
    volkov = SanctionsEntry.objects.get(uid="7101")
    assert volkov.name == "VOLKOV, Dmitri Sergeyevich" and volkov.programs == "RUSSIA-EO14024"
    assert {a.name for a in volkov.aliases.all()} == {"VOLKOV, Dima", "WOLKOW, Dmitrij"}
    assert [d.year for d in volkov.dobs.all()] == [1965]
    assert {c.alpha2 for c in volkov.countries.all()} == {"RU"}
    assert SanctionsEntry.objects.get(uid="7102").programs == "SDGT; IRGC"
    # "-0-" is a null, never a value.
    assert not SanctionsEntry.objects.filter(sdn_type="-0-").exists()
    assert AuditEvent.objects.filter(action="compliance.sanctions_load").exists()


def test_load_sdn_command_reads_the_official_xml(sdn_xml_path):
    call_command("load_sdn", str(sdn_xml_path))
    assert SanctionsEntry.objects.count() == 3  # the list is replaced, not merged
    olga = SanctionsEntry.objects.get(uid="7106")
    assert olga.name == "KRAVETS, Olga" and olga.dobs.get().year == 1980


def test_missing_file_is_a_clean_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("load_sdn", "/nonexistent/sdn.csv")


def test_listed_name_is_hit_on_submission_and_blocks_approval(sdn_loaded, investor, compliance_officer):
    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer,
                     legal_name="Dmitri Sergeyevich Volkov", date_of_birth=dt.date(1965, 3, 12))
    hit = case.hits.get()
    assert hit.entry_uid == "7101" and hit.score >= 88 and hit.status == ScreeningHit.Status.OPEN
    assert case.risk_level == KycCase.Risk.HIGH
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_approve(actor=compliance_officer, case=case)
    assert exc.value.code == "sanctions_hit_open"
    with pytest.raises(ApplicationError) as exc:
        services.screening_hit_clear(actor=compliance_officer, hit=hit, reason="")
    assert exc.value.code == "reason_required"
    services.screening_hit_clear(actor=compliance_officer, hit=hit,
                                 reason="Different person: passport and birthplace differ")
    hit.refresh_from_db()
    assert hit.status == ScreeningHit.Status.CLEARED and hit.cleared_by == compliance_officer
    assert AuditEvent.objects.filter(action="compliance.screening_hit_clear", reason__icontains="passport").exists()
    assert case.decisions.filter(action="hit_cleared").exists()


def test_alias_matches(sdn_loaded, investor):
    case = make_case(investor, legal_name="Hamid Fictivi", date_of_birth=dt.date(1971, 1, 1),
                     residence_country="YE", tax_residence="YE")
    assert case.hits.get().entry_uid == "7103"


def test_dob_and_country_break_ties(sdn_loaded, user_with_role):
    from core.roles import Role

    # "Dmitri Volkov" is close to the listed name but not enough on its own.
    same_dob = make_case(user_with_role(Role.INVESTOR), legal_name="Dmitri Volkov",
                         date_of_birth=dt.date(1965, 7, 1), residence_country="RU", tax_residence="RU")
    other_dob = make_case(user_with_role(Role.INVESTOR), legal_name="Dmitri Volkov",
                          date_of_birth=dt.date(1994, 7, 1))
    assert same_dob.hits.filter(entry_uid="7101").exists()
    assert not other_dob.hits.exists()
    assert same_dob.hits.get().detail["dob"] == "match"


def test_unrelated_names_do_not_hit(sdn_loaded, investor):
    case = make_case(investor, legal_name="Erin Example")
    assert not case.hits.exists()


def test_threshold_is_tunable(sdn_loaded, user_with_role, settings):
    from core.roles import Role

    settings.SANCTIONS_MATCH_THRESHOLD = 60
    case = make_case(user_with_role(Role.INVESTOR), legal_name="Zoran Markovich", date_of_birth=dt.date(2001, 1, 1))
    assert case.hits.filter(entry_uid="7105").exists()
    settings.SANCTIONS_MATCH_THRESHOLD = 99
    case2 = make_case(user_with_role(Role.INVESTOR), legal_name="Zoran Markovich", date_of_birth=dt.date(2001, 1, 1))
    assert not case2.hits.exists()


def test_reload_rescreens_open_and_approved_cases(investor, compliance_officer, compliance_officer2, sdn_xml_path,
                                                  sdn_csv_path):
    services.sanctions_load(actor=None, path=sdn_xml_path)  # no Markovic in this file
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer,
                     legal_name="Zoran Markovic", date_of_birth=dt.date(1958, 7, 3))
    assert not case.hits.exists() and selectors.investor_is_eligible(user=investor)
    call_command("load_sdn", str(sdn_csv_path))
    hit = case.hits.get()
    assert hit.entry_uid == "7105"
    # An approved investor with an open hit is not eligible until an officer clears it...
    assert not selectors.investor_is_eligible(user=investor)
    # ...is suspended on chain (a past expiry on every registered wallet)...
    hold = ChainTransaction.objects.get(idempotency_key=f"kyc:{case.pk}:hold:{hit.pk}")
    assert hold.function == "batchSetKycExpiry" and hold.args[1] == 1
    assert sorted(hold.args[0]) == sorted(case.profile.wallets.values_list("address", flat=True))
    assert AuditEvent.objects.filter(action="compliance.kyc_case_hold", object_id=str(case.pk)).exists()
    # ...and shows up in the officers' default queue and dashboard counts.
    assert case in selectors.review_queue()
    assert selectors.queue_counts()["on_hold"] == 1
    # The officer who approved cannot clear the hit that put the approval on hold (four-eyes).
    services.screening_hit_clear(actor=compliance_officer2, hit=hit, reason="Verified: different person")
    assert selectors.investor_is_eligible(user=investor)
    release = ChainTransaction.objects.get(idempotency_key=f"kyc:{case.pk}:release:{hit.pk}")
    assert release.args[1] == int(case.expires_at.timestamp())
    assert case not in selectors.review_queue() and selectors.queue_counts()["on_hold"] == 0
    # Reloading again does not reopen a cleared hit.
    call_command("load_sdn", str(sdn_csv_path))
    assert case.hits.get().status == ScreeningHit.Status.CLEARED
