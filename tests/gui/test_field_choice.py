"""The field selector's entries: scalars, vector magnitude and components."""

import numpy as np

from workbench.core import Field
from workbench.gui.field_choice import chosen_values, field_choices

FIELDS = {
    "p": Field("p", np.array([1.0, 2.0])),
    "v": Field("v", np.array([[3.0, 4.0], [0.0, -2.0]])),
    "k": Field("k", np.array([7.0]), "cell"),
}


def test_vectors_offer_magnitude_and_components():
    assert field_choices(FIELDS) == ["p", "|v|", "v.x", "v.y", "k"]


def test_each_choice_gives_its_values_and_location():
    np.testing.assert_array_equal(chosen_values(FIELDS, "p")[0], [1.0, 2.0])
    np.testing.assert_array_equal(chosen_values(FIELDS, "|v|")[0], [5.0, 2.0])
    np.testing.assert_array_equal(chosen_values(FIELDS, "v.y")[0], [4.0, -2.0])
    assert chosen_values(FIELDS, "k")[1] == "cell"
    assert chosen_values(FIELDS, "v.z") is None and chosen_values(FIELDS, "nope") is None
