"""Drive nanobot's own MoChat channel, unmodified, against a MoChat API.

The channel is `MochatChannel` from the pinned PyPI package `nanobot-ai`
(`nanobot/channels/mochat/runtime.py`), imported, never copied. No LLM and no
agent loop: this script plays the agent's part by calling the channel the way
nanobot does (`send`, its session and panel discovery, its watch worker
feeding the message bus) and, for the two calls the channel has no helper for
(creating a session, listing its messages), its own transport `_post_json`.
python-socketio must not be installed, so the channel uses HTTP long polling.

It prints one JSON line per step, `{"step", "ok", ...}` (with `error` when
it failed), and exits 1 if any step failed, 2 if it could not start.

    python drive_nanobot.py --base-url http://127.0.0.1:11000 --token CLAW_TOKEN \
        --agent-user-id ID --other-token OTHER_CLAW_TOKEN --participant OTHER_ID \
        --panel PANEL_ID --live-prefix PREFIX --token-header NAME [--state-dir DIR]

`--base-url` is the origin (the channel appends its calls' paths); the
test passes the wire's names from the api crate: `--live-prefix`, where the
live calls are (e.g. `sessions/send` follows it), and `--token-header`. The token
is the agent's, `--agent-user-id` its user id; the other agent (its token and
user id as `--participant`) joins the session and wakes the watch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import httpx
from loguru import logger

try:
    from nanobot.bus.events import OutboundMessage
    from nanobot.bus.queue import MessageBus
    from nanobot.channels.mochat import runtime
    from nanobot.config.loader import set_config_path
except ImportError as e:
    sys.exit(f"nanobot-ai is not installed in this Python ({sys.executable}): {e}. "
             "Run `cargo xtask setup`, which creates .tools-state/pyclients.")

#: Short enough for an idle long poll to return a few times in a test.
WATCH_TIMEOUT_MS = 1500
#: The one warning the channel logs by design here.
FALLBACK_WARNING = "python-socketio not installed"


class Failed(Exception):
    """A step's check did not hold."""


def call_path(args: argparse.Namespace, call: str) -> str:
    """The path of a live call (e.g. `sessions/send`) from the origin's root."""
    return args.live_prefix + call


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failed(what)


class Warnings:
    """Warnings and errors the channel logs (through loguru), per step."""

    def __init__(self) -> None:
        self.records: list[str] = []
        logger.add(self._sink, level="WARNING", format="{message}")

    def _sink(self, message) -> None:
        self.records.append(str(message).strip())

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [r for r in taken if FALLBACK_WARNING not in r]


class Driver:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.failed = 0
        self.warnings = Warnings()
        self.config = {
            "enabled": True, "baseUrl": args.base_url, "clawToken": args.token,
            "agentUserId": args.agent_user_id,
            "allowFrom": ["*"],         # otherwise every sender is dropped
            "replyDelayMode": "off",    # otherwise panel messages wait 120 s
            "watchTimeoutMs": WATCH_TIMEOUT_MS, "retryDelayMs": 200, "refreshIntervalMs": 1000,
        }
        self.session_id = ""
        self.group_id = ""
        stamp = time.strftime("%H:%M:%S")
        self.session_text = f"nanobot public-client test: hello session ({stamp})"
        self.panel_text = f"nanobot public-client test: hello panel ({stamp})"
        self.wake_text = f"another agent wakes the watch ({stamp})"

    async def step(self, name: str, action) -> None:
        """Runs one step and prints its line; a step fails on a raised error
        or on any warning the channel logged meanwhile."""
        started = time.monotonic()
        self.warnings.take()
        try:
            detail = await action() or {}
            logged = self.warnings.take()
            check(not logged, f"the channel logged: {logged}")
            line = {"step": name, "ok": True, **detail}
        except Exception as e:  # every failure is reported, then the next step runs
            self.failed += 1
            error = str(e) if isinstance(e, Failed) else f"{type(e).__name__}: {e}"
            line = {"step": name, "ok": False, "error": error}
            if not isinstance(e, Failed):
                traceback.print_exc(file=sys.stderr)
        line["ms"] = round((time.monotonic() - started) * 1000)
        print(json.dumps(line), flush=True)

    def needs_session(self) -> str:
        check(bool(self.session_id), "not run: the session was not created")
        return self.session_id

    # ---- the steps, on a channel used the way nanobot's own code uses it ----

    async def run(self) -> int:
        bus = MessageBus()
        channel = runtime.MochatChannel(self.config, bus)
        check(not runtime.SOCKETIO_AVAILABLE,
              "python-socketio is installed: the channel would use a websocket")
        channel._http = httpx.AsyncClient(timeout=30.0)  # what start() sets up
        channel._running = True
        try:
            await self.step("list sessions", lambda: self.list_sessions(channel))
            await self.step("create session", lambda: self.create_session(channel))
            await self.step("send", lambda: self.send(channel))
            await self.step("list messages", lambda: self.messages(channel))
            await self.step("unknown session is an error", lambda: self.unknown(channel))
            await self.watch_steps(channel)
            await self.step("read group", lambda: self.read_group(channel))
            await self.step("panel send and read back", lambda: self.panel(channel))
        finally:
            await channel._http.aclose()
        return 1 if self.failed else 0

    async def list_sessions(self, ch) -> dict:
        await ch._refresh_sessions_directory(subscribe_new=False)
        return {"sessions": len(ch._session_set)}

    async def create_session(self, ch) -> dict:
        other = self.args.participant
        created = await ch._post_json(call_path(self.args, "sessions/create"), {
            "participants": [{"type": "agent", "id": other}],
            "metadata": {"title": "nanobot public-client test"},
        })
        sid = created.get("sessionId") or ""
        check(sid.startswith("session_"), f"no session id starting with session_: {created}")
        check(other in (created.get("participants") or []),
              f"{other} is not among the participants: {created.get('participants')}")
        self.session_id = sid
        await ch._refresh_sessions_directory(subscribe_new=False)
        check(sid in ch._session_set, "the new session is not in the channel's session list")
        check(ch._session_by_converse.get(created.get("converseId") or "") == sid,
              "the channel did not map the session's converseId to it")
        return {"sessionId": sid, "participants": created.get("participants")}

    async def send(self, ch) -> dict:
        sid = self.needs_session()
        await ch.send(OutboundMessage(channel="mochat", chat_id=sid, content=self.session_text))
        return {"sessionId": sid}

    async def messages(self, ch) -> dict:
        sid = self.needs_session()
        page = await ch._post_json(call_path(self.args, "sessions/messages"), {"sessionId": sid, "limit": 10})
        messages = page.get("messages") or []
        mine = [m for m in messages if m.get("content") == self.session_text]
        check(len(mine) == 1, f"the sent message is not on the page: {messages}")
        check(mine[0].get("author") == self.args.agent_user_id,
              f"the sent message's author is {mine[0].get('author')}, not the agent")
        return {"messages": len(messages), "messageId": mine[0].get("messageId")}

    async def unknown(self, ch) -> dict:
        try:
            await ch._post_json(call_path(self.args, "sessions/get"), {"sessionId": "session_nosuchsession0000000"})
        except RuntimeError as e:
            check("404" in str(e), f"the error does not say 404: {e}")
            return {"error": str(e)[:120]}
        raise Failed("an unknown session was answered without an error")

    async def read_group(self, ch) -> dict:
        await ch._refresh_panels(subscribe_new=False)
        group = await ch._post_json(call_path(self.args, "groups/get"), {})
        panels = group.get("panels") or []
        ids = [p.get("id") or p.get("_id") for p in panels]
        check(bool(group.get("_id")), f"the group has no _id: {group}")
        check(self.args.panel in ids, f"panel {self.args.panel} is not listed: {ids}")
        check(self.args.panel in ch._panel_set, "the channel did not discover the panel")
        self.group_id = group["_id"]
        return {"groupId": group["_id"], "panels": [p.get("name") for p in panels]}

    async def panel(self, ch) -> dict:
        pid = self.args.panel
        check(bool(self.group_id), "not run: the group was not read")
        await ch.send(OutboundMessage(channel="mochat", chat_id=f"panel:{pid}",
                                      content=self.panel_text, metadata={"group_id": self.group_id}))
        page = await ch._post_json(call_path(self.args, "groups/panels/messages"), {"panelId": pid, "limit": 10})
        mine = [m for m in page.get("messages") or [] if m.get("content") == self.panel_text]
        check(len(mine) == 1, f"the panel message is not on the page: {page}")
        check(mine[0].get("author") == self.args.agent_user_id, "the panel message's author is not the agent")
        check(page.get("groupId") == self.group_id, f"the page's groupId is {page.get('groupId')}")
        return {"panelId": pid, "messageId": mine[0].get("messageId")}

    # ---- watching: the channel's own start(), watch worker and bus ----

    async def watch_steps(self, oneshot) -> None:
        watcher = Watcher(self.config, self.args)
        await self.step("watch: start", lambda: watcher.start(oneshot, self.needs_session()))
        await self.step("watch: idle", watcher.idle)
        await self.step("watch: woken by another agent", lambda: watcher.woken(self.wake_text))
        await self.step("watch: stop", watcher.stop)


class Watcher:
    """A second channel, started with `start()` like nanobot's gateway does,
    on the one session; an httpx event hook on its own client records when
    each of its watch requests left and came back (nanobot's code unchanged)."""

    def __init__(self, config: dict, args: argparse.Namespace) -> None:
        self.config, self.args = config, args
        self.bus = MessageBus()
        self.sid = ""
        self.channel = None
        self.task: asyncio.Task | None = None
        self.watches: list[dict] = []  # {request, sent, back, status, cursor, events}
        self.cursor0 = -1

    async def start(self, oneshot, sid: str) -> dict:
        self.sid = sid
        self.channel = runtime.MochatChannel({**self.config, "sessions": [sid], "panels": []}, self.bus)
        # A session without a saved cursor is "cold": the channel drops the
        # events of its first watch. Save the current cursor, as a restarted
        # nanobot would have it.
        head = await oneshot._post_json(call_path(self.args, "sessions/watch"), {
            "sessionId": self.sid, "cursor": 0, "timeoutMs": 0, "limit": 1000})
        self.cursor0 = head.get("cursor")
        check(isinstance(self.cursor0, int) and self.cursor0 > 0, f"no cursor: {head}")
        self.channel._cursor_path.write_text(json.dumps(
            {"schemaVersion": 1, "cursors": {self.sid: self.cursor0}}) + "\n", "utf-8")
        self.task = asyncio.create_task(self.channel.start())
        # Poll without sleeping, so the hooks are in place before the worker's first watch.
        await until(lambda: self.channel._http is not None or self.task.done(), 5,
                    "start() made no HTTP client", poll=0)
        check(not self.task.done(), "start() returned at once (is the token empty?)")
        hooks = self.channel._http.event_hooks
        hooks["request"].append(self._sent)
        hooks["response"].append(self._back)
        self.channel._http.event_hooks = hooks
        await until(lambda: self.sid in self.channel._session_fallback_tasks, 5,
                    "start() did not run a watch worker for the session")
        return {"cursor": self.cursor0, "cursorFile": str(self.channel._cursor_path)}

    async def _sent(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/sessions/watch"):
            self.watches.append({"sent": time.monotonic(), "request": request})

    async def _back(self, response: httpx.Response) -> None:
        for w in self.watches:
            if w["request"] is response.request:
                await response.aread()
                data = response.json().get("data") or {}
                w.update(back=time.monotonic(), status=response.status_code,
                         cursor=data.get("cursor"), events=len(data.get("events") or []))

    def returned(self) -> list[dict]:
        return [w for w in self.watches if "back" in w]

    async def idle(self) -> dict:
        check(self.task is not None, "not run: the channel did not start")
        await until(lambda: len(self.returned()) >= 2, 4 * WATCH_TIMEOUT_MS / 1000 + 5,
                    f"fewer than 2 idle watches came back within {4 * WATCH_TIMEOUT_MS} ms")
        done = self.returned()
        held = [round((w["back"] - w["sent"]) * 1000) for w in done]
        check(all(w["status"] == 200 and w["events"] == 0 for w in done),
              f"an idle watch returned events or an error: {done}")
        check(all(w["cursor"] == self.cursor0 for w in done),
              f"an idle watch moved the cursor from {self.cursor0}: {[w['cursor'] for w in done]}")
        check(all(h >= WATCH_TIMEOUT_MS * 0.8 for h in held),
              f"an idle watch came back before its {WATCH_TIMEOUT_MS} ms: {held}")
        check(self.channel._session_cursor.get(self.sid) == self.cursor0,
              f"the channel's cursor moved: {self.channel._session_cursor}")
        check(self.bus.inbound_size == 0, "the bus got a message while idle")
        return {"watches": len(done), "heldMs": held, "cursor": self.cursor0}

    async def woken(self, text: str) -> dict:
        check(self.task is not None, "not run: the channel did not start")
        # Post while a watch is in flight: wait for one to leave, then a moment.
        count = len(self.watches)
        await until(lambda: len(self.watches) > count, 2 * WATCH_TIMEOUT_MS / 1000 + 5,
                    "the watch worker sent no new watch")
        await asyncio.sleep(0.3)
        posted = time.monotonic()
        async with httpx.AsyncClient(timeout=30.0) as other:
            r = await other.post(
                self.args.base_url.rstrip("/") + call_path(self.args, "sessions/send"),
                headers={self.args.token_header: self.args.other_token},
                json={"sessionId": self.sid, "content": text})
        check(r.status_code == 200 and r.json().get("code") == 200,
              f"the other agent's send failed: {r.status_code} {r.text[:200]}")
        try:
            msg = await asyncio.wait_for(self.bus.consume_inbound(), 10)
        except asyncio.TimeoutError:
            raise Failed("nothing reached the channel's bus within 10 s of the other agent's send")
        latency = round((time.monotonic() - posted) * 1000)
        check(msg.chat_id == self.sid and msg.content == text,
              f"the bus got {msg.chat_id!r} {msg.content!r}")
        check(msg.sender_id == self.args.participant, f"the sender is {msg.sender_id}")
        check(msg.metadata.get("target_kind") == "session", f"metadata: {msg.metadata}")
        carrier = [w for w in self.returned() if w["events"] > 0]
        check(len(carrier) == 1, f"expected one watch carrying the message: {self.returned()}")
        check(carrier[0]["sent"] < posted,
              "the message came with a watch sent after the post, not by waking one in flight")
        cursor = self.channel._session_cursor.get(self.sid, 0)
        check(cursor > self.cursor0, f"the channel's cursor did not advance: {cursor}")
        return {"latencyMs": latency, "heldMs": round((carrier[0]["back"] - carrier[0]["sent"]) * 1000),
                "cursor": cursor, "messageId": msg.metadata.get("message_id")}

    async def stop(self) -> dict:
        check(self.task is not None, "not run: the channel did not start")
        await self.channel.stop()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        saved = json.loads(self.channel._cursor_path.read_text("utf-8")).get("cursors", {})
        check(saved.get(self.sid) == self.channel._session_cursor.get(self.sid),
              f"the saved cursor file holds {saved}")
        return {"savedCursor": saved.get(self.sid)}


async def until(cond, seconds: float, failure: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise Failed(failure)
        await asyncio.sleep(poll)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", required=True, help="the API's origin, e.g. http://127.0.0.1:11000")
    p.add_argument("--token", required=True, help="the agent's claw token")
    p.add_argument("--agent-user-id", required=True, help="the agent's user id")
    p.add_argument("--other-token", required=True, help="another agent's claw token (wakes the watch)")
    p.add_argument("--participant", required=True, help="that other agent's user id")
    p.add_argument("--panel", required=True, help="a panel of the agent's workspace group")
    p.add_argument("--live-prefix", required=True,
                   help="where the live calls are, from the origin's root (the api crate's LIVE_PREFIX)")
    p.add_argument("--token-header", required=True,
                   help="the header the claw token goes in (the api crate's CLAW_TOKEN_HEADER)")
    p.add_argument("--state-dir", help="where the channel keeps its state (default: a temporary folder)")
    args = p.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="INFO")
    with tempfile.TemporaryDirectory(prefix="nanobot-state-") as tmp:
        state = Path(args.state_dir or tmp)
        state.mkdir(parents=True, exist_ok=True)
        # Before any channel exists: its state goes to <state>/mochat/.
        set_config_path(state / "config.json")
        try:
            return asyncio.run(Driver(args).run())
        except Failed as e:
            print(f"drive_nanobot: {e}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
