"""Building: render every issue, stage the output and swap it in, and cache renderings.

Only the CLI imports this package: the preview, sending and publishing stand on `render`,
`archive` and `mail` instead.
"""
