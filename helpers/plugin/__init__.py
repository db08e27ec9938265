"""The pytest plugin: options and markers, checked inputs, the many-hosts run, the terminal's
progress lines and the report plugin that turns check results into control verdicts."""
