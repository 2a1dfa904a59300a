"""Staff pages shared by all apps: layout, login with two-factor, home."""
