"""Tests change a few settings of the installed Settings for one test (the app fixture installs fresh ones)."""
from dataclasses import replace

from app.settings import Settings, configure, get_settings


def with_overrides(**changes) -> Settings:
    """Install a copy of the current settings with some fields changed."""
    return configure(replace(get_settings(), **changes))
