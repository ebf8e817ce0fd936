"""Map the top-level templates/ and migrations/ into the package as tracker.templates and
tracker.migrations, so that the wheel carries them (everything else is in pyproject.toml).

The packages are found here rather than listed in pyproject.toml, so that a new package or
template folder ships without editing either file.
"""

from setuptools import find_namespace_packages, setup

MAPPED = {"tracker.templates": "templates", "tracker.migrations": "migrations"}
SKIP = ["*__pycache__"]


def packages() -> list[str]:
    """List tracker's packages, and each mapped folder with its subfolders under its new name."""
    found = find_namespace_packages(include=["tracker", "tracker.*"], exclude=SKIP)
    for name, folder in MAPPED.items():
        subfolders = find_namespace_packages(include=[folder, f"{folder}.*"], exclude=SKIP)
        found += [name + sub.removeprefix(folder) for sub in subfolders]
    return found


setup(packages=packages(), package_dir=MAPPED)
