"""The benchmark is run on its own (``python tests/perf/bench.py``), never collected by pytest."""

collect_ignore = [
    "bench.py",
    "app_probe.py",
    "datatable_probe.py",
    "bare_probe.py",
    "floor_list.py",
]
