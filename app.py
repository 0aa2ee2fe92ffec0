"""Neural-network playground: the entry point. Page config and navigation; served as an ``st.App`` with the live
view's frame route.

Run with ``streamlit run app.py``.
"""

import os

# Keep BLAS and torch's thread pools to one thread in the UI process: idle pool workers slow the frames while
# a network trains (docs/measurements.md). Must happen before NumPy or torch load; torch reads
# OMP_NUM_THREADS for its own pool, so it needs no call of its own (and loads only when a page needs it).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import streamlit as st  # noqa: E402

if __name__ != "__main__":
    # `streamlit run app.py` imports this file to find the App below and serves it; each browser session then
    # runs this file as its script ("__main__", the branch below). The App adds the route the live view fetches
    # its frames from while a run plays (ui/liveview/fast.py), so frames need no script rerun.
    from ui.liveview import fast

    app = st.App(__file__, routes=fast.routes())
else:
    st.set_page_config(page_title="Neural-network playground", page_icon="🧠", layout="wide")
    PAGES = [
        st.Page("app_pages/playground.py", title="Playground", icon=":material/tune:", default=True),
        st.Page("app_pages/images.py", title="Images", icon=":material/image:"),
        st.Page("app_pages/from_scratch.py", title="From scratch", icon=":material/function:"),
        st.Page("app_pages/lessons.py", title="Lessons", icon=":material/school:"),
        st.Page("app_pages/search.py", title="Search", icon=":material/manage_search:"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    ]
    from ui.liveview import fast

    with fast.page_run():  # the live view's frames wait while the page answers a click
        st.navigation(PAGES).run()
