"""FrameStore: a list of frames that keeps memory within a budget and spills the rest to an anonymous file."""

import errno
import os
import random
import tempfile
import threading
import tracemalloc

import numpy as np
import pytest

from workbench.core import Field, Frame, ParamError, Run
from workbench.core.frame_store import (
    MEGABYTE,
    FrameStore,
    MemoryBudget,
    SpillError,
    budget_from_environment,
)
from workbench.core.memory import physical_memory

POINTS = 50
FRAME_BYTES = (POINTS + 2 * POINTS + 2 * 3 + 2) * 8  # u, v (2 components), k (2 x 3 cells), k's 2 times


def frame(i: int) -> Frame:
    """A frame whose every value says which frame it is, in every kind of field a frame can hold."""
    return Frame(i, 0.25 * i, {
        "u": Field("u", np.full(POINTS, float(i)), units="K"),
        "v": Field("velocity", np.full((POINTS, 2), -float(i))),
        "k": Field("k", np.full((2, 3), float(i)), "cell", times=[0.0, 1.0]),
    })


def assert_same(got: Frame, expected: Frame) -> None:
    assert (got.index, got.time) == (expected.index, expected.time)
    assert list(got.fields) == list(expected.fields)
    for key, field in expected.fields.items():
        back = got.fields[key]
        assert (back.name, back.location, back.units) == (field.name, field.location, field.units)
        np.testing.assert_array_equal(back.values, field.values)
        if field.times is None:
            assert back.times is None
        else:
            np.testing.assert_array_equal(back.times, field.times)


def test_it_behaves_like_a_list():
    frames = [frame(i) for i in range(5)]
    store = FrameStore(frames[:4], budget=MemoryBudget(10 * MEGABYTE))
    store.append(frames[4])
    assert len(store) == 5 and bool(store) and not FrameStore(budget=MemoryBudget(0))
    assert store[0] is frames[0] and store[-1] is frames[4] and store[-5] is frames[0]
    assert store[1:4] == frames[1:4] and store[::-2] == frames[::-2] and store[7:] == []
    assert list(store) == frames and store == frames and list(reversed(store)) == frames[::-1]
    assert frames[2] in store and store.index(frames[3]) == 3
    for bad in (5, -6):
        with pytest.raises(IndexError):
            store[bad]
    with pytest.raises(TypeError):
        store["0"]
    with pytest.raises(TypeError, match="holds frames, not dict"):
        store.append({"u": 1})
    np.testing.assert_array_equal(store.times(), [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(store.indices(), range(5))


def test_frames_beyond_the_budget_are_spilled_and_read_back_equal():
    budget = MemoryBudget(3 * FRAME_BYTES)
    store = FrameStore(budget=budget)
    for i in range(10):
        store.append(frame(i))
        assert budget.resident_bytes <= budget.limit_bytes
    assert store.in_memory == 3
    for i, got in enumerate(store):
        assert_same(got, frame(i))
    assert_same(store[-10], frame(0))
    assert [f.index for f in store[2:9:3]] == [2, 5, 8]


def test_a_zero_budget_keeps_nothing_in_memory():
    store = FrameStore([frame(i) for i in range(4)], budget=MemoryBudget(0))
    assert store.in_memory == 0
    assert_same(store[2], frame(2))
    empty = Frame(7, 1.0, {"none": Field("none", np.empty(0))})
    store.append(empty)
    assert store[-1].fields["none"].values.shape == (0,)


def test_stores_sharing_a_budget_spill_the_oldest_frames_first():
    budget = MemoryBudget(4 * FRAME_BYTES)
    first, second = FrameStore(budget=budget), FrameStore(budget=budget)
    for i in range(3):
        first.append(frame(i))
    for i in range(3):
        second.append(frame(10 + i))
    assert (first.in_memory, second.in_memory) == (1, 3)  # first's two oldest went to disk
    del first  # its memory leaves the budget with it
    assert budget.resident_bytes == 3 * FRAME_BYTES


def test_memory_stays_within_the_budget_while_frames_keep_coming():
    size = MEGABYTE
    budget = MemoryBudget(8 * size)
    store = FrameStore(budget=budget)
    tracemalloc.start()
    try:
        for i in range(60):
            store.append(Frame(i, float(i), {"u": Field("u", np.full(size // 8, float(i)))}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.in_memory == 8
    # The budget, plus the frame being appended and its copy inside Field: ~11 MB, not 60.
    assert peak < 14 * size, peak / size
    assert store[3].fields["u"].values[0] == 3.0


def test_the_spill_file_leaves_nothing_in_the_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store = FrameStore([frame(i) for i in range(5)], budget=MemoryBudget(0))
    assert store.in_memory == 0 and os.listdir(tmp_path) == []  # unlinked at birth


class _FullDisk:
    def __init__(self):
        self.position = 0

    def seek(self, offset, whence=0):
        self.position = offset

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        pass

    def tell(self):
        return self.position


def test_a_spill_that_fails_raises_one_line_and_loses_no_frame(monkeypatch):
    monkeypatch.setattr(FrameStore, "_open_spill", lambda store: setattr(store, "_file", _FullDisk()) or store._file)
    store = FrameStore(budget=MemoryBudget(FRAME_BYTES))
    store.append(frame(0))
    with pytest.raises(SpillError, match=r"memory budget \(.* MB, PDEWB_FRAME_MEMORY_MB\).*No space left"):
        store.append(frame(1))
    assert len(store) == 2 and store.in_memory == 2
    assert_same(store[0], frame(0))
    assert_same(store[1], frame(1))


def test_a_reader_thread_always_sees_whole_frames_while_another_appends():
    store = FrameStore(budget=MemoryBudget(5 * FRAME_BYTES))
    total, failures = 400, []

    def produce():
        for i in range(total):
            store.append(frame(i))

    producer = threading.Thread(target=produce)
    producer.start()
    rng = random.Random(3)
    try:
        while producer.is_alive() or rng.random() < 0.5:
            count = len(store)
            if count:
                position = rng.randrange(count)
                got = store[position]
                if got.index != position or not np.all(got.fields["u"].values == position):
                    failures.append(position)
    finally:
        producer.join()
    assert not failures
    assert len(store) == total and [f.index for f in store] == list(range(total))


@pytest.mark.parametrize("text", ["lots", "-1", "nan", "inf"])
def test_a_bad_budget_in_the_environment_is_one_clear_error(text):
    with pytest.raises(ParamError, match=f"PDEWB_FRAME_MEMORY_MB='{text}' is not a number of megabytes"):
        budget_from_environment({"PDEWB_FRAME_MEMORY_MB": text})


def test_the_budget_comes_from_the_environment_or_the_memory():
    assert budget_from_environment({"PDEWB_FRAME_MEMORY_MB": " 1.5 "}) == int(1.5 * MEGABYTE)
    assert budget_from_environment({"PDEWB_FRAME_MEMORY_MB": "0"}) == 0
    assert budget_from_environment({}) == physical_memory() // 8 > 0


def test_a_run_keeps_its_frames_in_a_store_and_knows_their_times_without_reading_them():
    run = Run("heat", frames=[frame(0), frame(1)])
    assert isinstance(run.frames, FrameStore)
    run.record(frame(2))
    np.testing.assert_array_equal(run.times, [0.0, 0.25, 0.5])
    assert run.field("u").values.shape == (3, POINTS)
