"""fairledger package."""
