"""Where `./run.sh` serves the app: this machine only, unless a wider address is asked for explicitly.

Streamlit listens on every interface by default, which puts the chat — its API keys' spending, the whole
history — on any network the machine is on. Chat Lab serves on 127.0.0.1 instead. Listening elsewhere is
an explicit choice, and then the access password must be set, or the app refuses to start:

    ./run.sh                                 127.0.0.1
    ./run.sh --public                        0.0.0.0 (every IPv4 interface); needs CHATLAB_PASSWORD
    CHATLAB_ADDRESS=192.168.1.20 ./run.sh    that address; needs CHATLAB_PASSWORD
    ./run.sh --server.address ADDR           Streamlit's own flag: the same rule

The first that is given wins, in that order from the bottom: the flag, CHATLAB_ADDRESS, --public, the
default. `python -m chatlab.listen [run.sh arguments]` prints the address, or one line saying why not on
stderr with exit code 2 (run.sh calls it so).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence

from chatlab.access import AccessConfigError, configured_password

LOCAL = "127.0.0.1"
EVERYWHERE = "0.0.0.0"
ADDRESS_SETTING = "CHATLAB_ADDRESS"
PUBLIC_FLAG = "--public"
STREAMLIT_FLAG = "--server.address"


class ListenError(ValueError):
    """The app must not start on the address asked for; the message says why and what to do."""


def is_local(address: str) -> bool:
    """Whether only this machine can reach `address` (a loopback address, or localhost)."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def requested_address(args: Sequence[str], environ: Mapping[str, str]) -> str:
    """The address asked for by run.sh's arguments or the environment; 127.0.0.1 when nothing asks."""
    for index, arg in enumerate(args):
        if arg == STREAMLIT_FLAG and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(STREAMLIT_FLAG + "="):
            return arg.split("=", 1)[1]
    configured = (environ.get(ADDRESS_SETTING) or "").strip()
    if configured:
        return configured
    return EVERYWHERE if PUBLIC_FLAG in args else LOCAL


def listen_address(args: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> str:
    """The address to serve on; ListenError when it reaches beyond this machine and no password is set."""
    env = os.environ if environ is None else environ
    address = requested_address(args, env)
    if not address:
        raise ListenError("The address to listen on is empty.")
    if is_local(address):
        return address
    try:
        password = configured_password(env)
    except AccessConfigError as exc:
        raise ListenError(
            f"Refusing to listen on {address}: the access password cannot be read ({exc})."
        ) from None
    if not password:
        raise ListenError(
            f"Refusing to listen on {address} without a password: anyone who can reach it could use your API "
            f"keys and read the history. Set CHATLAB_PASSWORD (environment or .streamlit/secrets.toml), or "
            f"leave out {PUBLIC_FLAG}/{ADDRESS_SETTING} to serve on {LOCAL} only."
        )
    return address


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        print(listen_address(args))
    except ListenError as exc:
        print(f"Chat Lab: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
