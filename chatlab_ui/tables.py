"""How every table shows a value that is not there: a dash, not Streamlit's grey "None"."""

from __future__ import annotations

MISSING = "—"  # st.dataframe / st.data_editor placeholder= for missing values
