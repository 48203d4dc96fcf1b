"""Every parameter, every role on the Compare page (AppTest, against the fake server): the choice
parameters in the overrides table, what a model refuses said at its controls and pane, variables per
pane, the token view in each pane, reasoning and cached tokens per turn."""

from __future__ import annotations

import os
from pathlib import Path

from chatlab.params import CHOICE, OVERRIDES, PARAMS
from chatlab.probe import record_refusal
from chatlab.request import CHAT
from chatlab.store import Store
from tests.test_page_compare import compare_page, panes_of, shown

ROLES = """version: 1
roles:
  - name: Deep Thinker
    system: You think step by step before you answer.
    params:
      reasoning_effort: low
      verbosity: high
  - name: Recruiter
    system: You hire for the ${Position:Software Developer} position and speak {{tone}}.
    variables:
      - name: tone
        description: How the recruiter speaks.
  - name: Plain
    system: You answer plainly.
    params:
      temperature: 0.7
"""


def custom_roles() -> None:
    Path(os.environ["CHATLAB_CUSTOM_ROLES"]).write_text(ROLES, encoding="utf-8")


def test_the_overrides_table_has_a_choice_column_for_every_choice_parameter():
    from chatlab_ui.compare.setup import OVERRIDE_COLUMNS, _override_column

    choices = [name for name in OVERRIDES if PARAMS[name].kind == CHOICE]
    assert set(choices) == {"reasoning_effort", "verbosity"}  # generated from the table, nothing restated
    for name in choices:
        column = _override_column(name)
        assert column["type_config"] == {"type": "selectbox", "options": list(PARAMS[name].choices)}
        assert OVERRIDE_COLUMNS[PARAMS[name].heading] == name


def test_a_roles_choice_parameters_fill_its_pane_and_are_sent(app_env):
    custom_roles()
    at = compare_page().run()
    at.selectbox(key="compare.model").set_value("fake-model").run()  # a model of no known family takes both
    at.multiselect(key="compare.roles").set_value(["Deep Thinker", "Plain"]).run()
    assert "reasoning_effort=low, verbosity=high" in shown(panes_of(at, 2)[0]).replace("\\", "")
    at.chat_input(key="compare.input").set_value("Why is the sky blue?").run()
    assert not at.exception
    bodies = {r.body["messages"][0]["content"]: r.body for r in app_env.chat_requests}
    thinker = bodies["You think step by step before you answer."]
    assert (thinker["reasoning_effort"], thinker["verbosity"]) == ("low", "high")
    assert "reasoning_effort" not in bodies["You answer plainly."]


def test_what_a_probe_found_the_model_refuses_is_said_and_left_out(app_env):
    custom_roles()
    store = Store(os.environ["CHATLAB_DB"])
    endpoint = f"environment {app_env.base_url}"
    record_refusal(store, endpoint, "fake-model", CHAT, "temperature", "temperature is not supported here")
    at = compare_page().run()
    at.selectbox(key="compare.model").set_value("fake-model").run()  # the model the probe's finding is for
    at.multiselect(key="compare.roles").set_value(["Plain", "Deep Thinker"]).run()
    notes = [c.value for c in at.caption if "does not accept temperature" in c.value]
    assert notes, "the sidebar's temperature control and the pane say the model refuses it"
    assert "does not accept temperature" in shown(panes_of(at, 2)[0]).replace("\\", "")
    at.chat_input(key="compare.input").set_value("hello").run()
    assert not at.exception
    assert all("temperature" not in r.body for r in app_env.chat_requests)


def test_a_roles_variables_get_fields_per_pane_and_a_missing_one_blocks_sending(app_env):
    custom_roles()
    at = compare_page().run()
    at.multiselect(key="compare.roles").set_value(["Recruiter", "Plain"]).run()
    position = at.text_input(key="compare.var.Recruiter.position")
    assert position.value == "Software Developer"  # filled with its default
    assert at.chat_input(key="compare.input").disabled
    assert any("Fill in 'tone'" in e.value and "no default" in e.value for e in at.error)
    at.text_input(key="compare.var.Recruiter.tone").set_value("warmly").run()
    at.text_input(key="compare.var.Recruiter.position").set_value("Data Engineer").run()
    assert not at.error and not at.chat_input(key="compare.input").disabled
    at.chat_input(key="compare.input").set_value("Tell me about the job").run()
    assert not at.exception
    systems = {r.body["messages"][0]["content"] for r in app_env.chat_requests}
    assert "You hire for the Data Engineer position and speak warmly." in systems
    header = shown(panes_of(at, 2)[0]).replace("\\", "")
    assert "tone = warmly" in header and "Position = Data Engineer" in header


def test_each_pane_has_its_token_view_and_the_turn_table_reasoning_and_cached_tokens(app_env):
    at = compare_page().run()
    at.multiselect(key="compare.roles").set_value(["Senior Programmer", "Patient Teacher"]).run()
    at.checkbox(key="compare.logprobs.on").check().run()
    at.chat_input(key="compare.input").set_value("hello").run()
    assert not at.exception
    switches = [s for s in at.segmented_control if s.key and ".view." in s.key]
    assert sorted(s.key.split(".view.")[0] for s in switches) == ["compare.pane.0", "compare.pane.1"]
    switches[1].set_value("Tokens").run()
    assert not at.exception
    assert any("What if" in m.value for m in at.markdown)
    table = next(f.value for f in at.dataframe if "Pane" in f.value.columns and "Turn" in f.value.columns)
    assert {"Reasoning tokens", "Cached tokens"} <= set(table.columns)
