"""The reference webhook receiver (`banksim webhooks listen`) and its view against the ledger."""
