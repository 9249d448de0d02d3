"""SMS commands as citizens type them, and the Bahasa Indonesia replies."""

from __future__ import annotations

import pytest

from api.sms import NewComplaint, StatusQuery, Unrecognised, parse_sms, reply


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
