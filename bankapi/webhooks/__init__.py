"""Webhook delivery: the signed POST (`sender.py`) and the dispatcher that runs it (`dispatcher.py`)."""
