"""Variables in role prompts: the placeholder rules, roles.yaml, the importer, and the one message path."""

from __future__ import annotations

import pytest

from chatlab.client import ChatClient
from chatlab.context import build_context
from chatlab.roles import Role, RolesError, parse_roles, roles_to_yaml
from chatlab.roles.form import role_from_form
from chatlab.roles.importer import parse_collection
from chatlab.roles.variables import (
    MissingValues,
    Variable,
    find_placeholders,
    find_variables,
    merge_variables,
    missing_values,
    render,
    render_messages,
)
from chatlab.store import Store
from chatlab.turn import TurnSettings, plan_context, plan_request, role_settings, send_turn

INTERVIEWER = (
    "I want you to act as an interviewer. I will be the candidate and you will ask me the interview "
    "questions for the ${Position:Software Developer} position. I want you to only reply as the "
    'interviewer. Do not write all the conversation at once. My first sentence is "Hi"'
)


# The rules -------------------------------------------------------------------------------------------


def test_both_syntaxes_with_and_without_defaults() -> None:
    text = "For the ${Position:Software Developer} role, in {{ language }}, about ${Topic}; {{tone}}."
    assert find_variables(text) == (
        Variable("Position", "Software Developer"),
        Variable("language"),
        Variable("Topic"),
        Variable("tone"),
    )
    out = render(text, {"language": "English", "topic": "testing", "TONE": "kindly"})
    assert out == "For the Software Developer role, in English, about testing; kindly."


def test_what_is_not_a_placeholder() -> None:
    text = (
        'A lone { brace, {x}, {{"a": 1}}, {{ 2fast }}, ${user.name}, $ {Name}, ${}, {{}}\n'
        "Inline `${HOME}` and ``a {{b}} c`` stay.\n"
        "```bash\necho ${PATH} {{not_me}}\n```\n"
        "~~~\n${Tilde}\n~~~\n"
    )
    assert find_placeholders(text) == []
    assert render(text, {}) == text


def test_a_fence_that_never_closes_runs_to_the_end() -> None:
    assert find_variables("before ${A:1}\n```\ncode ${B}\n") == (Variable("A", "1"),)


def test_backslash_escapes_and_names_in_any_script() -> None:
    text = r"Literal \{{name}} and \${Name}; real ${岗位:软件工程师} and {{ first name }}."
    assert [v.name for v in find_variables(text)] == ["岗位", "first name"]
    assert render(text, {"first name": "Ada"}) == "Literal {{name}} and ${Name}; real 软件工程师 and Ada."


def test_names_match_ignoring_case_and_the_first_default_counts() -> None:
    text = "${Position} then {{position}} then ${POSITION:Dev}"
    assert find_variables(text) == (Variable("Position", "Dev"),)
    assert render(text, {}) == "Dev then Dev then Dev"
    assert render(text, {"position": "QA"}) == "QA then QA then QA"


def test_empty_default_renders_nothing_and_empty_value_falls_back() -> None:
    assert render("a${X:}b", {}) == "ab"
    assert render("a ${X:dflt} b", {"x": "  "}) == "a dflt b"


def test_a_value_is_never_read_as_a_placeholder() -> None:
    assert render("Say {{x}}", {"x": "${Other} {{x}}"}) == "Say ${Other} {{x}}"


def test_missing_values_are_named_in_plain_words() -> None:
    with pytest.raises(MissingValues) as info:
        render("{{topic}} and ${Audience} and ${Tone:warm}", {})
    assert info.value.names == ("topic", "Audience")
    assert (
        str(info.value)
        == "Fill in 'topic' and 'Audience': the prompt uses these variables and there is no default."
    )
    assert missing_values(find_variables("{{a}} ${b:1}"), {}) == ("a",)


def test_declared_defaults_win_over_inline_ones() -> None:
    declared = [Variable("position", "Data Engineer", "the job title")]
    merged = merge_variables(declared, find_variables(INTERVIEWER))
    assert merged == (Variable("Position", "Data Engineer", "the job title"),)
    assert "for the Data Engineer position" in render(INTERVIEWER, {}, declared)


def test_render_messages_reports_every_missing_name_at_once() -> None:
    messages = [{"role": "user", "content": "{{a}}"}, {"role": "assistant", "content": "{{b}}"}]
    with pytest.raises(MissingValues) as info:
        render_messages(messages, {})
    assert info.value.names == ("a", "b")
    assert render_messages(messages, {"a": "1", "b": "2"})[1] == {"role": "assistant", "content": "2"}


# Roles -------------------------------------------------------------------------------------------------


def test_a_role_carries_the_variables_of_its_prompt_and_examples() -> None:
    role = Role(
        name="Tutor",
        system="Teach {{subject}} at ${Level:beginner} level.",
        examples=[("Explain ${Concept:addition}", "Sure: {{subject}} basics first.")],
    )
    assert [(v.name, v.default) for v in role.variables] == [
        ("subject", None),
        ("Level", "beginner"),
        ("Concept", "addition"),
    ]


YAML = """
version: 1
roles:
  - name: Interviewer
    system: Interview me for the ${Position:Software Developer} position, {{ tone }}.
    variables:
      - name: tone
        default: politely
        description: How the interviewer speaks.
      - name: position
        description: The job title.
"""


def test_roles_yaml_declares_defaults_and_descriptions_and_export_keeps_them() -> None:
    role = parse_roles(YAML)[0]
    assert role.variables == (
        Variable("Position", "Software Developer", "The job title."),
        Variable("tone", "politely", "How the interviewer speaks."),
    )
    again = parse_roles(roles_to_yaml([role]))[0]
    assert again == role
    assert "How the interviewer speaks." in roles_to_yaml([role])


def test_an_old_file_without_variables_loads_and_exports_without_them() -> None:
    text = "version: 1\nroles:\n  - name: Plain\n    system: Be brief.\n"
    role = parse_roles(text)[0]
    assert role.variables == ()
    assert "variables:" not in roles_to_yaml([role], header=False)


@pytest.mark.parametrize(
    ("variables", "message", "line"),
    [
        (
            "      - name: nope\n",
            "variable 'nope' is declared but the system prompt and examples never use it",
            5,
        ),
        ("      - name: 1st\n", "variable 1 needs a 'name' that starts with a letter", 5),
        ("      - name: tone\n        defualt: x\n", "unknown key 'defualt' (did you mean 'default'?", 6),
        ("      - name: tone\n      - name: TONE\n", "variable 'TONE' is declared twice", 6),
        ("      tone: x\n", "variables must be a list", 5),
    ],
)
def test_bad_variable_declarations_name_the_line(variables: str, message: str, line: int) -> None:
    text = "version: 1\nroles:\n  - name: R\n    variables:\n" + variables + "    system: Say it {{tone}}.\n"
    with pytest.raises(RolesError) as info:
        parse_roles(text, "roles.yaml")
    assert message in str(info.value)
    assert f"line {line}" in str(info.value)


def test_the_roles_editor_passes_variables_through() -> None:
    role = role_from_form(
        name="Writer",
        description="",
        language="en",
        tags=[],
        system="Write about {{topic}}.",
        params={},
        examples=[],
        variables=[{"name": "topic", "default": "", "description": "What to write about."}],
    )
    assert role.variables == (Variable("topic", None, "What to write about."),)


# The importer and the one message path -----------------------------------------------------------------

# Shaped like f/awesome-chatgpt-prompts' prompts.csv today (act,prompt,for_devs,type,contributor).
PROMPTS_CSV = (
    "act,prompt,for_devs,type,contributor\n"
    '"Linux Terminal","I want you to act as a linux terminal. Reply inside one code block: '
    '```${PWD}``` and nothing else.",TRUE,TEXT,f\n'
    f'"Job Interviewer","{INTERVIEWER.replace(chr(34), chr(34) * 2)}",FALSE,TEXT,f\n'
)


def test_the_importer_recognises_placeholders() -> None:
    candidates = {c.name: c for c in parse_collection(PROMPTS_CSV.encode(), "prompts.csv")}
    interviewer = candidates["Job Interviewer"]
    assert interviewer.variables == (Variable("Position", "Software Developer"),)
    assert candidates["Linux Terminal"].variables == ()  # ${PWD} sits in code
    role = interviewer.to_role()
    assert role.variables == (Variable("Position", "Software Developer"),)
    assert "${Position:Software Developer}" in role.system  # the template is kept, rendered when sent


def test_a_yaml_export_imports_with_its_declarations() -> None:
    role = parse_roles(YAML)[0]
    candidate = parse_collection(roles_to_yaml([role]).encode(), "mine.yaml")[0]
    assert candidate.to_role().variables == role.variables


def test_job_interviewer_done_when(tmp_path, fake_openai, fake_endpoint) -> None:
    """Import the awesome-chatgpt-prompts CSV, chat as Job Interviewer: a Position field holding the
    default, and the model receives the rendered prompt."""
    role = next(
        c for c in parse_collection(PROMPTS_CSV.encode(), "prompts.csv") if c.name == "Job Interviewer"
    )
    role = role.to_role()
    settings = role_settings(role, model="gpt-4o-mini")
    assert [(v.name, v.default) for v in settings.prompt_variables()] == [("Position", "Software Developer")]

    preview = plan_request(settings, plan_context([], settings, "Hi"))
    assert "for the Software Developer position" in preview.messages[0]["content"]

    store = Store(tmp_path / "h.sqlite3")
    client = ChatClient(fake_endpoint)
    conversation = store.create_conversation()
    list(send_turn(store, client, conversation, settings, "Hi"))
    received = fake_openai.last_body["messages"][0]
    assert received["role"] == "system"
    assert "for the Software Developer position" in received["content"]
    assert "${" not in received["content"]
    reply = store.messages(conversation)[-1]
    assert reply.request["messages"][0] == received  # the stored request holds the rendered text
    assert "for the Software Developer position" in reply.system_prompt

    other = role_settings(role, model="gpt-4o-mini", values={"position": "Data Engineer"})
    list(send_turn(store, client, conversation, other, "Hi again"))
    assert "for the Data Engineer position" in fake_openai.last_body["messages"][0]["content"]


def test_a_missing_value_refuses_to_send_and_stores_nothing(tmp_path, fake_openai, fake_endpoint) -> None:
    settings = TurnSettings(
        model="gpt-4o-mini",
        system_prompt="Summarise for {{audience}}.",
        few_shot=({"role": "user", "content": "in ${Style}"}, {"role": "assistant", "content": "ok"}),
    )
    assert settings.missing_values() == ("audience", "Style")
    with pytest.raises(MissingValues, match="Fill in 'audience' and 'Style'"):
        plan_context([], settings, "text")
    store = Store(tmp_path / "h.sqlite3")
    conversation = store.create_conversation()
    with pytest.raises(MissingValues):
        send_turn(store, ChatClient(fake_endpoint), conversation, settings, "text")
    assert store.messages(conversation) == []
    assert fake_openai.chat_requests == []

    filled = TurnSettings(**{**settings.__dict__, "values": {"audience": "kids", "style": "verse"}})
    window = plan_context([], filled, "text")
    assert window.messages[:2] == [
        {"role": "system", "content": "Summarise for kids."},
        {"role": "user", "content": "in verse"},
    ]
    # The token split counts the rendered text, as build_context would for plain text.
    plain = build_context(
        system_prompt="Summarise for kids.",
        history=[],
        user_text="text",
        depth=None,
        few_shot=[{"role": "user", "content": "in verse"}, {"role": "assistant", "content": "ok"}],
    )
    assert window.split == plain.split


def test_the_sweep_renders_the_role_prompt_and_refuses_missing_values() -> None:
    from chatlab.sweep.plan import SweepSpec, messages_for

    role = Role(
        name="Guide", system="Talk about {{topic}}, ${Tone:kindly}.", examples=[("{{topic}}?", "Yes.")]
    )
    spec = SweepSpec(
        model="gpt-4o-mini",
        system_prompt=role.system,
        few_shot=tuple(role.few_shot_messages()),
        variables=role.variables,
        values={"topic": "cats"},
        prompt="hi",
        axes=(("temperature", (0.0, 1.0)),),
    )
    assert messages_for(spec)[:2] == [
        {"role": "system", "content": "Talk about cats, kindly."},
        {"role": "user", "content": "cats?"},
    ]
    with pytest.raises(MissingValues, match="Fill in 'topic'"):
        SweepSpec(model="m", system_prompt=role.system, prompt="hi", axes=(("temperature", (0.0,)),))
