import pytest
@pytest.fixture(autouse=True)
def _tmp_urls(settings):
    settings.ROOT_URLCONF = "tests._tmp_api_urls"
