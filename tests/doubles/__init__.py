"""Doubles at process and HTTP boundaries (fake CLIs, a Kubernetes API double) and a runner for Ansible."""
