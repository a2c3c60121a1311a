"""`python -m bankapi` is the `banksim` command (used to start subprocesses portably)."""
from .cli import main

main()
