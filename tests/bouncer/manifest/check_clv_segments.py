"""dbt-bouncer checks of this project's own conventions (STYLE.md), where the built-in ones assume
another layout: loaded through `custom_checks_dir` in dbt-bouncer.yml."""

from pathlib import PurePosixPath

from dbt_bouncer.check_framework.decorator import check, fail


def _path(value) -> PurePosixPath:
    # patch_path reads "clv_segments://models/.../_x__models.yml"
    return PurePosixPath(str(value).split("://", 1)[-1])


@check
def check_model_properties_file_named_after_folder(model):
    """A model is described in `_<folder>__models.yml` of its own folder (STYLE.md "YAML and docs").

    Receives:
        model (ModelNode): The ModelNode object to check.
    """
    if not model.patch_path:
        fail(f"`{model.name}` is in no properties file.")
    folder = _path(model.original_file_path).parent
    expected = folder / f"_{folder.name}__models.yml"
    if _path(model.patch_path) != expected:
        fail(f"`{model.name}` is described in `{_path(model.patch_path)}`, not in `{expected}`.")


@check
def check_source_properties_file_named_after_folder(source):
    """A source is declared in `_<folder>__sources.yml` (STYLE.md: `_<source>__sources.yml`).

    Receives:
        source (SourceNode): The SourceNode object to check.
    """
    path = _path(source.original_file_path)
    if path.name != f"_{path.parent.name}__sources.yml":
        fail(
            f"`{source.source_name}.{source.name}` is declared in `{path}`, "
            f"not in `_{path.parent.name}__sources.yml`."
        )


@check
def check_model_unique_columns_are_not_null(model, ctx):
    """A column tested `unique` is also tested `not_null` or carries a not_null constraint: a
    primary key is both (STYLE.md "Tests"). A `unique` test restricted by a `where` config is a
    rule about some rows (a base model's key outside key conflicts), not a primary key: skipped.

    Receives:
        model (ModelNode): The ModelNode object to check.
    """
    tests = ctx.tests_by_attached_node.get(model.unique_id, [])

    def tested(name: str) -> set[str]:
        return {
            str(getattr(test, "column_name", None))
            for test in tests
            if getattr(getattr(test, "test_metadata", None), "name", None) == name
            and not getattr(test.config, "where", None)
        }

    constrained = {
        column_name
        for column_name, column in (model.columns or {}).items()
        if any(
            str(getattr(c.type, "value", c.type)) == "not_null" for c in column.constraints or []
        )
    }
    missing = sorted(tested("unique") - tested("not_null") - constrained)
    if missing:
        fail(f"`{model.name}`: unique but neither tested not_null nor constrained: {missing}.")
