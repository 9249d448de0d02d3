"""SMS commands as citizens type them, and the Bahasa Indonesia replies."""

from __future__ import annotations

import pytest

from api.complaints.models import ComplaintCategory
from api.complaints.workflow import ComplaintStatus
from api.sms.commands import (
    NewComplaint,
    StatusQuery,
    Unrecognised,
    normalised,
    parse_sms,
    phone_number,
    reply,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "lapor 1 jalan rusak di Jl. Teuku Umar",
            NewComplaint("infrastruktur", "jalan rusak di Jl. Teuku Umar"),
        ),
        ("LAPOR   2   KTP saya belum jadi", NewComplaint("kependudukan", "KTP saya belum jadi")),
        (
            "Lapor#3#antrean puskesmas lama",
            NewComplaint("pelayanan_publik", "antrean puskesmas lama"),
        ),
        (
            "lapor pelayanan publik petugas tidak ramah",
            NewComplaint("pelayanan_publik", "petugas tidak ramah"),
        ),
        (
            "LAPOR Infrastruktur: lampu jalan mati",
            NewComplaint("infrastruktur", "lampu jalan mati"),
        ),
        ("lapor dokumen kependudukan akta lahir", NewComplaint("kependudukan", "akta lahir")),
        ("lapor sampah menumpuk di pasar", NewComplaint("lainnya", "sampah menumpuk di pasar")),
        ("  lapor\n4\nbanjir 🌧️ di Way Halim  ", NewComplaint("lainnya", "banjir 🌧️ di Way Halim")),
        ("lapor", Unrecognised(empty_complaint=True)),
        ("LAPOR 1", Unrecognised(empty_complaint=True)),
        ("STATUS 12000001", StatusQuery("12000001")),
        ("status 12-000 001", StatusQuery("12000001")),
        ("Status#12000001", StatusQuery("12000001")),
        ("status abc", Unrecognised()),
        ("status 123456789", Unrecognised()),
        ("halo pak", Unrecognised()),
        ("", Unrecognised()),
        ("١٢٣ عبد الله", Unrecognised()),
        ("lApOr 1 jalan rusak", NewComplaint("infrastruktur", "jalan rusak")),
        ("LAPOR INFRA lubang", NewComplaint("infrastruktur", "lubang")),
        ("lapor\u00a01\u00a0jalan rusak", NewComplaint("infrastruktur", "jalan rusak")),
        ("lapor 9 pohon tumbang", NewComplaint("lainnya", "9 pohon tumbang")),
        ("lapor 12 pohon tumbang", NewComplaint("lainnya", "12 pohon tumbang")),
        ("lapor lain-lain parkir liar", NewComplaint("lainnya", "parkir liar")),
        ("lapor Layanan: puskesmas", NewComplaint("pelayanan_publik", "puskesmas")),
        ("lapor, 2, KK", NewComplaint("kependudukan", "KK")),
        (
            "lapor 1 Jl. Teuku Umar No. 5, dekat masjid\nRT 03",
            NewComplaint("infrastruktur", "Jl. Teuku Umar No. 5, dekat masjid\nRT 03"),
        ),
        ("lapor 4 عبد الله 🌧️", NewComplaint("lainnya", "عبد الله 🌧️")),
        ("lapor José 🚧", NewComplaint("lainnya", "José 🚧")),
        ("lapor pelayanan", Unrecognised(empty_complaint=True)),
        ("status", Unrecognised()),
        ("STATUS: 90 000 001", StatusQuery("90000001")),
        ("laporan jalan rusak", Unrecognised()),
        ("🙏 lapor 1 jalan", Unrecognised()),
    ],
)
def test_real_phone_typing(text: str, expected: object) -> None:
    assert parse_sms(text) == expected


def test_replies_come_from_the_catalog_in_indonesian() -> None:
    received = reply("received", ticket="12000001", category="infrastruktur")
    assert "12000001" in received
    assert "Infrastruktur" in received
    assert reply("status", ticket="1", status="ditindaklanjuti") == (
        "Status tiket 1: sedang ditindaklanjuti oleh dinas terkait."
    )
    assert "STATUS" in reply("help")


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("081234567890", "081234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("(0721) 123 456", "0721123456"),
        ('"Warga" <sip:081234567890@127.0.0.1:5070>;tag=ab', "081234567890"),
        ("<sip:%2B6281234567890@gateway>", "+6281234567890"),
        ("sip:081234567890@gateway", "081234567890"),
        ("tel:+6281234567890", "+6281234567890"),
        ("PEMKOT", None),
        ("<sip:gateway@127.0.0.1>", None),
        ("12", None),
        ("", None),
        ("0812 34x", None),
    ],
)
def test_phone_numbers_as_gateways_send_them(raw: str, number: str | None) -> None:
    assert phone_number(raw) == number


def test_retransmissions_compare_normalised_text() -> None:
    assert normalised("LAPOR 1  Lampu\njalan MATI ") == normalised("lapor 1 lampu jalan mati")
    assert normalised("José") == normalised("Jose\u0301")
    assert normalised("lapor 1 a") != normalised("lapor 1 b")


def test_every_status_and_category_has_a_reply() -> None:
    for status in ComplaintStatus:
        assert reply("status", ticket="1", status=status.value)
    for category in ComplaintCategory:
        assert reply("received", ticket="1", category=category.value)
    assert "panjang" in reply("too_long")
