"""What the window remembers between runs (QSettings): geometry, layout, folder, choices.

The organisation name comes from $SRVIEWER_SETTINGS_ORG (tests set their own) so a test run
never touches a user's settings.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def open_settings() -> QSettings:
    return QSettings(os.environ.get("SRVIEWER_SETTINGS_ORG", "srviewer"), "srviewer")


class WindowSettings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or open_settings()

    def get(self, key: str, default=None):
        value = self.q.value(key, default)
        return default if value is None else value

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def get_list(self, key: str) -> list[str]:
        value = self.q.value(key, [])
        if value is None:
            return []
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value]

    def recent_files(self) -> list[str]:
        return self.get_list("recent_files")

    def add_recent(self, path: str) -> None:
        items = [p for p in self.recent_files() if p != path]
        self.set("recent_files", [path, *items][:MAX_RECENT])

    def sync(self) -> None:
        self.q.sync()
