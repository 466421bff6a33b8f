"""Atomic output: a file appears complete or not at all; only rank 0 writes.

The writer lives in :mod:`fem_assb.atomic` (a lower shared module, so that structure.io does
not import the output layer); this module re-exports it.
"""

from fem_assb.atomic import (  # noqa: F401
    atomic_path,
    check_file_target,
    check_folder_target,
    write_json,
    write_text,
)
