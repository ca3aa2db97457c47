"""The live preview: a local server, the workspace it renders into, and its page (`ui/`)."""
