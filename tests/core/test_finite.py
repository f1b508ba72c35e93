"""Non-finite numbers are found, counted and named (workbench.core.finite)."""

import h5py
import numpy as np
import pytest

from workbench.core.errors import WorkbenchError
from workbench.core.finite import (
    CHUNK_SAMPLES,
    NonFiniteError,
    describe_non_finite,
    require_finite,
    require_finite_samples,
)


def test_require_finite_names_what_how_many_and_where():
    values = np.zeros((3, 4))
    values[1, 2] = np.nan
    values[2, 0] = -np.inf
    values[2, 3] = np.nan
    with pytest.raises(NonFiniteError, match=r"^'u' has 2 NaN and 1 infinite values \(first at index \(1, 2\)\)$"):
        require_finite(values, "'u'")
    assert issubclass(NonFiniteError, WorkbenchError)
    require_finite(np.arange(5), "integers")  # nothing to check in an integer array
    require_finite(np.ones(3), "ones")


def test_descriptions_count_each_kind():
    assert describe_non_finite(1, 0) == "1 NaN value"
    assert describe_non_finite(0, 2) == "2 infinite values"


def test_data_set_arrays_on_disk_are_checked_in_chunks_with_the_first_bad_sample_and_its_seed(tmp_path):
    samples = 2 * CHUNK_SAMPLES + 5
    with h5py.File(tmp_path / "d.h5", "w") as f:
        good = f.create_dataset("a", data=np.ones((samples, 3)))
        spoiled = np.ones((samples, 3))
        spoiled[CHUNK_SAMPLES + 1, 2] = np.inf  # in the second chunk
        spoiled[samples - 1, 0] = np.nan  # in the last, partial one
        bad = f.create_dataset("u", data=spoiled)
        seeds = np.arange(100, 100 + samples)
        require_finite_samples({"a": good}, "d.h5", seeds)
        with pytest.raises(NonFiniteError, match=rf"d.h5: field 'u' has NaN or infinite values in 2 of {samples} "
                                                 rf"samples \(first: sample {CHUNK_SAMPLES + 1}, "
                                                 rf"seed {100 + CHUNK_SAMPLES + 1}\)"):
            require_finite_samples({"a": good, "u": bad}, "d.h5", seeds)
