#!/usr/bin/env python3
"""Write the fully transformed CloudFormation template of template.yaml, offline.

Runs the AWS SAM translator (the `samtranslator` package that `sam` and older
cfn-lint releases use) the way cfn-lint did before it validated SAM directly:

* no AWS account: a boto3 session pinned to a region (default us-east-1), an empty
  managed-policy map (nothing is looked up in IAM; SAM's own policies such as the
  basic execution role and X-Ray are referenced by ARN anyway);
* no upload: every local CodeUri / ContentUri / DefinitionUri is replaced by an
  S3-like placeholder, s3://<bucket>/<the local path>, so the generated template
  still shows which directory each function and layer comes from; with
  --content-keys (for a built template, .aws-sam/build/template.yaml), by
  s3://<bucket>/<the key sam package would upload it as>: the MD5 of the
  directory's files (SAM CLI's own dir_checksum), so that two builds give the same
  template exactly when a deploy of the second would change nothing.

The result has no Transform and no AWS::Serverless::* resource left: plain
CloudFormation, as the stack would see it after `sam deploy` (modulo the S3 keys).

Usage: python3 scripts/generate-template.py [--template template.yaml]
           [--output dist/cloudformation.json] [--region us-east-1] [--content-keys]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

PLACEHOLDER_BUCKET = "sam-offline-placeholder"

# Properties holding a local path that `sam package` would upload, per SAM resource type.
LOCAL_URI_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
}
# Only these properties must exist even when the template leaves them out.
REQUIRED_URI_PROPERTIES = {("AWS::Serverless::Function", "CodeUri"), ("AWS::Serverless::LayerVersion", "ContentUri")}


def fail(message: str) -> None:
    print(f"generate-template: {message}", file=sys.stderr)
    sys.exit(1)


try:
    import boto3
    import yaml
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samcli.lib.utils.hash import dir_checksum
except ImportError as error:  # pragma: no cover - environment problem, not a bug
    fail(
        f"{error}. Install the pinned tools first: pip install aws-sam-cli==1.170.0 cfn-lint==1.58.0 "
        "(they bring samtranslator, boto3 and PyYAML), or run .ci/run."
    )


# --------------------------------------------------------------------------- YAML
class CfnYamlLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsics (!Ref, !Sub, ...)."""


# CloudFormation keeps dates such as AWSTemplateFormatVersion as strings.
CfnYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _intrinsic(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    # !Ref and !Condition have no Fn:: in their long form.
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":  # !GetAtt Resource.Attribute -> [Resource, Attribute]
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnYamlLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=CfnYamlLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict):
        fail(f"{path} is not a template (expected a mapping at the top level)")
    return template


# --------------------------------------------------------------------------- AWS::LanguageExtensions
LOOP = "Fn::ForEach::"


def _substitute(value: Any, identifier: str, item: str) -> Any:
    if isinstance(value, str):
        plain = "".join(ch for ch in item if ch.isalnum())
        return value.replace("${" + identifier + "}", item).replace("&{" + identifier + "}", plain)
    if isinstance(value, list):
        return [_substitute(v, identifier, item) for v in value]
    if isinstance(value, dict):
        if list(value) == ["Ref"] and value["Ref"] == identifier:
            return item
        return {_substitute(k, identifier, item): _substitute(v, identifier, item) for k, v in value.items()}
    return value


def _expand(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_expand(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}

    def put(key: str, inner: Any, loop: str) -> None:
        if key in out:
            fail(f"{loop}: the key {key} is declared twice")
        out[key] = inner

    for key, inner in value.items():
        if not key.startswith(LOOP):
            put(key, _expand(inner, parameters), key)
            continue
        if not (isinstance(inner, list) and len(inner) == 3 and isinstance(inner[0], str) and isinstance(inner[2], dict)):
            fail(f"{key}: expected [Identifier, Collection, {{OutputKey: OutputValue}}]")
        identifier, collection, fragment = inner
        if isinstance(collection, dict) and isinstance(collection.get("Ref"), str):
            collection = str(parameters.get(collection["Ref"], "")).split(",")
        if not isinstance(collection, list):
            fail(f"{key}: the collection must be a list or a Ref to a CommaDelimitedList parameter")
        for item in collection:
            for output_key, output in _expand(_substitute(fragment, identifier, str(item)), parameters).items():
                put(output_key, output, key)
    sub = out.get("Fn::Sub")
    if list(out) == ["Fn::Sub"] and isinstance(sub, str) and "${" not in sub:
        return sub  # nothing left to substitute (`!Sub ${Name}Function` once expanded)
    return out


def expand_language_extensions(template: dict[str, Any]) -> dict[str, Any]:
    """Expand Fn::ForEach (Resources, Conditions, Outputs) as AWS::LanguageExtensions does, first.

    The same expansion as the local runtime's (local/src/template/language-extensions.ts);
    test/template/language-extensions.test.ts checks both against SAM CLI's own.
    """
    transforms = template.get("Transform") or []
    transforms = transforms if isinstance(transforms, list) else [transforms]
    if "AWS::LanguageExtensions" not in transforms:
        return template
    parameters = {name: (spec or {}).get("Default") for name, spec in (template.get("Parameters") or {}).items()}
    out: dict[str, Any] = {}
    for section, value in template.items():
        if section == "Transform":
            rest = [t for t in transforms if t != "AWS::LanguageExtensions"]
            if rest:
                out["Transform"] = rest[0] if len(rest) == 1 else rest
        else:
            out[section] = _expand(value, parameters) if section in ("Resources", "Conditions", "Outputs") else value
    return out


# --------------------------------------------------------------------------- local paths
def _is_local_path(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("s3://", "https://", "http://"))


def _to_s3_uri(local_path: str, content_root: Path | None = None) -> str:
    key = local_path.strip().removeprefix("./").rstrip("/") or "."
    if content_root is not None:
        # sam package zips the directory and uploads it under the MD5 of its files and their paths.
        key = dir_checksum(str((content_root / key).resolve()), followlinks=True)
    return f"s3://{PLACEHOLDER_BUCKET}/{key}"


def replace_local_uris(template: dict[str, Any], content_root: Path | None = None) -> None:
    """Point every local artifact path at an S3-like placeholder, as `sam package` would."""
    to_s3_uri = lambda path: _to_s3_uri(path, content_root)  # noqa: E731
    global_function = (template.get("Globals") or {}).get("Function") or {}
    if _is_local_path(global_function.get("CodeUri")):
        global_function["CodeUri"] = to_s3_uri(global_function["CodeUri"])

    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        resource_type = resource.get("Type")
        properties = resource.setdefault("Properties", {})
        for prop in LOCAL_URI_PROPERTIES.get(resource_type, ()):
            if resource_type == "AWS::Serverless::Function" and (
                "InlineCode" in properties or properties.get("PackageType") == "Image"
            ):
                continue
            value = properties.get(prop)
            if value is None:
                if (resource_type, prop) in REQUIRED_URI_PROPERTIES and not (
                    prop == "CodeUri" and "CodeUri" in global_function
                ):
                    properties[prop] = to_s3_uri(".")
                continue
            if _is_local_path(value):
                properties[prop] = to_s3_uri(value)
            elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Fn::Sub"):
                # A parameter or Sub cannot be resolved offline: the same placeholder cfn-lint used.
                properties[prop] = _to_s3_uri(f"{logical_id}/{prop}")


# --------------------------------------------------------------------------- translate
def translate(template: dict[str, Any], region: str) -> dict[str, Any]:
    # samtranslator asks boto for the region and partition; give it a session that
    # needs no credentials, and the environment variable for code paths that read it.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    session = boto3.session.Session(region_name=region)
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    return translator.translate(sam_template=template, parameter_values={})


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--template", type=Path, default=root / "template.yaml")
    parser.add_argument("--output", type=Path, default=root / "dist" / "cloudformation.json")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--content-keys",
        action="store_true",
        help="name each artifact by the S3 key sam package gives it (the MD5 of its files), for a built template",
    )
    args = parser.parse_args(argv)

    template = expand_language_extensions(load_template(args.template))
    replace_local_uris(template, args.template.resolve().parent if args.content_keys else None)
    try:
        output = translate(template, args.region)
    except InvalidDocumentException as error:
        causes = "\n".join(f"  - {cause.message}" for cause in error.causes)
        fail(f"{args.template} is not a valid SAM template:\n{causes}")

    leftover = sorted(
        f"{logical_id} ({resource.get('Type')})"
        for logical_id, resource in output.get("Resources", {}).items()
        if str(resource.get("Type", "")).startswith("AWS::Serverless::")
    )
    if "Transform" in output or leftover:
        fail(f"the transform left SAM constructs behind: Transform={output.get('Transform')!r} {leftover}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    types: dict[str, int] = {}
    for resource in output["Resources"].values():
        types[resource["Type"]] = types.get(resource["Type"], 0) + 1
    summary = ", ".join(f"{count} {name}" for name, count in sorted(types.items()))
    try:
        shown = args.output.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = args.output
    print(f"Wrote {shown}: {len(output['Resources'])} resources ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
