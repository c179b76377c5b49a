"""Links: one reverse per pattern for lists of many rows, equal to reversing each."""

import pytest
from django.urls import reverse

from core.links import id_path


@pytest.mark.parametrize("pk", [1, 7, 42, 987654321, 10**12])
def test_an_id_path_is_what_reverse_gives_for_every_id(pk):
    assert id_path("milestones:detail")(pk) == reverse("milestones:detail", args=[pk])
    assert id_path("contracts:change_milestone", 3)(pk) == reverse("contracts:change_milestone", args=[3, pk])
