"""Domain services: everything that changes data goes through here (web, API, CLI and jobs)."""
