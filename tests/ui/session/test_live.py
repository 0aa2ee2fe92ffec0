"""Frame pacing of live training: one training per core at full pace, slower and shorter frames beyond."""

import math

import pytest

from ui.session.live import FRAME_SECONDS, TRAIN_SLICE_SECONDS, pace


def test_up_to_one_training_per_core_runs_at_full_pace():
    assert pace(0, cores=2) == pace(1, cores=2) == pace(2, cores=2) == (FRAME_SECONDS, TRAIN_SLICE_SECONDS)
    assert 1 / FRAME_SECONDS >= 4  # the target frame rate of one session
    assert TRAIN_SLICE_SECONDS < FRAME_SECONDS  # time is left to draw each frame


@pytest.mark.parametrize("active, cores", [(3, 2), (4, 2), (8, 2), (5, 4), (3, 1)])
def test_a_busy_server_spaces_frames_and_shortens_slices_keeping_its_work_per_second(active, cores):
    interval, train_slice = pace(active, cores)
    assert interval > FRAME_SECONDS and train_slice < TRAIN_SLICE_SECONDS
    # every session trains the same share of each second, so the server's training work grows with the number
    # of cores, not with the number of sessions
    total_training_per_second = active * train_slice / interval
    assert total_training_per_second <= cores * TRAIN_SLICE_SECONDS / FRAME_SECONDS + 1e-9
    # and the training work per second falls as sessions are added beyond one per core
    more_interval, more_slice = pace(active + cores, cores)
    assert (active + cores) * more_slice / more_interval < total_training_per_second or \
        math.ceil((active + cores) / cores) == math.ceil(active / cores)


def test_four_sessions_on_two_cores_aim_above_two_frames_per_second():
    interval, _ = pace(4, cores=2)
    assert 1 / interval >= 2
