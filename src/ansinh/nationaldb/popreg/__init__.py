"""The population-registry stand-in (``ansinh popreg``): protocol and server, Django-free."""
