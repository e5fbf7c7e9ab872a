"""The SaaS subscription as the publisher sees it: pure rules, no I/O, no clock, no wire."""
