"""The operations dashboard: reads the topics live and shows the pipeline (docs/dashboard.md)."""
