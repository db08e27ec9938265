"""Verdicts: the control catalog, the evidence a check records, a control's verdict from its
checks, and waivers."""
