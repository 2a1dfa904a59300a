from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401 - fixtures
