"""End-to-end check of the forge serve web playground in headless Chromium (Debian's chromium +
chromium-driver, driven by the pinned PyPI selenium). Run by tests/serve/playground_test.cpp:

    .venv/bin/python tools/web/playground_check.py --url http://127.0.0.1:PORT --key SECRET \
        --chat-model smol --predict-model bc --row 1,2,3

Exits 0 when chat streams a reply, classification shows a label and the usage dashboard draws
its chart; otherwise prints what failed (and the page's status line) and exits 1.
"""
import argparse
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", default="")
    ap.add_argument("--chat-model", required=True)
    ap.add_argument("--predict-model", required=True)
    ap.add_argument("--row", required=True, help="comma-separated feature row for the classifier")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    wait = WebDriverWait(driver, args.timeout)
    status = lambda: driver.find_element(By.ID, "status").text
    try:
        driver.get(args.url + "/")
        assert driver.title == "Forge playground", driver.title
        key = driver.find_element(By.ID, "api-key")
        key.clear()
        key.send_keys(args.key)
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", key)
        wait.until(lambda d: args.chat_model in [o.get_attribute("value") for o in
                                                 d.find_elements(By.CSS_SELECTOR, "#chat-model option")])
        Select(driver.find_element(By.ID, "chat-model")).select_by_value(args.chat_model)

        # Chat: the reply streams into the assistant bubble; usage arrives in the last chunk.
        limit = driver.find_element(By.ID, "chat-max-tokens")
        limit.clear()
        limit.send_keys("24")
        box = driver.find_element(By.ID, "chat-input")
        box.send_keys("What is the capital of France?")
        box.send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.assistant") and
                   d.find_element(By.ID, "chat-send").is_enabled() and
                   "completion tokens" in d.find_element(By.ID, "chat-usage").text)
        reply = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1].text
        assert reply.strip(), "empty chat reply; status: " + status()
        print("chat reply:", reply[:80].replace("\n", " "))

        # Classify a row with the Forge-trained model.
        driver.find_element(By.ID, "tab-classify").click()
        Select(driver.find_element(By.ID, "classify-model")).select_by_value(args.predict_model)
        driver.find_element(By.ID, "classify-text").send_keys(args.row)
        driver.find_element(By.ID, "classify-run").click()
        wait.until(lambda d: d.find_elements(By.ID, "classify-label") or status())
        assert not status(), "classify failed: " + status()
        label = driver.find_element(By.ID, "classify-label").text
        bars = driver.find_elements(By.CSS_SELECTOR, "#classify-result .bar")
        assert label and len(bars) >= 2, (label, len(bars))
        print("classified as:", label)

        # Usage dashboard of this key: totals, a Chart.js chart and the ledger rows.
        driver.find_element(By.ID, "tab-usage").click()
        wait.until(lambda d: "requests" in d.find_element(By.ID, "usage-totals").text
                   if d.find_elements(By.ID, "usage-totals") else bool(status()))
        assert not status(), "usage failed: " + status()
        assert driver.execute_script("return window.Chart && Chart.getChart('usage-chart') != null"), "no chart"
        rows = driver.find_elements(By.CSS_SELECTOR, "#usage-table tbody tr")
        assert len(rows) >= 2, f"expected the chat and predict requests in the ledger, got {len(rows)} rows"
        print("usage:", driver.find_element(By.ID, "usage-totals").text)
        return 0
    except Exception as e:  # noqa: BLE001 - report anything that went wrong, with the page state
        print(f"playground check failed: {type(e).__name__}: {e}; status line: {status()!r}", file=sys.stderr)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
