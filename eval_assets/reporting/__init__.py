"""Pure report rendering: Markdown and self-contained HTML from a ReportData value."""
