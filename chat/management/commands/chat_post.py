"""manage.py chat_post ROOM --user NAME [TEXT | -]: post a message from a script."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from chat import api, protocol

# sysexits.h's EX_TEMPFAIL: over the rate, or Redis or the database away; try again later.
EXIT_TRY_LATER = 75


class Command(BaseCommand):
    help = (
        "Post a message in ROOM as user NAME, as if typed on the room's page (same checks, "
        "seq, rate limit and live delivery). TEXT '-' or absent: read it from standard input."
    )
    stealth_options = ("stdin",)

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # `chat_post ROOM --user NAME TEXT`: plain parse_args would take ROOM and an absent
        # TEXT together before --user, then refuse the TEXT that follows it.
        parser.parse_args = parser.parse_intermixed_args
        return parser

    def add_arguments(self, parser):
        parser.add_argument("room", help="the room's name")
        parser.add_argument("text", nargs="?", default="-", help="the message; '-' for stdin")
        parser.add_argument("--user", required=True, help="the user name to post as")
        parser.add_argument(
            "--client-id",
            help="an idempotency key (A-Z a-z 0-9 _ -, 1..64): posting again with it stores "
            "nothing new and reports the first message",
        )
        parser.add_argument("--json", action="store_true", help="print the message object")

    def handle(self, *args, **options):
        text = options["text"]
        if text == "-":
            text = self._read_stdin(options.get("stdin") or sys.stdin)
        try:
            posted = api.post_message(options["room"], options["user"], text, options["client_id"])
        except api.ApiError as exc:
            again = exc.code in ("rate_limited", "unavailable")
            wait = f" (retry after {exc.retry_after:g} s)" if exc.retry_after else ""
            raise CommandError(
                f"{exc.code}: {exc.detail}{wait}", returncode=EXIT_TRY_LATER if again else 1
            ) from None
        message = posted.message
        if options["json"]:
            self.stdout.write(protocol.encode(message))
        elif posted.created:
            self.stdout.write(f"posted seq {message['seq']} in {message['room']}")
        else:
            self.stdout.write(
                f"already posted: seq {message['seq']} in {message['room']} has client_id "
                f"{json.dumps(message['client_id'])}; nothing new stored"
            )

    def _read_stdin(self, stream):
        if stream.isatty():
            raise CommandError("Give the message as TEXT, or pipe it on standard input.")
        try:
            # Bounded: more than a frame's worth cannot be a valid message anyway.
            text = stream.read(protocol.MAX_FRAME_BYTES + 1)
        except UnicodeDecodeError:
            raise CommandError("bad_field: standard input is not UTF-8 text.") from None
        if len(text) > protocol.MAX_FRAME_BYTES:
            raise CommandError(f"too_long: the message is over {protocol.MAX_TEXT} characters.")
        return text
