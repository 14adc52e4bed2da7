"""Arrays in, notes out: the one place that decides agreement, and the one place that writes English for notes."""
