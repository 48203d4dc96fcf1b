"""The terminal chat: `python -m chatlab chat --role NAME`, on the app's endpoints and history database.

Every message goes through chatlab.turn.send_turn into the same Store the app reads (CHATLAB_DB), so a
conversation started here shows up in the app's History. Endpoints resolve as the app's sidebar
default does: .streamlit/secrets.toml > the environment > the local offline model.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from chatlab import offline
from chatlab.client import ChatClient
from chatlab.context import MAX_CHOICES
from chatlab.endpoint import Endpoint
from chatlab.events import KeyNotice, ReasoningDelta, StreamDone, StreamError, TextDelta
from chatlab.models import default_model
from chatlab.params import FLOAT, INT, PARAMS, ROLE_PARAMS, STOPS, GenerationParams, Param, ParamError
from chatlab.prices import format_usd
from chatlab.probe import endpoint_key, estimate, run_probe, stored_capabilities
from chatlab.profiles import (
    OFFLINE_NAME,
    PRESETS,
    ProfilesError,
    configured_profiles,
    default_profile_name,
    from_preset,
    load_secrets,
)
from chatlab.request import CHAT, PROTOCOLS
from chatlab.roles import MissingValues, Role, RolesError, find_role, load_roles_or_default, roles_path
from chatlab.roles.custom import CustomRoles, all_roles
from chatlab.roles.variables import variable_key
from chatlab.store import COMPLETE, ERROR, STOPPED, Message, Store
from chatlab.turn import TurnSettings, role_settings, send_turn
from chatlab.usage import describe_reply

DEFAULT_DEPTH = 10  # as the app's sidebar
OFFLINE_START_TIMEOUT_S = 180.0
PROMPT = "you> "

HELP = """Commands:
  /role            list the roles
  /role NAME       switch to another role (its system prompt and default parameters)
  /var             list the role's variables and their values
  /var NAME=VALUE  set a variable of the role's prompt (an empty VALUE goes back to the default)
  /reset           start a new conversation
  /save [PATH]     write this conversation as Markdown (default: a file named after it)
  /help            this help
  /exit            quit (Ctrl-D does too)
Ctrl-C while a reply streams stops it (what arrived is kept); at the prompt it quits.
Start a message with // to send a line that begins with /."""


class CliError(Exception):
    """A problem that ends the command with a one-line explanation (and exit status 1 or 2)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


# Output ---------------------------------------------------------------------------------------------


class Terminal:
    """Writes to the terminal; dim/red styling only on a colour-capable TTY (NO_COLOR and TERM=dumb off)."""

    def __init__(self, out: TextIO, color: bool):
        self.out = out
        self.color = color

    def _style(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color and text else text

    def dim(self, text: str) -> str:
        return self._style("2", text)

    def red(self, text: str) -> str:
        return self._style("31", text)

    def bold(self, text: str) -> str:
        return self._style("1", text)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")


def _wants_color(out: TextIO, environ) -> bool:
    return out.isatty() and not environ.get("NO_COLOR") and environ.get("TERM", "") != "dumb"


# Arguments ------------------------------------------------------------------------------------------


def _depth(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    try:
        depth = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'all', got {value!r}") from None
    if depth < 0:
        raise argparse.ArgumentTypeError("the depth cannot be negative")
    return depth


def _var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _param_type(param: Param) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return param.parse(text)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = param.name  # argparse names the type in its error messages
    return parse


def _add_param_flag(parser: argparse.ArgumentParser, param: Param) -> None:
    """A flag for a table parameter (overrides the role's default); --stop may be given up to 4 times."""
    help_text = f"{param.help} Overrides the role's default."
    if param.kind in (FLOAT, INT):
        help_text = f"{param.help} ({param.range_text()}; overrides the role's default)"
    if param.kind == STOPS:
        parser.add_argument(param.cli_flag, dest=param.name, action="append", metavar="TEXT", help=help_text)
    else:
        parser.add_argument(param.cli_flag, dest=param.name, type=_param_type(param), help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chatlab",
        description="Chat Lab in the terminal. Conversations are stored in the same history as the app.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chat = commands.add_parser(
        "chat",
        help="chat with a model in the terminal",
        description="Chat with a model, replies streamed as they arrive. Endpoint order: --profile > "
        ".streamlit/secrets.toml > environment (OPENAI_API_KEY, OPENAI_BASE_URL) > the local offline model. "
        "Type /help in the chat for its commands.",
    )
    probe = commands.add_parser(
        "probe",
        help="find which parameters a model accepts, rejects, ignores or renames",
        description="Send a handful of tiny requests and classify every parameter as accepted, rejected, "
        "ignored or renamed. The findings are stored, and the app and the chat follow them.",
    )
    probe.add_argument("--model", help="model id (default: as the chat chooses)")
    probe.add_argument("--yes", action="store_true", help="do not ask before sending the requests")
    chat.add_argument("--role", help="role from roles.yaml (default: the first one); /role lists them")
    chat.add_argument("--model", help="model id (default: the profile's default_model, else one it lists)")
    chat.add_argument(
        "--var",
        type=_var,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for a variable of the role's prompt ({{name}} or ${Name:default}); may be repeated",
    )
    for param in (PARAMS[name] for name in ROLE_PARAMS):  # every parameter a role may preset
        _add_param_flag(chat, param)
    chat.add_argument(
        "--depth",
        type=_depth,
        default=DEFAULT_DEPTH,
        help=f"past messages sent with each request: a number or 'all' (default {DEFAULT_DEPTH})",
    )
    for command in (chat, probe):
        command.add_argument(
            "--profile",
            help="endpoint profile from secrets.toml, 'environment', a preset such as 'DeepSeek', or 'offline'",
        )
        command.add_argument(
            "--api",
            choices=sorted(PROTOCOLS),
            default=CHAT,
            help="chat: /v1/chat/completions (default); responses: /v1/responses (some models are served only there)",
        )
    return parser


# Endpoint -------------------------------------------------------------------------------------------


def _choices(term: Terminal) -> tuple[dict[str, Endpoint | None], str]:
    """Profile name -> endpoint (None: the offline model), and the default name, as the sidebar has them."""
    try:
        secrets = load_secrets()
        profiles = configured_profiles(secrets)
    except ProfilesError as exc:
        term.line(term.red(f"{exc} — using the environment and the offline model instead."))
        secrets, profiles = {}, configured_profiles({})
    choices: dict[str, Endpoint | None] = {p.name: p for p in profiles}
    choices[OFFLINE_NAME] = None
    for preset in PRESETS:
        choices.setdefault(preset.name, from_preset(preset))
    return choices, default_profile_name(profiles, secrets)


def resolve_endpoint(profile: str | None, term: Terminal) -> Endpoint:
    """The endpoint to chat with; starts the offline model when that is the one (raises CliError)."""
    choices, default = _choices(term)
    name = default if profile is None else profile
    wanted = next((n for n in choices if n.casefold() == name.strip().casefold()), None)
    if wanted is None:
        raise CliError(f"Unknown profile {profile!r}. Choose one of: {', '.join(choices)}.", status=2)
    endpoint = choices[wanted]
    return endpoint if endpoint is not None else _start_offline(term, explicit=profile is not None)


def _start_offline(term: Terminal, explicit: bool) -> Endpoint:
    ok, why = offline.offline_available()
    if not ok:
        hint = (
            ""
            if explicit
            else " No endpoint is configured either: set OPENAI_API_KEY (and OPENAI_BASE_URL for another "
            "OpenAI-compatible server), or add a profile to .streamlit/secrets.toml."
        )
        raise CliError(why + hint)
    term.line(
        "Starting the local model… (a tiny model that runs on this machine; set OPENAI_API_KEY to use OpenAI)"
    )
    server = offline.get_offline_server()
    if not server.wait_ready(timeout_s=OFFLINE_START_TIMEOUT_S):
        status = server.status()
        tail = server.log_tail(5)
        raise CliError(f"The local model did not start: {status.message}" + (f"\n{tail}" if tail else ""))
    return server.endpoint()


def pick_model(
    requested: str | None, endpoint: Endpoint, client: ChatClient, store: Store | None = None
) -> str:
    """--model, else as the app's picker chooses (chatlab.models.default_model)."""
    if requested and requested.strip():
        return requested.strip()
    last_used = store.last_model(endpoint.name) if store is not None else None
    model, _ = default_model(
        client.list_models(), profile_default=endpoint.default_model, last_used=last_used
    )
    return model


def describe_endpoint(endpoint: Endpoint) -> str:
    """Name, URL and keys (last 4 characters only) — never a whole key."""
    keys = ", ".join(endpoint.masked_keys) if endpoint.api_keys else "no key"
    proxy = " · via proxy" if endpoint.proxy else ""
    return f"{endpoint.name} · {endpoint.display_url} · {keys}{proxy}"


# The chat -------------------------------------------------------------------------------------------


# Control characters other than newline and tab: model output must not move the cursor, retitle the
# window or rewrite the screen through escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Model text made safe for a terminal (escape sequences shown as �, not obeyed)."""
    return _CONTROL.sub("\ufffd", text.replace("\r", ""))


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_").lower()[:40]


def default_transcript_path(title: str, conversation_id: str) -> Path:
    """e.g. ./explain-closures-in-python-3f2a9c1e.md (named after the conversation, unique by its id)."""
    return Path(f"{_slug(title) or 'chat'}-{conversation_id[:8]}.md")


@dataclass
class ChatSession:
    """One terminal chat: the role, model and parameters in force, and the conversation being written."""

    store: Store
    client: ChatClient
    endpoint: Endpoint
    roles: list[Role]
    role: Role
    model: str
    depth: int | None
    overrides: dict = field(default_factory=dict)  # parameters given on the command line beat the role's
    values: dict = field(default_factory=dict)  # variable values by name; kept when the role changes
    term: Terminal = field(default_factory=lambda: Terminal(sys.stdout, False))
    conversation_id: str | None = None  # created with the first message, so an idle session stores nothing
    protocol: str = CHAT

    @property
    def params(self) -> GenerationParams:
        return GenerationParams.from_dict({**self.role.default_params(), **self.overrides})

    def settings(self) -> TurnSettings:
        key = endpoint_key(self.endpoint)
        return role_settings(
            self.role,
            model=self.model,
            values=self.values,
            params=self.params,
            context_depth=self.depth,
            endpoint_name=self.endpoint.name,
            capabilities=stored_capabilities(self.store, key, self.model, self.protocol),
            protocol=self.protocol,
            findings_key=key,
        )

    def variables_text(self) -> str:
        """The role's variables as `Name = value`, marking defaults and missing values."""
        given = {variable_key(k): v for k, v in self.values.items() if v.strip()}
        parts = []
        for v in self.role.variables:
            if v.key in given:
                parts.append(f"{v.name} = {given[v.key]}")
            elif v.default is not None:
                parts.append(f"{v.name} = {v.default} (default)")
            else:
                parts.append(f"{v.name} = ? (needs a value: /var {v.name}=...)")
        return "; ".join(parts)

    # -- header and commands

    def header(self) -> None:
        t = self.term
        depth = "all past messages" if self.depth is None else f"{self.depth} past messages"
        params = self.params.describe()
        t.line(t.bold("Chat Lab") + t.dim(" — terminal chat, stored in the app's history"))
        t.line(f"  role      {self.role.name}")
        t.line(f"  model     {self.model}")
        t.line(f"  endpoint  {describe_endpoint(self.endpoint)}")
        t.line(f"  depth     {depth}")
        t.line(f"  params    {params}")
        if self.role.variables:
            t.line(f"  vars      {self.variables_text()}")
        t.line(t.dim("Type /help for commands. Ctrl-C stops a reply; Ctrl-D or /exit quits."))
        t.line()

    def command(self, line: str) -> bool:
        """Run a /command; False means quit."""
        name, _, arg = line[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        t = self.term
        if name in ("exit", "quit", "q"):
            return False
        if name in ("help", "h", "?"):
            t.line(HELP)
        elif name == "role" and arg:
            self.switch_role(arg)
        elif name == "role":
            self.list_roles()
        elif name == "var":
            self.set_variable(arg)
        elif name in ("reset", "new"):
            self.conversation_id = None
            t.line(t.dim("New conversation: the next message starts it."))
        elif name == "save":
            self.save(arg)
        else:
            t.line(f"Unknown command /{name}. Type /help for the commands.")
        return True

    def list_roles(self) -> None:
        for role in self.roles:
            mark = "*" if role.name == self.role.name else " "
            about = f" — {role.description}" if role.description else ""
            self.term.line(f" {mark} {role.name} [{role.language}]{self.term.dim(about)}")
        self.term.line(self.term.dim("Switch with /role NAME."))

    def switch_role(self, name: str) -> None:
        role = find_role(self.roles, name)
        if role is None:
            self.term.line(f"No role named {name!r}. Type /role to list them.")
            return
        self.role = role
        params = self.params.describe()
        self.term.line(f"Role: {role.name} ({params}). The conversation goes on with the new system prompt.")

    def set_variable(self, arg: str) -> None:
        t = self.term
        if arg:
            name, sep, value = arg.partition("=")
            if not sep or not name.strip():
                t.line("Write /var NAME=VALUE (an empty VALUE goes back to the default).")
                return
            self.values = {k: v for k, v in self.values.items() if variable_key(k) != variable_key(name)}
            if value.strip():
                self.values[name.strip()] = value
        if self.role.variables:
            t.line(f"Variables: {self.variables_text()}")
        else:
            t.line(f"The role '{self.role.name}' has no variables.")

    def save(self, arg: str) -> None:
        t = self.term
        conversation = self.store.get_conversation(self.conversation_id) if self.conversation_id else None
        if conversation is None:
            t.line("Nothing to save yet: send a message first.")
            return
        from chatlab.transcript import to_markdown  # pandas comes with it: load it only when saving

        messages = self.store.messages(conversation.id)
        path = Path(arg).expanduser() if arg else default_transcript_path(conversation.title, conversation.id)
        try:
            path.write_text(to_markdown(conversation, messages), encoding="utf-8")
        except OSError as exc:
            t.line(t.red(f"Could not write {path}: {exc.strerror or exc}"))
            return
        t.line(f"Saved {len(messages)} messages to {path}")

    # -- a turn

    def send(self, text: str) -> None:
        """Send one message and stream the reply; Ctrl-C stops the reply and keeps what arrived."""
        t = self.term
        settings = self.settings()
        if settings.missing_values():
            t.line(t.red(str(MissingValues(settings.missing_values())) + " Set it with /var NAME=VALUE."))
            return
        if self.conversation_id is None:
            self.conversation_id = self.store.create_conversation(endpoint_name=self.endpoint.name)
        events = send_turn(self.store, self.client, self.conversation_id, settings, text)
        error: StreamError | None = None
        printed = reasoning = False
        try:
            for event in events:
                if isinstance(event, TextDelta) and event.choice == 0:
                    if reasoning and not printed:
                        t.write("\n\n")
                    t.write(printable(event.text))
                    printed = True
                elif isinstance(event, ReasoningDelta) and event.choice == 0:
                    t.write(t.dim(printable(event.text)))
                    reasoning = True
                elif isinstance(event, KeyNotice):
                    t.line(t.dim(event.message))
                elif isinstance(event, StreamError):
                    error = event
                elif isinstance(event, StreamDone):
                    break
        except KeyboardInterrupt:
            # Closing send_turn's generator stores what arrived as 'stopped'.
            events.close()
            if printed or reasoning:
                t.line()
            t.line(t.dim("[stopped — the partial reply is kept]"))
            t.line()
            return
        finally:
            events.close()
        if printed or reasoning:
            t.line()
        if error is not None:
            t.line(t.red(_error_line(error)))
        reply = self._last_reply()
        if reply is not None and reply.status != ERROR:
            t.line(t.dim(_meta_line(reply)))
        t.line()

    def _last_reply(self) -> Message | None:
        recent = self.store.messages(self.conversation_id, last=MAX_CHOICES + 1)
        return next((m for m in reversed(recent) if m.role == "assistant" and m.choice_index == 0), None)


def _error_line(error: StreamError) -> str:
    status = f" {error.status}" if error.status else ""
    hint = ""
    if error.kind == "auth":
        hint = " Check the key: OPENAI_API_KEY, .streamlit/secrets.toml, or --profile."
    elif error.kind == "not_found":
        hint = " Pick another model with --model."
    return f"Error{status}: {error.message}{hint}"


def _meta_line(reply: Message) -> str:
    line = describe_reply(reply)
    if reply.status not in (COMPLETE, STOPPED):
        line += f" · {reply.status}"
    return line


# Entry points ---------------------------------------------------------------------------------------


def _read_line(prompt: str, read: Callable[[str], str]) -> str | None:
    """The next line typed, or None on Ctrl-D / Ctrl-C (quit)."""
    try:
        return read(prompt)
    except (EOFError, KeyboardInterrupt):
        return None


def run_chat(args: argparse.Namespace, term: Terminal, read: Callable[[str], str] = input) -> int:
    roles, roles_error = load_roles_or_default(roles_path())
    if roles_error:
        term.line(
            term.red(
                f"roles.yaml could not be loaded, so only the default assistant is offered: {roles_error}"
            )
        )
    try:  # the user's own roles from the Roles page, as in the app
        roles = all_roles(roles, CustomRoles(builtin=roles))
    except RolesError as exc:
        term.line(term.red(f"Custom roles could not be loaded: {exc}"))
    role = roles[0] if args.role is None else find_role(roles, args.role)
    if role is None:
        raise CliError(f"No role named {args.role!r}. Roles: {', '.join(r.name for r in roles)}.", status=2)
    overrides = {name: getattr(args, name) for name in ROLE_PARAMS if getattr(args, name) is not None}
    values = dict(args.var)
    known = {v.key for v in role.variables}
    for name in values:
        if variable_key(name) not in known:
            have = ", ".join(v.name for v in role.variables) or "none"
            raise CliError(
                f"The role '{role.name}' has no variable {name!r} (its variables: {have}).", status=2
            )
    try:
        GenerationParams.from_dict({**role.default_params(), **overrides})
    except ParamError as exc:
        raise CliError(str(exc), status=2) from None

    try:
        store = Store()
    except Exception as exc:  # e.g. CHATLAB_DB in a folder that cannot be written
        raise CliError(f"Cannot open the history database: {exc}") from None
    endpoint = resolve_endpoint(args.profile, term)
    client = ChatClient(endpoint)
    session = ChatSession(
        store=store,
        client=client,
        endpoint=endpoint,
        roles=roles,
        role=role,
        model=pick_model(args.model, endpoint, client, store),
        protocol=args.api,
        depth=args.depth,
        overrides=overrides,
        values=values,
        term=term,
    )
    try:
        chat_loop(session, term, read)
    finally:
        client.close()
    return 0


def run_probe_command(args: argparse.Namespace, term: Terminal, read: Callable[[str], str] = input) -> int:
    """`python -m chatlab probe`: the cost first, then the findings as a table; they are stored."""
    try:
        store = Store()
    except Exception as exc:
        raise CliError(f"Cannot open the history database: {exc}") from None
    endpoint = resolve_endpoint(args.profile, term)
    client = ChatClient(endpoint)
    model = pick_model(args.model, endpoint, client, store)
    requests, tokens, cost = estimate(model, args.api)
    price = "no known price" if cost is None else format_usd(cost)
    term.line(f"Probing {model} at {describe_endpoint(endpoint)} ({PROTOCOLS[args.api]}).")
    term.line(f"About {requests} tiny requests, ~{tokens:,} tokens in all ({price}).")
    if (
        not args.yes
        and sys.stdin.isatty()
        and (_read_line("Go ahead? [Y/n] ", read) or "y").strip().lower().startswith("n")
    ):
        term.line("Nothing was sent.")
        return 0
    try:
        report = run_probe(
            client,
            model,
            protocol=args.api,
            on_step=lambda i, n, what: term.line(term.dim(f"  {i}/{n} {what}")),
        )
    finally:
        client.close()
    if report.failure:
        term.line(term.red(report.failure))
        return 1
    store.save_probe(endpoint_key(endpoint), model, args.api, report.probed_at, report.to_record())
    width = max(len(name) for name in report.findings)
    for name, finding in report.findings.items():
        status = finding.status + (f" → {finding.renamed_to}" if finding.renamed_to else "")
        term.line(f"  {name.ljust(width)}  {status.ljust(10)}  {term.dim(finding.detail)}")
    spent = "no known price" if report.cost_usd is None else format_usd(report.cost_usd)
    term.line(
        f"{report.requests} requests, {report.prompt_tokens + report.completion_tokens:,} tokens ({spent}). Stored: the app and the chat now follow these findings."
    )
    return 0


def chat_loop(session: ChatSession, term: Terminal, read: Callable[[str], str] = input) -> None:
    """Read lines until /exit, Ctrl-D or Ctrl-C at the prompt; commands run, anything else is sent."""
    session.header()
    while True:
        line = _read_line(PROMPT, read)
        if line is None:
            term.line()
            break
        line = line.strip()
        if not line:
            continue
        if line.startswith("/") and not line.startswith("//"):
            if not session.command(line):
                break
            continue
        session.send(line[1:] if line.startswith("//") else line)
    term.line("Bye.")


def main(argv: list[str] | None = None) -> int:
    """`python -m chatlab ...`; returns the exit status."""
    args = build_parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a reply in any script must not crash a non-UTF-8 terminal
    term = Terminal(sys.stdout, _wants_color(sys.stdout, os.environ))
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
    try:
        if args.command == "chat":
            return run_chat(args, term)
        if args.command == "probe":
            return run_probe_command(args, term)
    except CliError as exc:
        term.line(term.red(str(exc)))
        return exc.status
    except KeyboardInterrupt:
        term.line("\nBye.")
        return 130
    return 2
