"""One module per ComponentResource."""
