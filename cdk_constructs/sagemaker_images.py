"""Region-to-image tables for the SageMaker-owned container images this project uses.

The tables are *generated* by the SageMaker Python SDK (``sagemaker.core.image_uris.retrieve``) and
committed as ``sagemaker_image_uris.json``; ``tests/cdk_constructs/test_sagemaker_images.py`` regenerates
them and fails when the installed SDK disagrees. Why not call the SDK at synth time: importing
``sagemaker.core`` costs about 1.8 s on a 2-core machine, a third of a whole one-resource synth, on every
``cdk synth``/``cdk diff``. Regenerate after bumping ``sagemaker-core``::

    python -m cdk_constructs.sagemaker_images --write
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnMapping, Stack, Token
from constructs import Construct

TABLE_PATH = Path(__file__).with_name("sagemaker_image_uris.json")

#: The images we use: table key -> (framework, version, Python version) as the SDK names them.
#: The XGBoost version is the container the demo model was trained for (see demo/generate_demo.py). Spark 3.5 is
#: the newest Spark the SDK lists for processing (``image_uri_config/spark.json``), and its ``py312`` variant the
#: one whose Python the drift engine supports (3.11 or later): the base of the builtin engine's Spark image.
IMAGE_SPECS: dict[str, tuple[str, str | None, str | None]] = {
    "model-monitor": ("model-monitor", None, None),
    "spark-processing": ("spark", "3.5", "py312"),
    "xgboost": ("xgboost", "3.2-0", None),
}


class UnsupportedRegionError(ValueError):
    """The SDK lists no image for the stack's region."""


@functools.cache
def image_table() -> dict[str, dict[str, str]]:
    """The committed table: image key -> region -> image URI."""
    table: dict[str, dict[str, str]] = json.loads(TABLE_PATH.read_text(encoding="utf-8"))["images"]
    return table


def image_uri(scope: Construct, image: str) -> str:
    """The URI of ``image`` for the region of ``scope``'s stack.

    A stack with a concrete region gets a literal URI, and an unsupported region fails at synth. An
    environment-agnostic stack gets ``Fn::FindInMap`` over every region the SDK lists, one mapping
    per image and stack.
    """
    uris = image_table()[image]
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        try:
            return uris[stack.region]
        except KeyError:
            raise UnsupportedRegionError(
                f"the SageMaker SDK lists no {image!r} image for region {stack.region!r}; "
                f"it lists: {', '.join(sorted(uris))}"
            ) from None
    mapping_id = f"{image.title().replace('-', '')}ImageUris"
    mapping = stack.node.try_find_child(mapping_id)
    if not isinstance(mapping, CfnMapping):
        mapping = CfnMapping(stack, mapping_id, mapping={region: {"uri": uri} for region, uri in sorted(uris.items())})
    return mapping.find_in_map(Aws.REGION, "uri")


def generate_table() -> dict[str, Any]:
    """Ask the installed SDK for every image in every region it lists (imports sagemaker-core)."""
    from importlib.metadata import version  # generator-only path

    from sagemaker.core import common_utils, image_uris  # 1.8 s import, kept off the synth path

    # retrieve() asks common_utils._botocore_resolver() for each URI, which builds a new botocore loader and decodes
    # botocore's endpoints.json (about 1 MB) again: 6.5 of the generator's 7 s for the table's 107 URIs. The file
    # does not change within a run, so one resolver serves them all.
    common_utils._botocore_resolver = functools.cache(common_utils._botocore_resolver)
    images: dict[str, dict[str, str]] = {}
    for key, (framework, framework_version, py_version) in IMAGE_SPECS.items():
        config = image_uris.config_for_framework(framework)
        scoped = config.get("inference") or config.get("processing") or config
        versions = scoped["versions"]
        registries = versions[framework_version or next(iter(versions))]["registries"]
        images[key] = {
            region: image_uris.retrieve(framework, region=region, version=framework_version, py_version=py_version)
            for region in sorted(registries)
        }
    return {"generated_by": f"sagemaker-core {version('sagemaker-core')}", "images": images}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"rewrite {TABLE_PATH.name}")
    args = parser.parse_args()
    text = json.dumps(generate_table(), indent=2, sort_keys=True) + "\n"
    if args.write:
        TABLE_PATH.write_text(text, encoding="utf-8")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
