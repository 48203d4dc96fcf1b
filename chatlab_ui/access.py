"""The lock screen every page shows first when an access password (CHATLAB_PASSWORD) is configured.

app.py calls require_access() before any page runs, before the database is opened, the URL read or a
sidebar drawn: on a locked session st.stop() ends the run there, so a deep link such as /History?c=…
shows nothing but the lock screen (and keeps its path and ?c= for after the unlock). unlocked() lets
app.py hide the page menu on the lock screen.
"""

from __future__ import annotations

import hmac
import logging
import time

import streamlit as st

from chatlab.access import AccessConfigError, check_password, configured_password, failure_delay, unlock_token
from chatlab_ui.page_keys import PageKeys

K = PageKeys("access")  # the lock screen's own keys; the frame draws it before any page
log = logging.getLogger(__name__)


def unlocked() -> bool:
    """Whether this browser session may see the pages: no password is set, or it was typed in this tab."""
    try:
        password = configured_password()
    except AccessConfigError:
        return False
    return password is None or hmac.compare_digest(
        st.session_state.get(K("token"), ""), unlock_token(password)
    )


def require_access() -> None:
    """Return if no password is set or this browser session has unlocked; else draw the lock screen and stop."""
    try:
        password = configured_password()
    except AccessConfigError as exc:
        log.error("Chat Lab stays locked: %s", exc)  # the detail names a file path: for the log, not visitors
        with _panel():
            st.error(
                "The access password cannot be read, so this deployment stays locked. "
                "Its administrator will find the reason in the server log.",
                icon=":material/error:",
            )
        st.stop()
    if password is None:
        return
    token = unlock_token(password)
    if hmac.compare_digest(st.session_state.get(K("token"), ""), token):
        st.sidebar.button(
            "Lock",
            key=K("lock"),
            icon=":material/lock:",
            type="tertiary",
            on_click=_lock,
            help="Lock this browser tab; the password is asked again.",
        )
        return
    _lock_screen(password, token)
    st.stop()


def _lock() -> None:
    st.session_state.pop(K("token"), None)


def _panel():
    """A narrow, centred column under the app's title, so the form does not stretch across a wide page."""
    outer = st.container(horizontal_alignment="center")
    outer.space("large")
    panel = outer.container(width=420)
    panel.title("🧪 Chat Lab")
    return panel


def _lock_screen(password: str, token: str) -> None:
    with _panel():
        st.write("This deployment is protected by a password.")
        # clear_on_submit: a wrong guess does not stay in the field (or in this session's state).
        with st.form(K("form"), clear_on_submit=True):
            typed = st.text_input(
                "Password", type="password", key=K("password"), autocomplete="current-password"
            )
            submitted = st.form_submit_button(
                "Unlock", key=K("unlock"), type="primary", icon=":material/lock_open:", width="stretch"
            )
        if not submitted:
            return
        if check_password(typed, password):
            st.session_state[K("token")] = token
            st.session_state.pop(K("failures"), None)
            st.rerun()
        # A growing wait per wrong guess makes scripted guessing in one session slow while costing a
        # person who mistypes once half a second. (A new session starts again at 0.5 s: this slows
        # brute force, it does not replace a strong password.)
        failures = st.session_state.get(K("failures"), 0) + 1
        st.session_state[K("failures")] = failures
        time.sleep(failure_delay(failures))
        st.error("That password is not correct.", icon=":material/error:")
