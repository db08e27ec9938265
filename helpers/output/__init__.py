"""Report formats: the controls.json document, the HTML page and JUnit XML."""
