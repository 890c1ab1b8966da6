"""fio engine: render job files and parse fio's JSON output."""
