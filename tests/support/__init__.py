"""Helpers shared by the integration tests: real services on 127.0.0.1, started and stopped by the tests."""
