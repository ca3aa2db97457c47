"""Deploying the web archive to SPHERE_SITE: its files, where they go, and the plan."""
