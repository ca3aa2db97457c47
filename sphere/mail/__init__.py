"""Mail: the MIME message encoded once per issue and personalised per recipient."""
