"""vmiso: the plugins that make up the suite (options, report, fixtures)."""

pytest_plugins = [
    "helpers.plugin.options",
    "helpers.plugin.inputs",
    "helpers.plugin.report",
    "helpers.plugin.progress",
    "helpers.plugin.controller",
    "fixtures.run",
    "fixtures.lab",
    "fixtures.images",
    "fixtures.guests",
    "fixtures.canaries",
    "fixtures.clipboard",
    "fixtures.policy",
]
