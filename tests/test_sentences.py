"""The sentence split of a passage (ingest/sentences.py): the prose unit the answer engine scores."""

from __future__ import annotations

import pytest

from ingest.sentences import sentence_texts


def test_a_name_with_an_initial_is_not_cut() -> None:
    assert sentence_texts("Kommunedirektør Geir B. Aga leder arbeidet. Det gikk bra.") == [
        "Kommunedirektør Geir B. Aga leder arbeidet.", "Det gikk bra."]


@pytest.mark.parametrize("mark", ["2.", "12.", "IV."])
def test_a_numbered_list_item_keeps_its_number(mark: str) -> None:
    text = f"Ankesaken avgjøres innen utløpet av 2021. {mark} Sak for tingretten om erstatning til to grunneiere."
    assert sentence_texts(text) == ["Ankesaken avgjøres innen utløpet av 2021.",
                                    f"{mark} Sak for tingretten om erstatning til to grunneiere."]


def test_a_sentence_that_ends_in_a_number_stays_a_sentence() -> None:
    assert sentence_texts("Antall nye saker var 2. Neste år blir det flere.") == [
        "Antall nye saker var 2.", "Neste år blir det flere."]
