"""The OpenAPI schema and the readable docs, generated from the code."""

import re

import pytest

CONTRACT_PATHS = [
    "/api/v1/sites/{site_key}/config",
    "/api/v1/sites/{site_key}/consents",
    "/api/v1/sites/{site_key}/consents/{consent_id}",
    "/api/v1/sites/{site_key}/consents/{consent_id}/categories/{category}",
    "/api/v1/sites/{site_key}/consents/check",
    "/api/v1/sites/{site_key}/consents/{consent_id}/history",
    "/api/v1/sites/{site_key}/consents/{consent_id}/export",
]


@pytest.mark.django_db
def test_schema_describes_every_contract_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_HOST="localhost")
    assert response.status_code == 200
    schema = response.json()
    for path in CONTRACT_PATHS:
        assert path in schema["paths"], path
    check = schema["paths"]["/api/v1/sites/{site_key}/consents/{consent_id}/categories/{category}"]["get"]
    assert check["security"] == [{"apiKey": []}]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_docs_load_nothing_from_third_parties(live_server):
    import requests

    page = requests.get(f"{live_server.url}/api/docs/", timeout=10)
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(src.startswith("/") for src in sources), sources
    assert requests.get(live_server.url + sources[0], timeout=10).status_code == 200
