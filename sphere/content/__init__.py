"""Content: issue files and their front matter, Markdown, typography and images."""
