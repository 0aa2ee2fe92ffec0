"""Lessons: the classic lessons of training networks, each one click away and checked by the app itself."""

import streamlit as st

from nncore.lessons.catalog import LESSONS
from ui.panels import lessons as lesson_panels
from ui.session import state

st.title("Lessons")
st.caption("Each lesson trains its variants side by side on the same data and seed, says what to watch, states "
           "the expected observation in advance, and then measures whether it happened.")
lesson_id = st.selectbox("Lesson", list(LESSONS), format_func=lambda k: LESSONS[k].title, key="lessons.pick")
lesson = LESSONS[lesson_id]
st.markdown(f"**Watch:** {lesson.what_to_watch}  \n**Expected:** {lesson.expected}")
st.caption("Variants: " + "; ".join(lesson.configs) + f" — {lesson.epochs} epochs each.")

done = state.space().setdefault("lessons", {})
if st.button("Run the lesson", type="primary", key="lessons.run"):
    results = lesson_panels.run_lesson(lesson)
    if results is not None:
        passed, observation = lesson.check(results)
        done[lesson_id] = (passed, observation, results)

if lesson_id in done:
    passed, observation, results = done[lesson_id]
    (st.success if passed else st.error)(
        f"{'As expected' if passed else 'Not as expected'}: {observation}", icon="✅" if passed else "❌")
    left, right = st.columns(2)
    left.vega_lite_chart(lesson_panels.compare_chart(results, "val_loss", "Validation loss", log_y=True),
                         key="lessons.val_loss")
    right.vega_lite_chart(lesson_panels.compare_chart(results, "train_acc", "Train accuracy"),
                          key="lessons.train_acc")
    for column, (name, result) in zip(st.columns(len(results)), results.items()):
        with column:
            lesson_panels.variant(name, result, lesson.dataset_transform, key=f"lessons.{lesson_id}.{name}")
else:
    st.info("Press **Run the lesson**: it takes a few seconds.")
