"""One log line format for every logger of a process: `ts=... level=... logger=... k=v ...`.

The chat's own messages are already key=value (`event=ws_open room=...`) and are kept as
they are; any other logger's message (Django's, daphne's, a library's) becomes one quoted
`msg="..."` field, and a traceback one quoted `exc="..."` field, so that every line a
process prints is a single logfmt line a collector can parse.
"""

import logging

__all__ = ["LogfmtFormatter", "quote"]


def quote(text):
    """text as a logfmt value: double-quoted, with backslashes, quotes and newlines escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t") + '"'


class LogfmtFormatter(logging.Formatter):
    """`fmt` for the ts/level/logger prefix; the message as key=value pairs after it."""

    def format(self, record):
        record.message = record.getMessage()
        if not record.message.startswith("event="):
            record.message = "msg=" + quote(record.message)
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += " exc=" + quote(record.exc_text)
        if record.stack_info:
            line += " stack=" + quote(self.formatStack(record.stack_info))
        return line
