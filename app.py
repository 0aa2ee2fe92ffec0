"""Neural-network playground: the entry point. Page config, navigation, and nothing else.

Run with ``streamlit run app.py``.
"""

import os

# Keep BLAS pools to one thread in the UI process: idle pool workers made frames several times slower
# while training (measured). Must happen before NumPy or torch load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import streamlit as st  # noqa: E402
import torch  # noqa: E402

from ui import state  # noqa: E402

torch.set_num_threads(1)

st.set_page_config(page_title="Neural-network playground", page_icon="🧠", layout="wide")
PAGES = [
    st.Page("pages/playground.py", title="Playground", icon=":material/tune:", default=True),
    st.Page("pages/images.py", title="Images", icon=":material/image:"),
    st.Page("pages/from_scratch.py", title="From scratch", icon=":material/function:"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
    st.Page("pages/search.py", title="Search", icon=":material/manage_search:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
]
state.mark_entry()
st.navigation(PAGES).run()
