"""Status SMS texts: segments counted as carriers do, the closing note cut to fit, and the
STOP / MULAI words as citizens type them."""

from __future__ import annotations

import pytest

from api.core.settings import ApiSettings
from api.sms.commands import StatusSmsSwitch, Unrecognised, parse_sms, reply
from api.sms.segments import ELLIPSIS, fitted, segments

TEMPLATE = reply("status_selesai", ticket="01000001", note="{note}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character takes two septets
        ("€" * 81, 2),
        ("é" * 160, 1),  # in the GSM alphabet
        ("ê" * 70, 1),  # not in it: UCS-2
        ("ê" * 71, 2),
        ("🚧" * 35, 1),  # two UTF-16 code units each
        ("🚧" * 36, 2),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_a_short_note_is_kept_whole_with_its_spacing_tidied() -> None:
    text = fitted(TEMPLATE, "Jalan  sudah\nditambal.", 2)
    assert text == reply("status_selesai", ticket="01000001", note="Jalan sudah ditambal.")


@pytest.mark.parametrize("word", ["ditambal", "dipêrbaiki", "🚧rusak"])
def test_a_long_note_is_cut_at_a_word_to_two_segments(word: str) -> None:
    note = " ".join([word] * 200)
    text = fitted(TEMPLATE, note, 2)
    assert segments(text) == 2
    assert text.startswith(TEMPLATE.replace("{note}", word))
    assert text.endswith(word + ELLIPSIS)
    # As much as fits: one more word would not.
    kept = text.removeprefix(TEMPLATE.replace("{note}", "")).removesuffix(ELLIPSIS)
    longer = TEMPLATE.replace("{note}", kept + " " + word + ELLIPSIS)
    assert segments(longer) > 2


def test_a_note_of_one_long_word_is_cut_inside_it() -> None:
    text = fitted(TEMPLATE, "x" * 1000, 1)
    assert segments(text) == 1
    assert text.endswith("x" + ELLIPSIS)


def test_braces_in_a_note_are_text() -> None:
    assert fitted(TEMPLATE, "{ticket} {0}", 2).endswith("Catatan: {ticket} {0}")


@pytest.mark.parametrize(
    ("text", "on"),
    [
        ("STOP", False),
        ("stop", False),
        (" Stop! ", False),
        ("berhenti.", False),
        ("BERHENTI", False),
        ("stop  sms", False),
        ("UNREG", False),
        ("MULAI", True),
        ("mulai", True),
        ("start", True),
    ],
)
def test_stop_and_start_words(text: str, on: bool) -> None:
    assert parse_sms(text) == StatusSmsSwitch(on=on)


@pytest.mark.parametrize("text", ["stop dulu", "stopp", "tolong berhenti"])
def test_other_texts_with_the_words_are_not_switches(text: str) -> None:
    assert not isinstance(parse_sms(text), StatusSmsSwitch)
    assert parse_sms(text) == Unrecognised()


def test_status_sms_over_http_needs_the_gateways_url() -> None:
    with pytest.raises(ValueError, match="LAPOR_API_SMS_REPLY_URL"):
        ApiSettings(status_sms_via="http")
    assert ApiSettings(status_sms_via="http", sms_reply_url="http://gw/send").status_sms_via
