"""The app page's API tab: copy the curl snippet from the page and run it as is; it answers 201."""
import json
import os
import subprocess

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.helpers import log_in
from tests.devtools.conftest import _model_dir, platform, tiny_models  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_copy_the_curl_snippet_and_run_it(browser, platform, tmp_path):  # noqa: F811
    import modelmarket

    from accounts.models import ApiKey

    prefix = ApiKey.objects.get(user=platform.user).prefix
    # Warm the worker's model cache first, so the copied call finishes within its `Prefer: wait` even on a busy CI box.
    modelmarket.Client(api_key=platform.key, base_url=platform.url).run("tiny-paid", input={"text": "warm up"})
    log_in(browser, platform.url, platform.user.email)
    browser.get(f"{platform.url}/apps/tiny-paid/")
    browser.find_element(By.CSS_SELECTOR, "nav.tabs a[href='#api']").click()
    tab = browser.find_element(By.CSS_SELECTOR, "#api .api-tab")
    assert f"mm_{prefix}_" in tab.find_element(By.ID, "api-key-hint").text
    assert "0.01" in tab.find_element(By.ID, "api-quote").text  # the current quote beside the snippets

    # Each language has its snippet; the Python one imports the client.
    tab.find_element(By.ID, "api-lang-python").click()
    python_code = tab.find_element(By.ID, "api-code-python").text
    assert "import modelmarket" in python_code and "client.run('tiny-paid'" in python_code
    assert not tab.find_element(By.ID, "api-snippet-curl").is_displayed()
    tab.find_element(By.ID, "api-lang-cli").click()
    assert "modelmarket run tiny-paid -i" in tab.find_element(By.ID, "api-code-cli").text
    tab.find_element(By.ID, "api-lang-javascript").click()
    assert "fetch(" in tab.find_element(By.ID, "api-code-javascript").text

    tab.find_element(By.ID, "api-lang-curl").click()
    copy = tab.find_element(By.CSS_SELECTOR, "#api-snippet-curl .api-copy")
    copy.click()
    WebDriverWait(browser, 5).until(lambda b: copy.text == "Copied")
    browser.execute_script("document.getElementById('api').scrollIntoView()")
    browser.shot("api-tab-1366")
    browser.set_window_size(390, 844)
    browser.execute_script("document.getElementById('api').scrollIntoView()")
    browser.shot("api-tab-390")
    overflow = browser.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow, "the API tab makes the phone layout scroll sideways"

    snippet = browser.execute_script("return document.getElementById('api-code-curl').textContent")
    assert snippet.startswith("# export MODELMARKET_API_KEY=") and "$MODELMARKET_API_KEY" in snippet
    # Run the copied text unchanged; ~/.curlrc makes curl print the status code after the body.
    (tmp_path / ".curlrc").write_text('write-out = "\\n%{http_code}"\n')
    done = subprocess.run(["bash", "-c", snippet], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path), "MODELMARKET_API_KEY": platform.key})
    body, _, code = done.stdout.rpartition("\n")
    assert done.returncode == 0 and code == "201", (done.stdout, done.stderr)
    prediction = json.loads(body)
    assert prediction["status"] == "succeeded" and prediction["app"] == "tiny-paid"
    assert {label["label"] for label in prediction["output"]["labels"]} == {"negative", "positive"}
