"""`python -m banksim` is the `banksim` command (how runs start their subprocesses)."""
from .cli import main

main()
