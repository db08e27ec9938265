"""Report formats: the controls.json document, the HTML page, JUnit XML and the table printed at
the end of a run (terminal.py)."""
