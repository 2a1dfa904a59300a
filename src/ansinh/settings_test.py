"""Settings for the test suite: the normal settings with an isolated data directory, tasks run
immediately and cheap password hashing. Chosen by pytest through pyproject.toml."""

import os
import tempfile

os.environ["ANSINH_TESTING"] = "1"
os.environ.setdefault("ANSINH_DATA_DIR", tempfile.mkdtemp(prefix="ansinh-test-"))

from ansinh.settings import *  # noqa: F403
