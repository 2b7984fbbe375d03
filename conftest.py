"""Root conftest: makes the `pytester` fixture available to the harness's own tests."""

pytest_plugins = ["pytester"]
