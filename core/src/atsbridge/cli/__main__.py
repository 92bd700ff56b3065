"""``python -m atsbridge.cli`` runs the CLI (handy where the script is not on PATH)."""

from atsbridge.cli import main

main()
