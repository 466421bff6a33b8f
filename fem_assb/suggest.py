"""Did-you-mean suggestions for error messages (no dependencies: any layer may use it)."""

from __future__ import annotations

import difflib


def did_you_mean(name, known) -> str:
    """' (did you mean 'X'?)' for the closest known name, or ''."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
