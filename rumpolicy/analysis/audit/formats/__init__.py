"""Renderings of audit findings: `text` for people, `json` for scripts, `sarif` for code
scanning. Each module has `render(result, ...) -> str`."""
