"""SMS commands as citizens type them, and the Bahasa Indonesia replies."""

from __future__ import annotations

import base64

import pytest

from api.complaints.models import ComplaintCategory
from api.complaints.workflow import ComplaintStatus
from api.sms.commands import (
    Grammar,
    NewComplaint,
    StatusQuery,
    Unrecognised,
    catalog_grammar,
    complaint_words,
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
        ("lapor DARURAT pohon tumbang", NewComplaint("darurat", "pohon tumbang")),
        ("lapor 5 pohon tumbang", NewComplaint("lainnya", "5 pohon tumbang")),
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
        ("lapor - 1 jalan rusak", NewComplaint("infrastruktur", "jalan rusak")),
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


# ---- The city's published keywords, and complaints with no keyword ----

JALAN = "jalan rusak di Jl. Teuku Umar"


def free(text: str) -> NewComplaint:
    return NewComplaint("lainnya", text, without_keyword=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Bandar Lampung {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"BANDAR LAMPUNG {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"bandar  lampung {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"Bandar\nLampung {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"Bandar Lampung: {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"Bandar-Lampung, {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"BandarLampung {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"bandarlampung#{JALAN}", NewComplaint("lainnya", JALAN)),
        (f"BDL#{JALAN}", NewComplaint("lainnya", JALAN)),
        (f"bdl {JALAN}", NewComplaint("lainnya", JALAN)),
        (f"  Bdl ;  {JALAN} ", NewComplaint("lainnya", JALAN)),
        (f"Bandar Lampung 1 {JALAN}", NewComplaint("infrastruktur", JALAN)),
        (f"BDL#1#{JALAN}", NewComplaint("infrastruktur", JALAN)),
        ("BANDARLAMPUNG 2 KTP hilang", NewComplaint("kependudukan", "KTP hilang")),
        ("bdl pelayanan publik antrean lama", NewComplaint("pelayanan_publik", "antrean lama")),
        ("Bandar Lampung Infrastruktur: lampu mati", NewComplaint("infrastruktur", "lampu mati")),
        ("BDL lain-lain parkir liar", NewComplaint("lainnya", "parkir liar")),
        ("BDL", Unrecognised(empty_complaint=True)),
        ("Bandar Lampung 1", Unrecognised(empty_complaint=True)),
        ("bandar lampung:", Unrecognised(empty_complaint=True)),
    ],
)
def test_every_keyword_takes_the_lapor_grammar(text: str, expected: object) -> None:
    assert parse_sms(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Whole words only: a keyword followed by a letter is not that keyword.
        ("BDLX jalan", Unrecognised()),
        ("BDLX jalan rusak parah", free("BDLX jalan rusak parah")),
        ("Bandar Lampungku jalan", Unrecognised()),
        ("bandarlampungan jalan rusak parah", free("bandarlampungan jalan rusak parah")),
        ("laporan jalan rusak di Kedaton", free("laporan jalan rusak di Kedaton")),
        # A keyword further in is just a word of a complaint.
        ("jalan rusak BDL Teuku Umar", free("jalan rusak BDL Teuku Umar")),
    ],
)
def test_a_keyword_is_a_whole_word_at_the_start(text: str, expected: object) -> None:
    assert parse_sms(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Jalan di depan SD 2 Kedaton rusak parah",
            free("Jalan di depan SD 2 Kedaton rusak parah"),
        ),
        ("sampah menumpuk di pasar", free("sampah menumpuk di pasar")),
        ("  Lampu jalan mati total\n", free("Lampu jalan mati total")),
        ("halo", Unrecognised()),
        ("halo pak", Unrecognised()),
        ("selamat pagi pak", Unrecognised()),
        ("lampu jalan mati", Unrecognised()),
        ("", Unrecognised()),
        ("   ", Unrecognised()),
        ("🙏🙏🙏🙏🙏", Unrecognised()),
        ("0812 3456 7890 12 34", Unrecognised()),
        ("http://a.id/x https://b.id www.c.id lihat", Unrecognised()),
        # STATUS is a command: a malformed one gets help, not a ticket.
        ("status jalan rusak di Kedaton", Unrecognised()),
        ("STATUS 90000001", StatusQuery("90000001")),
    ],
)
def test_a_complaint_with_no_keyword_needs_enough_words(text: str, expected: object) -> None:
    assert catalog_grammar().complaint_min_words == 4
    assert parse_sms(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("jalan rusak", 2),
        ("jalan,rusak;parah", 3),
        ("Jl. Teuku Umar No. 5", 4),
        ("lain-lain", 2),
        ("RT05 KM5 12 000001", 2),
        ("José\u0301 🌧️🚧 عبد الله", 3),
        ("١٢٣ ٤٥٦", 0),
        ("lihat https://lapor.go.id/x?a=1 dan www.contoh.id", 2),
        ("snake_case", 2),
        ("🙏 ... !!! ---", 0),
    ],
)
def test_what_counts_as_a_word(text: str, words: int) -> None:
    assert complaint_words(text) == words


def test_the_keywords_and_the_word_floor_are_catalog_settings() -> None:
    grammar = catalog_grammar()
    assert set(grammar.keywords) >= {"LAPOR", "BANDAR LAMPUNG", "BANDARLAMPUNG", "BDL"}
    two = Grammar(keywords=("ADUAN",), complaint_min_words=2)
    assert parse_sms("aduan 1 jalan rusak", two) == NewComplaint("infrastruktur", "jalan rusak")
    assert parse_sms("lapor 1 jalan rusak", two) == free("lapor 1 jalan rusak")
    assert parse_sms("jalan", two) == Unrecognised()


@pytest.mark.parametrize(
    ("keywords", "floor", "error"),
    [
        ((), 4, "no keyword"),
        (("Status",), 4, "STATUS is a command"),
        (("BD1",), 4, "letters and single spaces"),
        (("BANDAR  LAMPUNG",), 4, "letters and single spaces"),
        (("LAPOR",), 1, "at least 2"),
    ],
)
def test_a_bad_catalog_setting_is_refused(
    keywords: tuple[str, ...], floor: int, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Grammar(keywords=keywords, complaint_min_words=floor)


# GSM 03.38's basic set: a reply in it costs 160 characters an SMS, not 70 (UCS-2).
GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def test_the_category_hint_fits_in_one_sms_and_every_reply_in_one_message_send() -> None:
    hint = reply("category_hint")
    assert len(hint) <= 160
    assert set(hint) <= GSM_7
    assert "\n" not in hint
    assert "LAPOR" in hint
    # An AMI line is about 1 KB, so MessageSend's Base64Body carries about 750 bytes
    # (../shared/docs/ASTERISK.md); the longest reply is a received one with the hint.
    received = reply("received", ticket="90999999", category="kependudukan")
    longest = received + "\n" + hint
    for name in ("help", "empty_complaint", "too_long"):
        assert len(reply(name).encode()) < len(longest.encode())
    assert len(base64.b64encode(longest.encode())) <= 700
