"""Every var a user could want to change is documented in the README with its default."""

from __future__ import annotations

import re

import yaml

from dbt_harness import PROJECT_DIR


def test_every_var_is_in_the_readme_table():
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    readme = (PROJECT_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", readme, flags=re.MULTILINE))
    missing = sorted(set(project["vars"]) - documented)
    assert not missing, f"vars without a README row: {missing}"
