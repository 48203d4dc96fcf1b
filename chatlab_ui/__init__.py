"""Streamlit widgets shared by the pages. All logic lives in `chatlab`; this package only draws."""
