"""ansinh: an open national social security platform (an sinh xã hội)."""

__version__ = "0.1.0"
