"""Quality: blocking checks before a commit, warning checks after it, and materialization metadata."""
