"""A stand-in for one app process on a shared history database, for tests that need two of them.

python -m tests.app_process stream DB_URL BASE_URL   stream one reply through send_turn; prints
                                                     "streaming <conversation id>" once the reply row
                                                     holds text, then "done <status>" at the end
python -m tests.app_process start DB_URL             what an app start does to the store
                                                     (chatlab_ui.resources.get_store); prints how
                                                     many replies it marked interrupted
"""

from __future__ import annotations

import sys

from chatlab.client import ChatClient
from chatlab.endpoint import Endpoint
from chatlab.events import TextDelta
from chatlab.store import Store
from chatlab.turn import TurnSettings, send_turn


def stream(db_url: str, base_url: str) -> None:
    store = Store(url=db_url)
    client = ChatClient(
        Endpoint(base_url=base_url, api_keys=("sk-app-process",), max_retries=0, timeout_s=120)
    )
    conversation_id = store.create_conversation()
    announced = False
    for event in send_turn(
        store, client, conversation_id, TurnSettings(model="gpt-4o-mini"), "hello", write_interval_s=0
    ):
        if isinstance(event, TextDelta) and not announced:  # the reply row exists, owned by this process
            announced = True
            print(f"streaming {conversation_id}", flush=True)
    print(f"done {store.messages(conversation_id)[-1].status}", flush=True)


def start(db_url: str) -> None:
    store = Store(url=db_url)
    print(store.interrupt_abandoned_replies(), flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"stream": stream, "start": start}[command](*args)
