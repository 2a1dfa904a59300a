"""Shared fixtures live in tests/conftest.py; settings come from ansinh.settings_test."""
