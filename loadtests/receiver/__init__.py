"""The reference webhook receiver (`banksim webhooks listen`) and what its view says about the ledger."""
