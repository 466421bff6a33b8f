"""Sub-commands of the CLI: one module per command (NAME, HELP, add_arguments, run)."""
