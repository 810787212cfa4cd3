"""Where the application's resources (the icon) are."""

from pathlib import Path


def icon_path() -> Path:
    return Path(__file__).resolve().parents[2] / "resources" / "srviewer.svg"
