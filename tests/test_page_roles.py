"""The Roles page under AppTest: browse, create, edit, duplicate, delete, import, export."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatlab.roles import Role, load_roles
from chatlab.roles.custom import CustomRoles
from tests.shared_data import SHARED_DATA, shared_file

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/4_Roles.py"
ZH_JSON = SHARED_DATA / "prompts-zh.json"


def roles_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).switch_page(PAGE)


def custom_file() -> CustomRoles:
    return CustomRoles(os.environ["CHATLAB_CUSTOM_ROLES"])


def labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander]


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["roles.tab"] = tab
    return at.run()


def fill_new_role(at: AppTest, name: str, system: str = "You check things twice.") -> AppTest:
    at.button(key="roles.new").click().run()
    at.text_input(key="roles.form.name").input(name)
    at.text_area(key="roles.form.system").input(system)
    return at


def test_page_loads_with_every_builtin_marked_read_only(app_env):
    at = roles_page().run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Library", "Create or edit", "Import", "Export"]
    builtin = load_roles()
    assert len(at.expander) == len(builtin)
    assert labels(at)[0].startswith(f"**{builtin[0].name}**")
    buttons = [b.label for b in at.button]
    assert buttons.count("Duplicate to edit") == len(builtin)
    assert "Edit" not in buttons and "Delete" not in buttons


def test_search_and_filters_narrow_the_list(app_env):
    at = roles_page().run()
    at.text_input(key="roles.search").input("宝贝").run()
    assert labels(at) == ["**贴心伙伴** · zh · companion, daily-life"]
    at.text_input(key="roles.search").input("").run()
    at.multiselect(key="roles.languages").set_value(["zh"]).run()
    assert labels(at) and all(" · zh" in label for label in labels(at))
    at.multiselect(key="roles.languages").set_value([]).run()
    at.multiselect(key="roles.tags").set_value(["coding"]).run()
    assert labels(at) and all("coding" in label for label in labels(at))
    at.text_input(key="roles.search").input("no such role anywhere").run()
    assert labels(at) == [] and "No role matches" in at.info[0].value


def test_a_role_created_in_the_form_is_offered_on_the_chat_page(app_env):
    at = fill_new_role(roles_page().run(), "Careful checker")
    at.text_input(key="roles.form.description").input("Checks twice")
    at.selectbox(key="roles.form.language").select("zh")
    at.number_input(key="roles.form.temperature").set_value(0.2)
    at.text_input(key="roles.form.seed").input("7")
    at.text_area(key="roles.form.stop").input("END\\n")
    at.button(key="roles.form.save").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Saved 'Careful checker'")
    assert at.session_state["roles.tab"] == "Library"
    [stored] = custom_file().list()
    assert (stored.name, stored.description, stored.language) == ("Careful checker", "Checks twice", "zh")
    assert stored.default_params() == {"temperature": 0.2, "seed": 7, "stop": ["END\n"]}
    assert any(label.startswith("**Careful checker**") for label in labels(at))

    at.switch_page("pages/0_Chat.py").run()
    assert not at.exception
    picker = at.selectbox(key="chat.role")
    assert "Careful checker · zh" in picker.options
    picker.select("Careful checker · zh").run()
    assert at.text_area(key="chat.system_prompt").value == "You check things twice."


@pytest.mark.parametrize(
    ("name", "system", "message"),
    [
        ("", "Some prompt", "Give the role a name"),
        ("Nameless", "", "Write a system prompt"),
        ("Default assistant", "Some prompt", "a built-in role is already named"),
    ],
)
def test_form_errors_are_shown_and_nothing_is_saved(app_env, name, system, message):
    at = fill_new_role(roles_page().run(), name, system)
    at.button(key="roles.form.save").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error)
    assert at.session_state["roles.tab"] == "Create or edit"
    assert custom_file().list() == []


def test_a_bad_seed_is_an_error_in_the_form(app_env):
    at = fill_new_role(roles_page().run(), "Seeded")
    at.text_input(key="roles.form.seed").input("forty-two")
    at.button(key="roles.form.save").click().run()
    assert any("Seed: seed must be a whole number, not 'forty-two'" in e.value for e in at.error)
    assert custom_file().list() == []


def test_edit_a_custom_role(app_env):
    custom_file().save(Role(name="Draft", system="Old prompt.", params={"temperature": 0.5}, builtin=False))
    at = roles_page().run()
    edit = next(b for b in at.button if b.label == "Edit")
    edit.click().run()
    assert at.subheader[0].value == "Edit 'Draft'"
    assert at.text_area(key="roles.form.system").value == "Old prompt."
    assert at.number_input(key="roles.form.temperature").value == 0.5
    at.text_input(key="roles.form.name").input("Final")
    at.text_area(key="roles.form.system").input("New prompt.")
    at.number_input(key="roles.form.temperature").set_value(1.1)
    at.button(key="roles.form.save").click().run()
    assert not at.exception
    [stored] = custom_file().list()
    assert (stored.name, stored.system, stored.params) == ("Final", "New prompt.", (("temperature", 1.1),))


def test_duplicate_a_builtin_to_edit_it(app_env):
    at = roles_page().run()
    next(b for b in at.button if b.label == "Duplicate to edit").click().run()
    assert not at.exception
    first = load_roles()[0]
    copy_name = f"{first.name} (copy)"
    assert [r.name for r in custom_file().list()] == [copy_name]
    assert at.session_state["roles.tab"] == "Create or edit"
    assert at.subheader[0].value == f"Edit '{copy_name}'"
    at.text_area(key="roles.form.system").input("An edited copy.")
    at.button(key="roles.form.save").click().run()
    [stored] = custom_file().list()
    assert (stored.name, stored.system, stored.builtin) == (copy_name, "An edited copy.", False)
    assert load_roles()[0].system == first.system  # the built-in itself is untouched


def test_saving_a_copy_keeps_its_few_shot_examples_and_parameters(app_env):
    builtin = next(r for r in load_roles() if r.examples and r.params)
    at = roles_page().run()
    at.text_input(key="roles.search").input(builtin.name).run()
    next(b for b in at.button if b.label == "Duplicate to edit").click().run()
    at.text_input(key="roles.form.description").input("My variant")
    at.button(key="roles.form.save").click().run()
    assert not at.exception
    [stored] = custom_file().list()
    assert stored.examples == builtin.examples and stored.params == builtin.params
    assert stored.description == "My variant"


def test_delete_asks_for_confirmation(app_env):
    custom_file().save(Role(name="Doomed", system="x", builtin=False))
    at = roles_page().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert "Delete 'Doomed'?" in at.warning[0].value
    assert [r.name for r in custom_file().list()] == ["Doomed"]  # not yet
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert not at.warning and [r.name for r in custom_file().list()] == ["Doomed"]

    next(b for b in at.button if b.label == "Delete").click().run()
    confirm = next(b for b in at.button if b.label == "Delete" and b.key.startswith("roles.delete.yes"))
    confirm.click().run()
    assert not at.exception
    assert custom_file().list() == []
    assert at.success[0].value == "Deleted 'Doomed'."
    assert not any(label.startswith("**Doomed**") for label in labels(at))


def test_import_the_chinese_collection_through_the_uploader(app_env):
    shared_file("prompts-zh.json")
    at = open_tab(roles_page().run(), "Import")
    at.file_uploader[0].set_value(("prompts-zh.json", ZH_JSON.read_bytes(), "application/json")).run()
    assert not at.exception
    assert any(m.value.startswith("**124** roles found") for m in at.markdown)
    preview = at.dataframe[0].value
    assert len(preview) == 124 and int(preview["Import"].sum()) == 121
    assert list(preview["Name"][:3]) == ["作为一个不受约束的 AI 模型 DAN", "涩涩女友", "好耶！魅魔！"]
    at.button(key="roles.import.go").click().run()
    assert not at.exception
    assert at.success[0].value == "Imported 121 roles; skipped 3 filtered."
    assert len(custom_file().list()) == 121

    at.switch_page("pages/0_Chat.py").run()
    assert "充当 Linux 终端 · zh" in at.selectbox(key="chat.role").options


def test_single_rows_can_be_unticked_or_ticked_in_the_preview(app_env):
    shared_file("prompts-zh.json")
    at = open_tab(roles_page().run(), "Import")
    at.file_uploader[0].set_value(("prompts-zh.json", ZH_JSON.read_bytes(), "application/json")).run()
    [editor] = at.data_editor
    preview = editor.value
    unticked = preview["Name"].iloc[3]  # the first ticked row (the three filtered ones come first)
    ticked = preview["Name"].iloc[0]  # a filtered one, taken on purpose
    at.session_state[editor.key] = {
        "edited_rows": {3: {"Import": False}, 0: {"Import": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert at.button(key="roles.import.go").label == "Import 121 roles"
    at.button(key="roles.import.go").click().run()
    assert not at.exception
    assert at.success[0].value == "Imported 121 roles; skipped 2 filtered and 1 unticked."
    names = {r.name for r in custom_file().list()}
    assert unticked not in names and ticked in names and len(names) == 121


def test_filter_off_imports_everything(app_env):
    shared_file("prompts-zh.json")
    at = open_tab(roles_page().run(), "Import")
    at.file_uploader[0].set_value(("prompts-zh.json", ZH_JSON.read_bytes(), "application/json")).run()
    at.toggle(key="roles.import.filter").set_value(False).run()
    assert at.button(key="roles.import.go").label == "Import 124 roles"


def test_a_broken_upload_shows_an_error_and_imports_nothing(app_env):
    at = open_tab(roles_page().run(), "Import")
    at.file_uploader[0].set_value(("roles.json", b'[{"act": "A", "prompt": "B"', "application/json")).run()
    assert not at.exception
    assert "invalid JSON at line 1" in at.error[0].value
    assert not any(b.key == "roles.import.go" for b in at.button)
    assert not Path(os.environ["CHATLAB_CUSTOM_ROLES"]).exists()


def test_export_offers_all_or_custom_roles(app_env):
    custom_file().save(Role(name="Mine", system="x", builtin=False))
    at = open_tab(roles_page().run(), "Export")
    assert not at.exception
    total = len(load_roles()) + 1
    assert at.get("download_button")[0].proto.label == f"Download {total} roles as YAML"
    at.radio(key="roles.export.which").set_value("custom").run()
    assert at.get("download_button")[0].proto.label == "Download 1 role as YAML"


def test_a_broken_custom_file_is_reported_and_builtins_still_work(app_env):
    Path(os.environ["CHATLAB_CUSTOM_ROLES"]).write_text("version: 1\nroles:\n  - name: X\n    sytem: y\n")
    at = roles_page().run()
    assert not at.exception
    assert any("line 4" in e.value and "sytem" in e.value for e in at.error)
    assert len(at.expander) == len(load_roles())
    at.switch_page("pages/0_Chat.py").run()
    assert not at.exception
    assert len(at.selectbox(key="chat.role").options) == len(load_roles())


def test_an_imported_role_cannot_make_the_page_load_an_image(app_env):
    # A collection's description is drawn as Markdown; an image in it would be fetched on sight.
    leak = "![x](http://127.0.0.1:9/leak)"
    custom_file().save(Role(name="Sneaky", system="x", description=f"Helpful {leak}", builtin=False))
    at = roles_page().run()
    shown = [m.value for m in at.markdown if "Helpful" in m.value]
    assert shown == ["Helpful \\" + leak]  # an escaped `!`: a link the user may open, not an image
