"""Tables as every page draws them: a dash for a missing value, and a CSV download built on click."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from chatlab_ui.page_keys import PageKeys

MISSING = "—"  # st.dataframe / st.data_editor placeholder= for missing values, not Streamlit's grey "None"


def table(shown: pd.DataFrame, *, key: str | None = None, column_config: dict | None = None, **options):
    """st.dataframe as every page draws one: no index, full width, a dash for a missing value."""
    return st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key=key,
        column_config=column_config,
        placeholder=MISSING,
        **options,
    )


def table_with_csv(
    shown: pd.DataFrame,
    csv: Callable[[], bytes],
    keys: PageKeys,
    *,
    label: str,
    file_name: str,
    column_config: dict | None = None,
) -> None:
    """The table under keys("table") and a Download button under keys("download") whose file (`csv`,
    usually every column and raw names) is built only when it is clicked."""
    table(shown, key=keys("table"), column_config=column_config)
    csv_download(label, csv, file_name, key=keys("download"))


def csv_download(label: str, csv: Callable[[], bytes], file_name: str, *, key: str, **options) -> None:
    """A Download button for a CSV built only when it is clicked; the click does not rerun the page."""
    st.download_button(
        label,
        data=csv,
        file_name=file_name,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=key,
        **options,
    )
