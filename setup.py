"""Maps the top-level folders onto the ``sahha_sync`` namespace (README.md, "Layers").

``pyproject.toml`` holds all metadata; this file only computes the package list, because setuptools cannot
discover sub-packages of a folder that installs under another name.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "sahha_sync.domain": "domain",
    "sahha_sync.application": "application",
    "sahha_sync.adapters": "adapters",
    "sahha_sync.infrastructure": "infrastructure",
    "sahha_sync.migrations": "migrations",
    "sahha_sync.testing": "tests/contract/suites",
}

packages = []
for package, folder in FOLDERS.items():
    packages.append(package)
    packages.extend(f"{package}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=FOLDERS)
