"""Webhook delivery: the signed POST (`sender.py`) and the dispatcher that sends it."""
