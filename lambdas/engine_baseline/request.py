"""ResourceProperties of the engine baseline: the Model Monitor baseline's, plus the engine image and a threshold.

Everything the Model Monitor baseline resource takes is parsed by its own parser
(:func:`lambdas.baseline.request.parse_properties`), so both resources accept and refuse the same values with the
same messages. Two properties are the engine's own:

* ``ImageUri`` (required): the engine image, which a SageMaker Processing job runs for a large dataset.
* ``InFunctionMaxBytes`` (optional, default :data:`DEFAULT_IN_FUNCTION_MAX_BYTES`): datasets up to this size are
  baselined in the function itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..baseline.request import BaselineRequest, InvalidPropertiesError, needs_new_job, parse_properties

__all__ = ["DEFAULT_IN_FUNCTION_MAX_BYTES", "EngineBaselineRequest", "needs_new_baseline", "parse_engine_properties"]

#: Why 256 MiB: the engine streams a dataset (memory stays at a few hundred MB whatever its size), so the limits
#: are the function's 15 minutes and its /tmp. Measured: about 20 MiB of CSV per CPU-second (1,000,000 demo rows,
#: 36 MiB, in 1.8 s of CPU time, 353 MB peak RSS), so 256 MiB takes some 15 s of one vCPU plus the download, far
#: inside 15 minutes, and fits Lambda's default 512 MB of /tmp. Beyond it, a processing job's minutes of start-up
#: stop mattering, and its volume (not /tmp) holds the dataset.
DEFAULT_IN_FUNCTION_MAX_BYTES: Final = 256 << 20
_IMAGE_URI: Final = re.compile(
    r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})?"
)
_DIGITS: Final = re.compile(r"[0-9]{1,15}")
_ENGINE_PROPERTIES: Final = ("ImageUri", "InFunctionMaxBytes")


@dataclass(frozen=True, kw_only=True)
class EngineBaselineRequest:
    base: BaselineRequest
    image_uri: str
    in_function_max_bytes: int


def parse_engine_properties(properties: Mapping[str, Any]) -> EngineBaselineRequest:
    """Validate ResourceProperties before any AWS call; :class:`InvalidPropertiesError` names the property."""
    image_uri = properties.get("ImageUri")
    if not isinstance(image_uri, str) or _IMAGE_URI.fullmatch(image_uri) is None:
        raise InvalidPropertiesError(
            f"ResourceProperties.ImageUri must be an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<name>"
            f"[:tag|@digest]), got {image_uri!r}"
        )
    threshold = properties.get("InFunctionMaxBytes")
    if threshold in (None, ""):
        max_bytes = DEFAULT_IN_FUNCTION_MAX_BYTES
    elif isinstance(threshold, int | str) and _DIGITS.fullmatch(str(threshold)):
        max_bytes = int(threshold)
    else:
        raise InvalidPropertiesError(f"ResourceProperties.InFunctionMaxBytes must be a whole number, got {threshold!r}")
    base = parse_properties({key: value for key, value in properties.items() if key not in _ENGINE_PROPERTIES})
    return EngineBaselineRequest(base=base, image_uri=image_uri, in_function_max_bytes=max_bytes)


def needs_new_baseline(old_properties: Mapping[str, Any], new: EngineBaselineRequest) -> bool:
    """An Update makes a new baseline when what the Model Monitor baseline calls job-defining changes.

    Neither the image nor the threshold is: a new engine image (every engine code change) computes the same
    files in the same schema, and where the baseline is computed does not change what it is.
    """
    return needs_new_job(
        {key: value for key, value in old_properties.items() if key not in _ENGINE_PROPERTIES}, new.base
    )
