import datetime as dt
from decimal import Decimal

import factory

from accounts.tests.factories import OrganizationFactory
from assets.models import Device, DeviceStatus, Modality

VALID_GTIN = "09506000134352"
BAD_GTIN = "00208851107345"  # AccessGUDID sample with a wrong check digit (should end in 7)


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    organization = factory.SubFactory(OrganizationFactory)
    status = DeviceStatus.DRAFT
    modality = Modality.CT
    manufacturer = "Siemens Healthineers"
    model_name = "SOMATOM go.Up"
    serial_number = factory.Sequence(lambda n: f"SN{n:06d}")
    manufacture_date = dt.date(2021, 3, 1)
    purchase_price = Decimal("1250000.00")
    purchase_currency = "USD"
    purchase_date = dt.date(2021, 6, 1)
    install_site = "Radiology, level 1"
    declared_exams_per_day = Decimal("30")


