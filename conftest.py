"""vmiso: the plugins that make up the suite (options, report, fixtures)."""

pytest_plugins = [
    "helpers.plugin.options",
    "helpers.plugin.inputs",
    "helpers.plugin.manyhosts",
    "helpers.plugin.report",
    "helpers.plugin.progress",
    "fixtures.run",
    "fixtures.lab",
    "fixtures.images",
    "fixtures.guests",
    "fixtures.canaries",
    "fixtures.clipboard",
    "fixtures.policy",
]
