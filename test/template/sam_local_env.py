#!/usr/bin/env python3
"""The environment `sam local invoke <Function> --env-vars <file>` gives each function, computed
by SAM CLI's own code (its stack and function providers, and LocalLambdaRunner's env-vars merge),
without Docker: what each function would find in process.env in SAM's container.

Usage: python3 sam_local_env.py <template> <env-vars.json | -> [Name=Value ...]
(Name=Value: --parameter-overrides). Prints {"<FunctionLogicalId>": {"VAR": "value", ...}, ...}.
"""

import json
import os
import sys

from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def main(argv: list[str]) -> int:
    template, env_file, *overrides = argv
    parameters = dict(item.split("=", 1) for item in overrides)
    # samconfig.toml's language_extensions = true, which `sam local invoke` reads: Fn::ForEach expanded.
    stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=parameters, language_extensions_enabled=True)
    provider = SamFunctionProvider(stacks)
    env_values = {}
    if env_file != "-":
        with open(env_file, encoding="utf-8") as stream:
            env_values = json.load(stream)
    base = os.path.dirname(os.path.abspath(template))
    runner = LocalLambdaRunner(
        local_runtime=None, function_provider=provider, cwd=base, real_path=base, env_vars_values=env_values
    )
    result = {function.name: runner._make_env_vars(function).resolve() for function in provider.get_all()}
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
