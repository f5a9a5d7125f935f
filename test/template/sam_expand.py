#!/usr/bin/env python3
"""template.yaml as SAM CLI expands AWS::LanguageExtensions (its own expand_language_extensions,
as `sam build` and `sam local invoke` run it with samconfig.toml's language_extensions = true),
and as scripts/generate-template.py expands it. Prints {"sam": <template>, "generator": <template>}.

Usage: python3 sam_expand.py <template>
"""

import importlib.util
import json
import sys
from pathlib import Path

from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samcli.yamlhelper import yaml_parse


def main(template_path: str) -> int:
    text = Path(template_path).read_text(encoding="utf-8")
    sam = expand_language_extensions(yaml_parse(text), {}, enabled=True).expanded_template
    spec = importlib.util.spec_from_file_location("generate_template", Path(__file__).parents[2] / "scripts" / "generate-template.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    ours = generator.expand_language_extensions(generator.load_template(Path(template_path)))
    json.dump({"sam": sam, "generator": ours}, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
