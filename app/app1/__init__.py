"""app1: the HTTP service kindling builds, ships and verifies."""
