"""Names in user-facing messages read as a sentence, never as a Python list."""

from mmm_pipeline.core.wording import join_names


def test_names_are_joined_as_in_a_sentence():
    assert join_names([]) == ""
    assert join_names(["TV"]) == "TV"
    assert join_names(["Digital", "TV"]) == "Digital and TV"
    assert join_names(["Digital", "Sponsorship", "TV"]) == "Digital, Sponsorship and TV"
    assert join_names(("lower", "upper"), "or") == "lower or upper"
