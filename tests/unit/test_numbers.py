"""The one normalisation of a citizen's number, shared by the IVR and the API."""

from __future__ import annotations

import pytest

from api.core import numbers as api_numbers
from asterisk_values import numbers


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("081234567890", "081234567890"),
        ("6281234567890", "081234567890"),
        ("+6281234567890", "081234567890"),
        ("81234567890", "081234567890"),  # SIP without the leading zero
        ("+6012345678", "+6012345678"),  # another country's number stays as it is
        ("1001", "1001"),  # an extension
        ("unknown", "unknown"),
        ("", ""),
    ],
)
def test_a_number_is_stored_in_its_national_form(given: str, stored: str) -> None:
    assert numbers.national(given) == stored
    assert numbers.national(stored) == stored  # normalising twice changes nothing


def test_every_spelling_of_one_number() -> None:
    assert numbers.spellings("+6281234567890") == sorted(
        ["+6281234567890", "6281234567890", "081234567890", "81234567890"]
    )


def test_the_api_uses_the_same_functions() -> None:
    assert api_numbers.national is numbers.national
    assert api_numbers.spellings is numbers.spellings
