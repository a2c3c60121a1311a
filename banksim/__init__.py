"""The `banksim` command line: the one place the product is assembled from its parts."""
