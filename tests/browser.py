"""What the browser test modules need before they import Playwright: the app's extras and a
Chromium (Debian's package; ``.ci/run`` installs it), else the module is skipped with the reason.
"""

from __future__ import annotations

import importlib.util

import pytest

from classroom.serve import find_chromium


def skip_without_a_browser() -> None:
    """Skip the calling test module (at import) when the app's extras or Chromium are missing."""
    missing = [m for m in ("playwright", "solara", "ipyvuetify")
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"browser tests need {', '.join(missing)} (pip install -e '.[ui,browser]')",
                    allow_module_level=True)
    if find_chromium() is None:
        pytest.skip("browser tests need Chromium: apt-get install chromium (or set "
                    "DIPLOSIM_CHROMIUM); .ci/run installs it", allow_module_level=True)
