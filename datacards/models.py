"""Dataset versions, data cards and exports arrive with the datacards issue."""
