import io
import zipfile

import pytest

from chatlab.store import Store
from chatlab.transcript import export_archive, export_conversation, import_transcript


def test_an_archive_holds_one_importable_file_per_conversation(tmp_path):
    store = Store(tmp_path / "x.sqlite3")
    ids = []
    for title in ("first", "第二个"):
        cid = store.create_conversation(title)
        store.add_message(cid, "user", f"hello from {title}")
        store.add_message(cid, "assistant", "hi", model="gpt-4o-mini", prompt_tokens=3, completion_tokens=1)
        ids.append(cid)
    for fmt in ("csv", "json"):
        archive = zipfile.ZipFile(io.BytesIO(export_archive(store, ids, fmt)))
        assert sorted(archive.namelist()) == sorted(f"chatlab-{cid}.{fmt}" for cid in ids)
        for name in archive.namelist():
            new_id = import_transcript(store, archive.read(name), name)
            assert store.count_messages(new_id) == 2
    assert export_conversation(store, ids[1], "md").decode().startswith("# 第二个")
    with pytest.raises(ValueError, match="unknown export format"):
        export_conversation(store, ids[0], "xlsx")
