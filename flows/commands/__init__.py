"""Sub-commands of the ``fairledger`` CLI, one module each."""
