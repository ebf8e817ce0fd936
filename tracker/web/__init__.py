"""The web layer: one package per audience (blueprints with their views and forms) and
the request infrastructure they share (errors, security headers, templating, input parsing)."""
