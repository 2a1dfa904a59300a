"""Shared building blocks: domain errors, Vietnamese text handling, logging filters."""
