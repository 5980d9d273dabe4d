"""Model runs, item scores and label issues arrive with the active-learning issue."""
