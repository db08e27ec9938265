"""vmiso: the plugins that make up the suite (options, report, fixtures)."""

pytest_plugins = [
    "helpers.plugin",
    "helpers.hosts",
    "helpers.report",
    "helpers.progress",
    "fixtures.lab",
    "fixtures.images",
    "fixtures.guests",
    "fixtures.canaries",
    "fixtures.clipboard",
    "fixtures.policy",
]
