"""Access control: organisations, users and roles, administrative scope, the audit log."""
