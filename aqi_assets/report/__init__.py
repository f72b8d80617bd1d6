"""The air-quality report: one self-contained HTML page of every city's air, and its UI summary.

`data` reads the gold tables through pyiceberg, `charts` draws inline SVG, `page` assembles the
HTML, `summary` writes the Markdown the asset's materialization carries, `asset` defines
`air_quality_report`.
"""
