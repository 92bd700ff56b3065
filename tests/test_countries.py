import pytest
from atsbridge.countries import country_code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("UK", "GB"),
        ("uk", "GB"),
        (" England ", "GB"),
        ("United Kingdom", "GB"),
        ("gb", "GB"),
        ("FR", "FR"),
        ("de", "DE"),
        ("USA", "US"),
        ("United States", "US"),
    ],
)
def test_codes_and_aliases_name_their_country(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize("text", ["", None, "ZZ", "Atlantis", "D", "deu", "001"])
def test_anything_else_names_no_country(text: str | None) -> None:
    assert country_code(text) is None
