"""The OpenAPI document is valid OpenAPI 3.1, so that `/schema` can render it."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator


@pytest.mark.slow
async def test_it_serves_a_valid_openapi_3_1_document(anonymous):
    document = (await anonymous.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []
    validate(document)
