"""Chat Lab core: everything except drawing widgets. Never imports streamlit."""
