"""Lessons prove themselves: every lesson's stated observation holds when run headless, the numbers come from
the runs, and a check fails when the runs do not show what the lesson promises."""

import dataclasses
import json
import re

import pytest

from nncore.cli import main as cli
from nncore.lessons import catalog as lessons
from nncore.lessons.catalog import LESSONS, Lesson, run_lesson, run_variants


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", text)]


@pytest.mark.slow
def test_every_lesson_passes_from_the_command_line(capsys):
    """``python -m nncore lessons --check --json``: exit 0, last line maps every lesson to passed + numbers."""
    assert len(LESSONS) >= 9
    rc = cli.main(["lessons", "--check", "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == set(LESSONS)
    failed = {k: v["observation"] for k, v in result.items() if not v["passed"]}
    assert failed == {} and rc == 0
    for lesson_id, r in result.items():
        assert len(numbers(r["observation"])) >= 2, (lesson_id, r["observation"])


def swap_init(lesson: Lesson, init: str) -> dict:
    """The lesson's variants with every one using ``init``."""
    return {name: cfg.replace(model=dataclasses.replace(cfg.model, init=init)) for name, cfg in lesson.configs.items()}


def test_zero_init_check_fails_when_both_runs_use_he_init():
    lesson = LESSONS["zero_init_symmetry"]
    passed, observation = lesson.check(run_variants(swap_init(lesson, "he_uniform")))
    assert passed is False
    assert numbers(observation)[0] > 0.1  # the "zero init" run's units now differ, and the check says by how much


def test_lr_too_low_check_fails_when_both_runs_use_a_good_rate():
    lesson = LESSONS["lr_too_low"]
    good = lesson.configs["lr 0.1"]
    passed, observation = lesson.check(run_variants({name: good for name in lesson.configs}))
    assert passed is False and "lr 0.0001: train loss fell" in observation


def test_normalization_check_fails_without_the_scaled_inputs():
    """On the toy set's own scale, raw inputs are already fine: the lesson's effect needs its transform."""
    lesson = LESSONS["input_normalization"]
    passed, _ = lesson.check(run_variants(lesson.configs, transform=None))
    assert passed is False


@pytest.mark.slow
def test_input_features_check_fails_when_both_runs_read_x1_x2():
    """The squares variant on raw inputs is the same straight line: the check must then fail."""
    lesson = LESSONS["input_features_circles"]
    raw = lesson.configs["x1, x2"]
    assert lesson.configs["x1², x2²"].model.inputs == ("x1_sq", "x2_sq") and raw.model.hidden == ()
    passed, observation = lesson.check(run_variants({name: raw for name in lesson.configs}))
    assert passed is False
    assert numbers(observation)[-1] <= 0.75  # the "x1², x2²" run, now on x1, x2, is no better than a line


def test_a_lesson_gives_the_same_numbers_every_time():
    a, b = run_lesson("lr_too_low"), run_lesson("lr_too_low")
    assert a["observation"] == b["observation"] and a["runs"] == b["runs"]
    assert set(a["runs"]) == {"lr 0.0001", "lr 0.1"} and a["runs"]["lr 0.1"]["epochs"] == 20


def test_transformed_dataset_is_reproducible_for_the_app():
    cfg = LESSONS["input_normalization"].configs["raw inputs"]
    ds = lessons.make_lesson_dataset(cfg, "scaled_x50")
    assert abs(ds.X_train).max() > 20 and not cfg.data.standardize  # the raw, large units reach the network
    assert (ds.X_train == lessons.make_lesson_dataset(cfg, "scaled_x50").X_train).all()
    assert lessons.make_lesson_dataset(cfg, None) is None  # no transform: the Trainer builds its own


def test_cli_lists_lessons_and_rejects_unknown_ids(capsys):
    assert cli.main(["lessons"]) == 0
    out = capsys.readouterr().out
    for lesson in LESSONS.values():
        assert f"{lesson.id}: {lesson.title}" in out and lesson.what_to_watch in out
    assert cli.main(["lessons", "--check", "no_such_lesson"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: lesson must be one of") and "\n" not in err


def test_cli_exits_1_when_a_lesson_fails(capsys, monkeypatch):
    lesson = LESSONS["lr_too_low"]
    broken = dataclasses.replace(lesson, check=lambda results: (False, "measured 1.0, expected 2.0"))
    monkeypatch.setitem(LESSONS, "lr_too_low", broken)
    assert cli.main(["lessons", "--check", "lr_too_low"]) == 1
    assert "FAIL lr_too_low: measured 1.0" in capsys.readouterr().out


def test_lessons_are_well_formed():
    for lesson in LESSONS.values():
        assert 1 <= len(lesson.configs) <= 4 and lesson.expected and lesson.what_to_watch.endswith(".")
        assert lesson.dataset_transform is None or lesson.dataset_transform in lessons.TRANSFORMS
    with pytest.raises(ValueError, match="1-4 variants"):
        dataclasses.replace(LESSONS["batch_size"], configs={})
