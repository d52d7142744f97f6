"""MkDocs hooks of the documentation site (named in mkdocs.yml under ``hooks:``).

- Before anything is built, check that ``docs/generate.py`` has written ``docs/generated/``: without it every
  page that includes a generated fragment would fail one by one, so say once what to run.
- The package's docstrings cross-reference in Sphinx style (``:func:`open_sweep```); mkdocstrings renders the name
  as code and leaves the role in front of it. Drop the role, keep the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):(<code>)~?")


def on_config(config):
    generated = Path(config["config_file_path"]).parent / "docs" / "generated"
    if not (generated / "numbers.json").is_file():
        raise PluginError(f"{generated} is missing or incomplete: run `.venv/bin/python docs/generate.py` "
                          "(or `make docs`) before mkdocs build")
    return config


def on_page_content(html, **kwargs):
    return _ROLE.sub(r"\1", html)
