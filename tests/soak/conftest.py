"""The soak test is run on its own (``python tests/soak/soak.py``), never collected by pytest."""

collect_ignore = ["soak.py", "soak_app.py"]
